"""What tracing lists add to core's first page, to `seed_demo` and to the person page (core.registry)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, PersonPart

from .person import person_rows
from .selectors import committee_worklist, today_figures


def waiting_work(user, membership) -> dict[str, int] | None:
    """The list people the user's committee has still to report on; for a street office, today's
    lists: how many, the people still open, and the same-day control rate so far."""
    if membership.has(Cap.REPORT_TRACING):
        return {"list": committee_worklist(user).count()}
    if membership.has(Cap.IMPORT_TRACING):
        lists, figures = today_figures(user, now=timezone.now())
        percent = figures.same_day_percent  # None only without lists, when the line shows no rate
        return {"lists_today": lists, "open_today": figures.open, "same_day_percent": percent or 0}
    return None


def seed_demo() -> list[str]:
    from .demo import ensure_demo_batch

    batch = ensure_demo_batch()
    return [f"Tracing list: {batch.reference}, {batch.entries.count()} people."] if batch is not None else []


HOME = HomePart("tracing", order=20, work=waiting_work, template="tracing/_home_work.html")
DEMO = DemoPart("tracing", order=10, seed=seed_demo)
PERSON = PersonPart("tracing", order=30, title=gettext_lazy("大数据清单"), rows=person_rows)
