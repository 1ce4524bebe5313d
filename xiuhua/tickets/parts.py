"""What work orders add to core's first page, to `seed_demo` and to the person page (core.registry)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.registry import DemoPart, HomePart, PersonPart
from xiuhua.places.models import Kind

from .models import Ticket
from .person import person_rows
from .selectors import WAITING_Q, board_counts, waiting_late_q


def urgent_work(user, membership) -> dict[str, int] | None:
    """Urgent requests waiting to be accepted, the first thing on the home page of whoever accepts
    them: a committee's all of them ("accept immediately"); a street's (or district's) those not
    accepted in time, which the committee was already texted about."""
    if not membership.has(Cap.RECORD_TICKET) or membership.role == Role.DEPARTMENT_STAFF:
        return None
    tickets = Ticket.objects.visible_to(user)
    if membership.org_unit.kind == Kind.COMMITTEE:
        return {"tickets_waiting": tickets.filter(WAITING_Q).count()}
    return {"tickets_waiting_late": tickets.filter(waiting_late_q(timezone.now())).count()}


def waiting_work(user, membership) -> dict[str, int] | None:
    """Open orders overdue or due soon; for a street officer, extensions to approve as well."""
    if not membership.has(Cap.VIEW_TICKETS):
        return None
    counts = board_counts(Ticket.objects.visible_to(user).open())
    work = {"tickets_overdue": counts.overdue, "tickets_soon": counts.soon}
    if membership.role == Role.STREET_OFFICER:
        work["tickets_extension"] = counts.extension_requested
    return work


def demo_accounts() -> list:
    from .demo import ticket_account_specs

    return ticket_account_specs()


def seed_demo() -> list[str]:
    from .demo import ensure_demo_tickets

    tickets = ensure_demo_tickets()
    if tickets is None or not tickets.created:
        return []
    escalated = " ".join(f"{key}={value}" for key, value in tickets.escalated.items())
    return [f"Work orders: {tickets.created} in the demo street; reminders: {escalated}."]


HOME = HomePart("tickets", order=30, work=waiting_work, template="tickets/_home_work.html")
# Before every other part's work: an urgent request waits for no list.
URGENT = HomePart("tickets_urgent", order=1, work=urgent_work, template="tickets/_home_urgent.html")
DEMO = DemoPart("tickets", order=30, seed=seed_demo, accounts=demo_accounts)
PERSON = PersonPart("tickets", order=40, title=gettext_lazy("工单(本户)"), rows=person_rows)
