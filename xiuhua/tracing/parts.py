"""What tracing lists add to core's first page and to `seed_demo` (core.registry)."""

from __future__ import annotations

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart

from .selectors import committee_worklist


def waiting_work(user, membership) -> dict[str, int] | None:
    """The list people the user's committee has still to report on."""
    if not membership.has(Cap.REPORT_TRACING):
        return None
    return {"list": committee_worklist(user).count()}


def seed_demo() -> list[str]:
    from .demo import ensure_demo_batch

    batch = ensure_demo_batch()
    return [f"Tracing list: {batch.reference}, {batch.entries.count()} people."] if batch is not None else []


HOME = HomePart("tracing", order=20, work=waiting_work, template="tracing/_home_work.html")
DEMO = DemoPart("tracing", order=10, seed=seed_demo)
