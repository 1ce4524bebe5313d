"""Deadline states and escalation (督办) of open work orders.

An open order is, by its deadline:
- due soon: an emergency with under an hour left, or any other order on its last working day
  (its deadline's own date, Asia/Shanghai): the people handling it are reminded;
- overdue: past its deadline: the department head is told (for an order held by a committee,
  the committee's staff);
- long overdue: past its deadline by more than a grace, which gives the head time to act: 2 hours
  for an emergency; otherwise the whole first working day after the deadline's date (an order due
  Thursday is overdue on Friday and long overdue from Monday 00:00; one due before the Spring
  Festival stays overdue through the holiday and its first working day): the street's officers are
  told.

`tickets_escalate` (run every few minutes by `manage.py tickets_sweep`) moves each order up at
most once per level and deadline: the level is raised with a conditional UPDATE, so two sweeps
running at once notify once. Reminders are queued SMS to staff who have a mobile on file, plus a
TicketEvent the boards and the order's history show.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.audit import audit

from . import notify
from .calendar import DeadlineClass, WorkCalendar
from .models import Escalation, Ticket, TicketEvent

EMERGENCY_SOON = dt.timedelta(hours=1)
# "Accept immediately": an urgent request still not accepted after this is texted to the committee.
ACCEPT_WITHIN = dt.timedelta(minutes=15)
EMERGENCY_GRACE = dt.timedelta(hours=2)


class DeadlineState:
    OK = "ok"
    SOON = "soon"
    OVERDUE = "overdue"
    LONG_OVERDUE = "long_overdue"


def deadline_state(ticket: Ticket, now: dt.datetime, calendar: WorkCalendar) -> str:
    """Where an open order stands against its deadline (see the module's docstring)."""
    deadline = ticket.deadline_at
    if ticket.deadline_class == DeadlineClass.EMERGENCY:
        if now > deadline + EMERGENCY_GRACE:
            return DeadlineState.LONG_OVERDUE
        if now > deadline:
            return DeadlineState.OVERDUE
        return DeadlineState.SOON if deadline - now <= EMERGENCY_SOON else DeadlineState.OK
    if now > deadline:
        # The grace is the first working day after the deadline's date: it ends when the second
        # one begins. (Ending it when the first begins left a weekday deadline, due at 23:59:59,
        # one second of "overdue", so the department head was never told.)
        grace_day = calendar.add_working_days(timezone.localtime(deadline).date(), 2)
        return DeadlineState.LONG_OVERDUE if timezone.localdate(now) >= grace_day else DeadlineState.OVERDUE
    return DeadlineState.SOON if timezone.localdate(now) == timezone.localtime(deadline).date() else DeadlineState.OK


LEVEL_OF_STATE = {
    DeadlineState.OK: Escalation.NONE,
    DeadlineState.SOON: Escalation.NEAR,
    DeadlineState.OVERDUE: Escalation.HEAD,
    DeadlineState.LONG_OVERDUE: Escalation.STREET,
}


def _users(memberships) -> list:
    seen: dict[int, object] = {}
    for membership in memberships.select_related("user"):
        if membership.user.is_active:
            seen.setdefault(membership.user_id, membership.user)
    return list(seen.values())


def handlers(ticket: Ticket) -> list:
    """The people working on the order now: its department's members, else the committee that
    holds it (assigned or its own)."""
    if ticket.department is not None:
        return _users(ticket.department.members.filter(active=True))
    unit_id = ticket.assigned_committee_id or ticket.committee_id
    return _users(Membership.objects.filter(org_unit_id=unit_id, role=Role.COMMITTEE_STAFF, active=True))


def recipients(ticket: Ticket, level: int) -> list:
    if level == Escalation.NEAR:
        return handlers(ticket)
    if level == Escalation.HEAD:
        head = ticket.department.head if ticket.department is not None else None
        if head is not None and head.active:
            return _users(Membership.objects.filter(pk=head.pk))
        return handlers(ticket)
    street_id = ticket.committee.parent_id
    return _users(Membership.objects.filter(org_unit_id=street_id, role=Role.STREET_OFFICER, active=True))


STATE_TEXT = {
    Escalation.NEAR: "即将到期",
    Escalation.HEAD: "已超时",
    Escalation.STREET: "已超时,报街道督办",
}


def tickets_escalate(*, now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Raise every open order whose deadline state calls for a higher level; returns counts."""
    now = now or timezone.now()
    calendar = WorkCalendar()
    # Only orders whose deadline is within the next day or past can need a level; the index on
    # (status, deadline) keeps this small however many orders are open.
    horizon = now + dt.timedelta(days=1)
    candidates = (
        Ticket.objects.open().filter(deadline_at__lte=horizon, escalation__lt=Escalation.STREET)
        .select_related("department__head", "committee").order_by("deadline_at")
    )
    counts = {"near": 0, "head": 0, "street": 0, "messages": 0}
    names = {Escalation.NEAR: "near", Escalation.HEAD: "head", Escalation.STREET: "street"}
    for ticket in candidates.iterator(chunk_size=batch):
        level = LEVEL_OF_STATE[deadline_state(ticket, now, calendar)]
        if level <= ticket.escalation:
            continue
        with transaction.atomic():
            # The conditional UPDATE is the claim: a concurrent sweep that lost it sends nothing.
            # It also re-checks that the order is still open and still has the same deadline.
            claimed = Ticket.objects.open().filter(
                pk=ticket.pk, escalation__lt=level, deadline_at=ticket.deadline_at
            )
            if not claimed.update(escalation=level):
                continue
            ticket.escalation = level
            people = recipients(ticket, level)
            sent = sum(notify.send_reminder(ticket, user, level, STATE_TEXT[level]) for user in people)
            TicketEvent.objects.create(
                ticket=ticket, at=now, actor=None, action="escalate", from_status=ticket.status,
                to_status=ticket.status,
                note=ngettext("%(state)s:通知%(people)d人,短信%(sent)d条", "%(state)s:通知%(people)d人,短信%(sent)d条",
                              len(people))
                % {"state": Escalation(level).label, "people": len(people), "sent": sent},
            )
            audit(actor=None, action="ticket_escalate", obj=ticket, committee_id=ticket.committee_id,
                  subject_label=ticket.number, detail={"level": level, "notified": len(people), "sms": sent})
        counts[names[level]] += 1
        counts["messages"] += sent
    return counts


def unaccepted_remind(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Text the committee's staff about urgent requests still waiting to be accepted after
    ACCEPT_WITHIN, once per request (a conditional UPDATE claims it), with its TicketEvent and
    audit event as the escalation sweep writes them; returns counts."""
    now = now or timezone.now()
    waiting = (
        Ticket.objects.filter(status="received", urgency="urgent", received_at__lte=now - ACCEPT_WITHIN,
                              accept_reminded_at__isnull=True)
        .select_related("committee").order_by("received_at")
    )
    counts = {"waiting": 0, "messages": 0}
    for ticket in waiting.iterator(chunk_size=200):
        with transaction.atomic():
            claimed = Ticket.objects.filter(pk=ticket.pk, status="received", accept_reminded_at__isnull=True)
            if not claimed.update(accept_reminded_at=now):
                continue
            minutes = int((now - ticket.received_at).total_seconds() // 60)
            people = handlers(ticket)
            sent = sum(notify.send_waiting(ticket, user, minutes) for user in people)
            TicketEvent.objects.create(
                ticket=ticket, at=now, actor=None, action="remind_accept", from_status=ticket.status,
                to_status=ticket.status,
                note=ngettext("紧急求助%(minutes)d分钟未受理:通知%(people)d人,短信%(sent)d条",
                              "紧急求助%(minutes)d分钟未受理:通知%(people)d人,短信%(sent)d条", len(people))
                % {"minutes": minutes, "people": len(people), "sent": sent},
            )
            audit(actor=None, action="ticket_remind_accept", obj=ticket, committee_id=ticket.committee_id,
                  subject_label=ticket.number, detail={"minutes": minutes, "notified": len(people), "sms": sent})
        counts["waiting"] += 1
        counts["messages"] += sent
    return counts
