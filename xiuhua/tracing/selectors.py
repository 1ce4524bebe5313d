"""Reads of the tracing module, limited to what the user's membership covers.

"Same-day control" (the seeds' 当日落实管控): an entry reported CONTROLLED on the calendar day
(Asia/Shanghai) its batch arrived. An entry reported the next day counts as controlled, not as
same-day; one reported "not at this address" stays open for the street until it is sent on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Kind, OrgUnit

from .models import OPEN_STATUSES, EntryStatus, ListEntry, TracingBatch


def batches_visible_to(user) -> QuerySet[TracingBatch]:
    """Officers: the batches imported into streets of their unit, and those holding entries they
    see; committee staff: batches with entries assigned to their committee."""
    membership = active_membership(user)
    if membership is None:
        return TracingBatch.objects.none()
    with_entries = ListEntry.objects.visible_to(user).values("batch_id")
    unit = membership.org_unit
    if unit.kind in (Kind.CITY, Kind.DISTRICT, Kind.STREET) and not membership.grid_id:
        return TracingBatch.objects.filter(Q(street__path__startswith=unit.path) | Q(pk__in=with_entries))
    return TracingBatch.objects.filter(pk__in=with_entries)


@dataclass
class Figures:
    entries: int = 0
    triage: int = 0
    assigned: int = 0  # waiting for the committee's report
    controlled: int = 0
    controlled_same_day: int = 0
    not_here: int = 0
    wrong_info: int = 0

    @property
    def open(self) -> int:
        return self.triage + self.assigned + self.not_here

    @property
    def same_day_percent(self) -> int | None:
        return None if not self.entries else round(100 * self.controlled_same_day / self.entries)


@dataclass
class BatchFigures:
    batch: TracingBatch
    total: Figures = field(default_factory=Figures)
    committees: list[tuple[OrgUnit, Figures]] = field(default_factory=list)
    streets: list[tuple[OrgUnit, Figures]] = field(default_factory=list)  # triage and transfers, by street
    by_method: dict[str, int] = field(default_factory=dict)


def _counts(batch: TracingBatch) -> dict:
    day = timezone.localdate(batch.received_at)
    controlled = Q(status=EntryStatus.CONTROLLED)
    return {
        "entries": Count("pk"),
        "triage": Count("pk", filter=Q(status=EntryStatus.TRIAGE)),
        "assigned": Count("pk", filter=Q(status=EntryStatus.ASSIGNED)),
        "controlled": Count("pk", filter=controlled),
        "controlled_same_day": Count("pk", filter=controlled & Q(outcome_day=day)),
        "not_here": Count("pk", filter=Q(status=EntryStatus.NOT_HERE)),
        "wrong_info": Count("pk", filter=Q(status=EntryStatus.WRONG_INFO)),
    }


def batch_figures(*, batch: TracingBatch, user) -> BatchFigures:
    """Per committee (and, for the triage queue, per street), within what the user sees: one
    grouped query."""
    out = BatchFigures(batch=batch)
    entries = (
        ListEntry.objects.visible_to(user)
        .filter(batch=batch)
        .annotate(outcome_day=TruncDate("outcome_at", tzinfo=timezone.get_current_timezone()))
    )
    rows = list(entries.values("committee_id", "street_id").annotate(**_counts(batch)).order_by())
    units = OrgUnit.objects.in_bulk({r["committee_id"] or r["street_id"] for r in rows})
    committees: dict[int, Figures] = {}
    streets: dict[int, Figures] = {}
    for r in rows:
        figures = Figures(**{k: r[k] for k in Figures.__dataclass_fields__})
        target = committees if r["committee_id"] else streets
        key = r["committee_id"] or r["street_id"]
        merged = target.setdefault(key, Figures())
        for k in Figures.__dataclass_fields__:
            setattr(merged, k, getattr(merged, k) + getattr(figures, k))
            setattr(out.total, k, getattr(out.total, k) + getattr(figures, k))
    out.committees = sorted(((units[k], f) for k, f in committees.items()), key=lambda p: (p[0].code, p[0].name))
    out.streets = sorted(((units[k], f) for k, f in streets.items()), key=lambda p: p[0].name)
    out.by_method = dict(
        ListEntry.objects.visible_to(user)
        .filter(batch=batch)
        .values_list("match_method")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return out


def committee_worklist(user) -> QuerySet[ListEntry]:
    """The entries waiting for the user's committee to report, oldest list first."""
    return (
        ListEntry.objects.visible_to(user)
        .filter(status=EntryStatus.ASSIGNED)
        .select_related("batch", "household__building", "household__compound", "person")
        .order_by("batch__received_at", "batch_id", "row")
    )


def triage_queue(user) -> QuerySet[ListEntry]:
    """Entries at the user's street(s) that no committee holds: unmatched, transferred in, or
    reported "not at this address" and waiting to be sent on."""
    membership = active_membership(user)
    if membership is None or membership.org_unit.kind == Kind.COMMITTEE:
        return ListEntry.objects.none()
    return (
        ListEntry.objects.visible_to(user)
        # visible_to also covers the street's own lists wherever their people went; the queue is
        # only what the user's street(s) must act on.
        .filter(street__path__startswith=membership.org_unit.path)
        .filter(Q(status=EntryStatus.TRIAGE) | Q(status=EntryStatus.NOT_HERE))
        .select_related("batch", "person", "committee")
        .order_by("batch__received_at", "batch_id", "row")
    )


def batch_totals(user, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per batch, within what the user sees: entries, controlled on the day the list arrived
    (as in selectors.batch_figures), still open. One grouped query."""
    if not batch_ids:
        return {}
    tz = timezone.get_current_timezone()
    rows = (
        ListEntry.objects.visible_to(user)
        .filter(batch_id__in=batch_ids)
        .annotate(
            outcome_day=TruncDate("outcome_at", tzinfo=tz), received_day=TruncDate("batch__received_at", tzinfo=tz)
        )
        .values("batch_id")
        .annotate(
            entries=Count("pk"),
            same_day=Count("pk", filter=Q(status=EntryStatus.CONTROLLED, outcome_day=F("received_day"))),
            open=Count("pk", filter=Q(status__in=[*OPEN_STATUSES, EntryStatus.NOT_HERE])),
        )
        .order_by()
    )
    return {r["batch_id"]: r for r in rows}
