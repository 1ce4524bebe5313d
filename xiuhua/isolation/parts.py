"""What home isolation adds to core's first page, to `seed_demo` and to the person page (core.registry)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, PersonPart, Sweep

from .person import person_rows
from .selectors import arrivals_awaiting_case, open_alerts, overdue_contacts


def waiting_work(user, membership) -> dict[str, int] | None:
    """Contacts due and alerts not handled, for whoever records contacts; self-registered
    arrivals waiting to be checked, for whoever checks them (committee staff)."""
    work: dict[str, int] = {}
    if membership.has(Cap.MANAGE_ISOLATION):
        work["arrivals_awaiting"] = arrivals_awaiting_case(user).count()
    if membership.has(Cap.RECORD_CONTACT):
        work |= {"contacts": overdue_contacts(user, now=timezone.now()).count(), "alerts": open_alerts(user).count()}
    elif membership.has(Cap.VIEW_ISOLATION):  # the street and district offices follow the alerts
        work["alerts_open"] = open_alerts(user).count()
    return work or None


def seed_demo() -> list[str]:
    from .demo import ensure_demo_cases

    cases = ensure_demo_cases()
    return [f"Home isolation: {cases} cases in the demo committee."] if cases else []


HOME = HomePart("isolation", order=10, work=waiting_work, template="isolation/_home_work.html")
SWEEP = Sweep("isolation_sweep", every=5 * 60)
DEMO = DemoPart("isolation", order=20, seed=seed_demo)
PERSON = PersonPart("isolation", order=20, title=gettext_lazy("居家隔离"), rows=person_rows)
