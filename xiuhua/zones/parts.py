"""What zones add to core's first page (core.registry): the zones that change today, for whoever
sees zones; and the demo's rules and one sealed building."""

from __future__ import annotations

from django.utils import timezone

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart

from . import selectors


def waiting_work(user, membership) -> dict[str, int] | None:
    if not membership.has(Cap.VIEW_ZONES):
        return None
    today = timezone.localdate()
    rows = selectors.board(user, today)
    return {"zones_sealed": sum(1 for r in rows if r.zone.level == "sealed"),
            "zones_changing_today": sum(1 for r in rows if r.changes_on == today)}


HOME = HomePart("zones", order=45, work=waiting_work, template="zones/_home_work.html")


def seed_demo() -> list[str]:
    from .demo import ensure_demo_zones

    return ensure_demo_zones()


DEMO = DemoPart("zones", order=55, seed=seed_demo)
