"""What work orders add to core's first page and to `seed_demo` (core.registry)."""

from __future__ import annotations

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.registry import DemoPart, HomePart, Sweep

from .models import Ticket
from .selectors import board_counts


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
SWEEP = Sweep("tickets_sweep", every=5 * 60)
DEMO = DemoPart("tickets", order=30, seed=seed_demo, accounts=demo_accounts)
