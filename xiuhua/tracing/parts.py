"""What tracing lists add to core's first page, to `seed_demo` and to the person page (core.registry)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, PersonPart

from .person import person_rows
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
PERSON = PersonPart("tracing", order=30, title=gettext_lazy("大数据清单"), rows=person_rows)
