"""What the passport adds to core's first page and to the demo (core.registry).

First page: for those who stamp (committee staff, grid workers), how many households of their
scope have all four stamps this week, linked to the coverage page."""

from __future__ import annotations

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart


def waiting_work(user, membership) -> dict[str, int] | None:
    if not membership.has(Cap.STAMP_PASSPORT):
        return None
    from . import periods
    from . import selectors as sel

    _rows, total, _stamps = sel.coverage(sel.households_for(user), periods.current(), by="grid")
    if not total.households:
        return None
    return {"passport_households": total.households, "passport_complete": total.complete}


HOME = HomePart("passport", order=60, work=waiting_work, template="passport/_home_work.html")


def seed_demo() -> list[str]:
    from .demo import ensure_demo_stamps

    return ensure_demo_stamps()


DEMO = DemoPart("passport", order=60, seed=seed_demo)
