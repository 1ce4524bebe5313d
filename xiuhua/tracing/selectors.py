"""Reads of the tracing module, limited to what the user's membership covers.

What a membership may see of an entry is decided here and in ListEntryQuerySet, once: the holder
(the committee or street now responsible) sees the entry; the street that imported the list
sees an entry held elsewhere only as its own row, forwarded (`as_seen`). Every page reads
entries through `ListEntry.objects.seen_by` and `as_seen`, or only held ones (`held_by`).

"Same-day control" (the seeds' 当日落实管控): an entry reported CONTROLLED on the calendar day
(Asia/Shanghai) its batch arrived. An entry reported the next day counts as controlled, not as
same-day; one reported "not at this address" stays open for the street until it is sent on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.core.access import active_membership
from xiuhua.core.crypto import mask_phone
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


FORWARDED = _("已转至其他街道")


@dataclass(frozen=True)
class ForwardedRow:
    """An entry of the user's own list that is held outside its scope: the row as the list gave
    it (numbers masked) and that it was forwarded. Nothing the match found, nor what the
    receiving side did, is carried here, so no page can show it."""

    pk: int
    batch: TracingBatch
    row: int
    name: str
    id_masked: str
    phone_masked: str
    address_text: str
    arrival_date: dt.date | None
    extra: list  # the list's own other columns (备注 ...): the importer supplied them
    held = False
    status_label = FORWARDED


def as_seen(entry: ListEntry) -> ListEntry | ForwardedRow:
    """What the user may see of an entry read through `ListEntry.objects.seen_by(user)`."""
    if entry.held:  # type: ignore[attr-defined]  # the annotation of seen_by
        return entry
    return ForwardedRow(
        pk=entry.pk, batch=entry.batch, row=entry.row, name=entry.name, id_masked=entry.person.id_masked,
        phone_masked=mask_phone(entry.phone) if entry.phone else "", address_text=entry.address_text,
        arrival_date=entry.arrival_date, extra=entry.extra,
    )


@dataclass
class Figures:
    entries: int = 0
    forwarded: int = 0  # the importing street's entries now held by another street: no figures of theirs
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
    def responsible(self) -> int:
        """The entries the user's unit answers for (the same-day figure's denominator)."""
        return self.entries - self.forwarded

    @property
    def same_day_percent(self) -> int | None:
        return None if not self.responsible else round(100 * self.controlled_same_day / self.responsible)


@dataclass
class BatchFigures:
    batch: TracingBatch
    total: Figures = field(default_factory=Figures)
    committees: list[tuple[OrgUnit, Figures]] = field(default_factory=list)
    streets: list[tuple[OrgUnit, Figures]] = field(default_factory=list)  # triage and transfers, by street
    by_method: dict[str, int] = field(default_factory=dict)


def _counts(batch: TracingBatch) -> dict:
    """Counts of entries by state; an entry not held counts as forwarded and nothing else."""
    day = timezone.localdate(batch.received_at)
    held = Q(held=True)
    controlled = held & Q(status=EntryStatus.CONTROLLED)
    return {
        "entries": Count("pk"),
        "forwarded": Count("pk", filter=Q(held=False)),
        "triage": Count("pk", filter=held & Q(status=EntryStatus.TRIAGE)),
        "assigned": Count("pk", filter=held & Q(status=EntryStatus.ASSIGNED)),
        "controlled": Count("pk", filter=controlled),
        "controlled_same_day": Count("pk", filter=controlled & Q(outcome_day=day)),
        "not_here": Count("pk", filter=held & Q(status=EntryStatus.NOT_HERE)),
        "wrong_info": Count("pk", filter=held & Q(status=EntryStatus.WRONG_INFO)),
    }


def _if_held(column: str):
    """The column for held entries, NULL for forwarded ones: the grouping never reads where
    they went."""
    return Case(When(held=True, then=F(column)), default=Value(None))


def batch_figures(*, batch: TracingBatch, user) -> BatchFigures:
    """Per committee (and, for the triage queue, per street), within what the user holds, plus
    the user's own entries forwarded to other streets as one count: one grouped query."""
    out = BatchFigures(batch=batch)
    entries = (
        ListEntry.objects.seen_by(user)
        .filter(batch=batch)
        .annotate(
            outcome_day=TruncDate("outcome_at", tzinfo=timezone.get_current_timezone()),
            held_committee=_if_held("committee_id"),
            held_street=_if_held("street_id"),
        )
    )
    rows = list(entries.values("held_committee", "held_street").annotate(**_counts(batch)).order_by())
    units = OrgUnit.objects.in_bulk({r["held_committee"] or r["held_street"] for r in rows} - {None})
    committees: dict[int, Figures] = {}
    streets: dict[int, Figures] = {}
    for r in rows:
        figures = Figures(**{k: r[k] for k in Figures.__dataclass_fields__})
        for k in Figures.__dataclass_fields__:
            setattr(out.total, k, getattr(out.total, k) + getattr(figures, k))
        if r["held_committee"] is None and r["held_street"] is None:
            continue  # forwarded: counted in the total only
        target = committees if r["held_committee"] else streets
        key = r["held_committee"] or r["held_street"]
        merged = target.setdefault(key, Figures())
        for k in Figures.__dataclass_fields__:
            setattr(merged, k, getattr(merged, k) + getattr(figures, k))
    out.committees = sorted(((units[k], f) for k, f in committees.items()), key=lambda p: (p[0].code, p[0].name))
    out.streets = sorted(((units[k], f) for k, f in streets.items()), key=lambda p: p[0].name)
    out.by_method = dict(
        entries.filter(held=True).values_list("match_method").annotate(n=Count("pk")).order_by()
    )
    return out


def today_figures(user, *, now: dt.datetime) -> tuple[int, Figures]:
    """The lists that arrived today (Asia/Shanghai) in the user's streets, and their figures
    summed: the street office's same-day control at a glance."""
    day = timezone.localdate(now)
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    batches = list(batches_visible_to(user).filter(received_at__gte=start, received_at__lt=end))
    total = Figures()
    for batch in batches:  # a street gets a handful of lists a day
        figures = batch_figures(batch=batch, user=user).total
        for name in Figures.__dataclass_fields__:
            setattr(total, name, getattr(total, name) + getattr(figures, name))
    return len(batches), total


def committee_worklist(user) -> QuerySet[ListEntry]:
    """The entries waiting for the user's committee to report, oldest list first."""
    return (
        ListEntry.objects.held_by(user)
        .filter(status=EntryStatus.ASSIGNED)
        .select_related("batch__street", "household__building", "household__compound", "person")
        .order_by("batch__received_at", "batch_id", "row")
    )


def triage_queue(user) -> QuerySet[ListEntry]:
    """Entries at the user's street(s) that no committee holds: unmatched, transferred in, or
    reported "not at this address" and waiting to be sent on."""
    membership = active_membership(user)
    if membership is None or membership.org_unit.kind == Kind.COMMITTEE:
        return ListEntry.objects.none()
    return (
        ListEntry.objects.held_by(user)
        .filter(Q(status=EntryStatus.TRIAGE) | Q(status=EntryStatus.NOT_HERE))
        .select_related("batch__street", "person", "committee")
        .order_by("batch__received_at", "batch_id", "row")
    )


def batch_totals(user, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per batch, within what the user sees: entries, forwarded to other streets, and of those the
    user holds: controlled on the day the list arrived (as in batch_figures), still open. One
    grouped query."""
    if not batch_ids:
        return {}
    tz = timezone.get_current_timezone()
    rows = (
        ListEntry.objects.seen_by(user)
        .filter(batch_id__in=batch_ids)
        .annotate(
            outcome_day=TruncDate("outcome_at", tzinfo=tz), received_day=TruncDate("batch__received_at", tzinfo=tz)
        )
        .values("batch_id")
        .annotate(
            entries=Count("pk"),
            forwarded=Count("pk", filter=Q(held=False)),
            same_day=Count("pk", filter=Q(held=True, status=EntryStatus.CONTROLLED, outcome_day=F("received_day"))),
            open=Count("pk", filter=Q(held=True, status__in=[*OPEN_STATUSES, EntryStatus.NOT_HERE])),
        )
        .order_by()
    )
    return {r["batch_id"]: r for r in rows}
