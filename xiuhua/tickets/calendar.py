"""Working days and deadlines (办理时限).

A deadline of N working days for something received at time T ends at the end of the N-th
working day after the day of T (Asia/Shanghai): the day of receipt is not counted, whether or
not it is a working day, so an order received on Friday evening with one working day is due at
the end of Monday, and one received during the Spring Festival counts from the first working
day after it. Emergencies are counted in hours, holidays or not.

Classes (the 12345 hotline's): consultation 1, supervision 3, help request and complaint 5,
complex 15 working days (extendable with approval, outside this module).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CalendarDay, DayKind


class DeadlineClass(models.TextChoices):
    EMERGENCY = "emergency", _("紧急(小时)")
    CONSULTATION = "consultation", _("咨询")
    SUPERVISION = "supervision", _("督办")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    COMPLEX = "complex", _("复杂事项")


WORKING_DAYS = {
    DeadlineClass.CONSULTATION: 1,
    DeadlineClass.SUPERVISION: 3,
    DeadlineClass.HELP: 5,
    DeadlineClass.COMPLAINT: 5,
    DeadlineClass.COMPLEX: 15,
}
EMERGENCY_HOURS = 4


class WorkCalendar:
    """Working days from the exceptions held in CalendarDay (loaded once per instance)."""

    def __init__(self, exceptions: Iterable[tuple[dt.date, str]] | None = None):
        rows = exceptions if exceptions is not None else CalendarDay.objects.values_list("date", "kind")
        self.holidays: set[dt.date] = set()
        self.workdays: set[dt.date] = set()
        for day, kind in rows:
            (self.holidays if kind == DayKind.HOLIDAY else self.workdays).add(day)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.weekday() < 5

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n >= 1); `day` itself is not counted."""
        if n < 1:
            raise ValueError("n must be at least 1")
        counted = 0
        while counted < n:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        days = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            days += self.is_working_day(day)
        return days

    def deadline(self, received_at: dt.datetime, klass: str) -> dt.datetime:
        """When something of this class received at `received_at` must be done (aware datetime)."""
        if klass == DeadlineClass.EMERGENCY:
            return received_at + dt.timedelta(hours=EMERGENCY_HOURS)
        if klass not in WORKING_DAYS:
            raise ValueError(f"unknown deadline class {klass!r}")
        tz = timezone.get_current_timezone()
        last_day = self.add_working_days(timezone.localtime(received_at, tz).date(), WORKING_DAYS[DeadlineClass(klass)])
        return dt.datetime.combine(last_day, dt.time(23, 59, 59), tzinfo=tz)
