"""What the antigen module adds to core (core.registry): on the first page, positives the
committee has not confirmed yet (committee staff) and today's not-yet-reported count (grid workers
and building leads); the demo reports; the reminder sweep."""

from __future__ import annotations

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, Sweep

from .models import AntigenReport, Result


def waiting_work(user, membership) -> dict[str, int] | None:
    from . import selectors
    from .services import report_day

    work: dict[str, int] = {}
    if membership.has(Cap.CONFIRM_ANTIGEN):
        work["antigen_positive_open"] = AntigenReport.objects.visible_to(user).filter(
            result=Result.POSITIVE, confirmed_at__isnull=True).count()
    elif membership.has(Cap.RECORD_ANTIGEN):
        day = report_day()
        work["antigen_not_reported"] = selectors.not_reported(user, day).count()
    return work or None


def seed_demo() -> list[str]:
    from .demo import ensure_demo_reports

    return ensure_demo_reports()


HOME = HomePart("antigen", order=42, work=waiting_work, template="antigen/_home_work.html")
DEMO = DemoPart("antigen", order=52, seed=seed_demo)
SWEEP = Sweep("antigen_sweep", every=5 * 60)
