"""Reads of the work-order module: boards with deadline colours, a ticket's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .calendar import DeadlineClass, WorkCalendar
from .escalation import ACCEPT_WITHIN, EMERGENCY_SOON, deadline_state
from .models import Department, Ticket

BOARD_PAGE_SIZE = 50
# Urgent requests nobody has accepted yet: the first thing to act on.
WAITING_Q = Q(status="received", urgency="urgent")


def waiting_late_q(now: dt.datetime) -> Q:
    """Urgent requests not accepted in time ("accept immediately": ACCEPT_WITHIN after they came
    in, when the committee's staff are texted): what the street looks at."""
    return WAITING_Q & Q(received_at__lt=now - ACCEPT_WITHIN)


def board_queryset(user, *, department: Department | None = None, committee_id: int | None = None) -> QuerySet:
    """Open orders the user may see, most urgent deadline first; narrowed to one department or to
    one committee (its own requests and those dispatched to it) when given."""
    qs = Ticket.objects.visible_to(user).open()
    if department is not None:
        qs = qs.filter(department=department)
    if committee_id is not None:
        qs = qs.filter(Q(committee_id=committee_id) | Q(assigned_committee_id=committee_id))
    return qs.order_by("deadline_at", "pk")


def _end_of_today(now: dt.datetime) -> dt.datetime:
    today = timezone.localdate(now)
    return dt.datetime.combine(today, dt.time(23, 59, 59), tzinfo=timezone.get_current_timezone())


def soon_q(now: dt.datetime) -> Q:
    emergency = Q(deadline_class=DeadlineClass.EMERGENCY)
    return Q(deadline_at__gte=now) & (
        (emergency & Q(deadline_at__lte=now + EMERGENCY_SOON)) | (~emergency & Q(deadline_at__lte=_end_of_today(now)))
    )


@dataclass(frozen=True)
class BoardCounts:
    open: int
    overdue: int
    soon: int
    extension_requested: int
    waiting: int = 0


def board_counts(qs: QuerySet, now: dt.datetime | None = None) -> BoardCounts:
    """The board's header figures in one aggregate query."""
    now = now or timezone.now()
    row = qs.order_by().aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(deadline_at__lt=now)),
        soon=Count("pk", filter=soon_q(now)),
        extension_requested=Count("pk", filter=Q(extension="requested")),
        waiting=Count("pk", filter=WAITING_Q),
    )
    return BoardCounts(**row)


@dataclass(frozen=True)
class BoardRow:
    ticket: Ticket
    state: str  # escalation.DeadlineState
    remaining: dt.timedelta


def board_rows(qs: QuerySet, *, page: int = 1, now: dt.datetime | None = None,
               calendar: WorkCalendar | None = None) -> list[BoardRow]:
    """One page of the board with each order's deadline state (the colour)."""
    now = now or timezone.now()
    calendar = calendar or WorkCalendar()
    start = max(page - 1, 0) * BOARD_PAGE_SIZE
    tickets = qs.select_related("committee", "department", "assigned_committee")[start:start + BOARD_PAGE_SIZE]
    return [BoardRow(t, deadline_state(t, now, calendar), t.deadline_at - now) for t in tickets]


def calendar_is_maintained(year: int) -> bool:
    """Whether any holiday of `year` is on file: without it, deadlines ignore that year's holidays,
    and the boards say so."""
    from .models import CalendarDay, DayKind

    return CalendarDay.objects.filter(date__year=year, kind=DayKind.HOLIDAY).exists()
