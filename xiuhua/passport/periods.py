"""The passport's periods: calendar weeks, Monday to Sunday, in Beijing time.

A week is what a resident understands without explanation ("this week's stamps"), what a grid
worker plans door rounds by, and what screening rounds (a few days each) fit into. A week is
named by its Monday; nothing about periods is stored except that date on each recorded stamp.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

# How many weeks the household's page shows, and how far back a stamp may be recorded.
WEEKS_SHOWN = 8


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Period:
    start: dt.date  # a Monday

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)

    @property
    def key(self) -> str:
        return self.start.isoformat()

    @property
    def label(self) -> str:
        return f"{self.start.month}月{self.start.day}日—{self.end.month}月{self.end.day}日"

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        return Period(self.start - dt.timedelta(days=7))

    def next(self) -> Period:
        return Period(self.start + dt.timedelta(days=7))


def current(today: dt.date | None = None) -> Period:
    return Period(week_of(today or timezone.localdate()))


def of_day(day: dt.date) -> Period:
    return Period(week_of(day))


def recent(count: int = WEEKS_SHOWN, today: dt.date | None = None) -> list[Period]:
    """This week and the weeks before it, newest first."""
    this = current(today)
    return [Period(this.start - dt.timedelta(days=7 * n)) for n in range(count)]


def parse(text: str | None, today: dt.date | None = None) -> Period:
    """The week a `?week=` value names (any day of it, ISO); this week for nothing, nonsense or
    a week not yet begun."""
    this = current(today)
    try:
        day = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return this
    period = of_day(day)
    return this if period.start > this.start else period
