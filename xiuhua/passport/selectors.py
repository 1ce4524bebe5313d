"""Reads of the passport pages, all through the passport's scope (`PassportHousehold.visible_to`).

`stamps_of(households, periods)` computes every household's four stamps for some weeks in a few
set-based queries (samples, residents, recorded stamps), so a committee's table of thousands of
households is four queries, not four per household."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from xiuhua.places.models import Grid
from xiuhua.residents.models import LivingStatus, Resident
from xiuhua.screening.selectors_passport import household_samples

from .models import KINDS, PassportHousehold, PassportHouseholdQuerySet, Stamp, StampKind, StampStatus
from .periods import Period

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Moved-out and deceased people are no longer the household's: they do not hold its stamp back.
MEMBERS = (LivingStatus.HERE, LivingStatus.AWAY)


@dataclass
class Shown:
    """One stamp as the pages show it: the day, where it came from (or who stamped it), a note."""

    kind: str
    on: dt.date | None
    source: str
    note: str = ""
    stamp_id: int | None = None  # a recorded stamp's (Stamp), which staff may withdraw

    @property
    def label(self) -> str:
        return str(StampKind(self.kind).label)


# household id -> week's Monday -> kind -> Shown
Stamps = dict[int, dict[dt.date, dict[str, Shown]]]


def households_for(user) -> PassportHouseholdQuerySet:
    return cast(PassportHouseholdQuerySet, PassportHousehold.objects.visible_to(user))


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def stamps_of(households: QuerySet, periods: list[Period]) -> Stamps:
    """The stamps of `households` (a scoped queryset) in each of `periods`."""
    found: Stamps = defaultdict(lambda: defaultdict(dict))
    if not periods:
        return found
    first = min(p.start for p in periods)
    last = max(p.end for p in periods)
    starts = {p.start for p in periods}

    def week(day: dt.date) -> dt.date | None:
        monday = day - dt.timedelta(days=day.weekday())
        return monday if monday in starts else None

    # Nucleic acid: the first sample of a member in the week.
    for household_id, scanned_at in household_samples(households, _start(first),
                                                      _start(last + dt.timedelta(days=1))):
        day = timezone.localtime(scanned_at, SHANGHAI).date()
        monday = week(day)
        if monday is None:
            continue
        have = found[household_id][monday].get(StampKind.NUCLEIC)
        if have is None or have.on is None or day < have.on:
            found[household_id][monday][StampKind.NUCLEIC] = Shown(StampKind.NUCLEIC, day, "核酸采样")

    # Vaccination: every member has a dose recorded, dated (when a date is known) by the week's end.
    members: dict[int, list[tuple[int, dt.date | None]]] = defaultdict(list)
    rows = (Resident.objects.filter(household__in=households.values("pk"), living_status__in=MEMBERS)
            .values_list("household_id", "vaccine_doses", "vaccinated_on"))
    for household_id, doses, on in rows.iterator(chunk_size=5000):
        members[household_id].append((doses, on))
    for household_id, people in members.items():
        if any(doses < 1 for doses, _on in people):
            continue
        dates = [on for _doses, on in people if on is not None]
        for period in periods:
            if all(on <= period.end for on in dates):
                found[household_id][period.start][StampKind.VACCINE] = Shown(
                    StampKind.VACCINE, max(dates) if dates else None, "居民信息")

    # Volunteer and convenience service: recorded by staff (read as values: a committee's week is
    # thousands of rows).
    recorded = (Stamp.objects.filter(household__in=households.values("pk"), status=StampStatus.ACTIVE,
                                     period_start__in=sorted(starts))
                .values_list("pk", "household_id", "period_start", "kind", "stamped_on", "note",
                             "stamped_by__display_name", "stamped_by__username"))
    for pk, household_id, monday, kind, on, note, display_name, username in recorded.iterator(chunk_size=5000):
        found[household_id][monday][kind] = Shown(kind, on, display_name or username, note, pk)
    return found


# ------------------------------------------------------------------------------ coverage


@dataclass
class CoverageRow:
    key: int | None
    label: str
    households: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    complete: int = 0  # households with all four

    def add(self, stamps: dict[str, Shown]) -> None:
        self.households += 1
        for kind in stamps:
            self.counts[kind] += 1
        if len(stamps) == len(KINDS):
            self.complete += 1

    def share(self, count: int) -> int:
        """Whole percent, rounded down (a row is never shown as done before it is)."""
        return 100 * count // self.households if self.households else 0

    @property
    def cells(self) -> list[tuple[str, str, int, int]]:
        """(kind, label, count, percent) in the passport's order."""
        return [(kind, str(StampKind(kind).label), self.counts[kind], self.share(self.counts[kind]))
                for kind in KINDS]

    @property
    def complete_share(self) -> int:
        return self.share(self.complete)


@dataclass
class Cell:
    """One household on the map: its room and which stamps it has (no names)."""

    pk: int
    room: str
    kinds: list[str]

    @property
    def count(self) -> int:
        return len(self.kinds)


@dataclass
class MapBuilding:
    label: str
    cells: list[Cell] = field(default_factory=list)


_GROUP_FIELDS = {
    "committee": ("committee_id", "committee__name"),
    "grid": ("grid_id", "grid__name"),
    "micro_grid": ("micro_grid_id", "micro_grid__name"),
}


def coverage(households: QuerySet, period: Period, *, by: str) -> tuple[list[CoverageRow], CoverageRow, Stamps]:
    """Rows per committee, grid or micro-grid (`by`), the total, and every household's stamps in
    the week. Households without a grid (micro-grid) form one row keyed None, shown last. Read as
    plain values: a committee's thousands of households cost no model instances."""
    stamps = stamps_of(households, [period])
    rows: dict[int | None, CoverageRow] = {}
    total = CoverageRow(None, "")
    for pk, key, label in households.values_list("pk", *_GROUP_FIELDS[by]).iterator(chunk_size=5000):
        row = rows.get(key)
        if row is None:
            row = rows[key] = CoverageRow(key, label or "")
        week = stamps.get(pk, {}).get(period.start, {})
        row.add(week)
        total.add(week)
    ordered = sorted(rows.values(), key=lambda r: (r.key is None, r.label))
    return ordered, total, stamps


def household_map(households: PassportHouseholdQuerySet, period: Period, stamps: Stamps) -> list[MapBuilding]:
    """Households by building in natural order, each a cell with its room and stamps."""
    buildings: dict[int, MapBuilding] = {}
    rows = households.in_natural_order().values_list("pk", "room", "building_id", "compound__name", "building__name")
    for pk, room, building_id, compound_name, building_name in rows.iterator(chunk_size=5000):
        building = buildings.get(building_id)
        if building is None:
            building = buildings[building_id] = MapBuilding(f"{compound_name}{building_name}")
        week = stamps.get(pk, {}).get(period.start, {})
        building.cells.append(Cell(pk, room, [k for k in KINDS if k in week]))
    return list(buildings.values())


def grid_households(households: PassportHouseholdQuerySet, grid: Grid) -> PassportHouseholdQuerySet:
    if grid.kind == Grid.GridKind.MICRO:
        return households.filter(micro_grid=grid)
    return households.filter(Q(grid=grid) | Q(micro_grid__parent=grid))


def passport_weeks(household, periods: list[Period]) -> list[tuple[Period, list[tuple[str, str, Shown | None]]]]:
    """The household's page: for each week, its four stamps in order (None for a missing one)."""
    households = PassportHousehold.objects.filter(pk=household.pk)
    stamps = stamps_of(households, periods).get(household.pk, {})
    return [
        (period, [(kind, str(StampKind(kind).label), stamps.get(period.start, {}).get(kind)) for kind in KINDS])
        for period in periods
    ]
