"""Reads of the antigen pages, through the member's scope: today's coverage per building and per
grid (residents living here, reported, not yet, positive), the not-yet-reported list, one
building's residents with today's result, and the positives the committee follows up.

The coverage is two grouped counts (residents living here, today's reports), so a 40,000-resident
compound costs two index scans, not a query per building."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from .models import AntigenReport, Result
from .services import HEAD_FIRST, REPORTING


@dataclass
class CoverageRow:
    key: int | None
    label: str
    people: int = 0
    reported: int = 0
    positive: int = 0

    @property
    def waiting(self) -> int:
        return max(0, self.people - self.reported)

    @property
    def percent(self) -> int:
        return 100 * self.reported // self.people if self.people else 100


def living(user):
    return Resident.objects.visible_to(user).filter(living_status__in=REPORTING)


def reports(user, day: dt.date):
    return AntigenReport.objects.visible_to(user).filter(day=day)


def coverage(user, day: dt.date) -> tuple[list[CoverageRow], list[CoverageRow], CoverageRow]:
    """Rows per building (natural order) and per grid (named grids only), and the total."""
    people = living(user)
    # Reports are made only for residents living here; a join to check it again would cost the
    # 40,000-resident compound most of its time.
    done = reports(user, day)
    buildings: dict[int, CoverageRow] = {}
    for building_id, n in people.values_list("household__building_id").annotate(n=Count("pk")).order_by():
        buildings[building_id] = CoverageRow(building_id, "", people=n)
    for building_id, n, positive in (done.values_list("building_id")
                                     .annotate(n=Count("pk"), p=Count("pk", filter=Q(result=Result.POSITIVE)))
                                     .order_by()):
        row = buildings.setdefault(building_id, CoverageRow(building_id, ""))
        row.reported, row.positive = n, positive
    units = OrgUnit.objects.filter(pk__in=list(buildings), kind=Kind.BUILDING).select_related("parent")
    ordered = []
    for unit in units.order_by("parent__sort_key", "sort_key", "pk"):
        row = buildings[unit.pk]
        row.label = f"{unit.parent.name if unit.parent else ''}{unit.name}"
        ordered.append(row)
    grids: dict[int, CoverageRow] = {}
    for grid_id, name, n in (people.filter(household__grid__isnull=False)
                             .values_list("household__grid_id", "household__grid__name")
                             .annotate(n=Count("pk")).order_by()):
        grids[grid_id] = CoverageRow(grid_id, name, people=n)
    for grid_id, n, positive in (done.filter(household__grid__isnull=False).values_list("household__grid_id")
                                 .annotate(n=Count("pk"), p=Count("pk", filter=Q(result=Result.POSITIVE)))
                                 .order_by()):
        if grid_id in grids:
            grids[grid_id].reported, grids[grid_id].positive = n, positive
    total = CoverageRow(None, "", people=sum(r.people for r in ordered), reported=sum(r.reported for r in ordered),
                        positive=sum(r.positive for r in ordered))
    return ordered, sorted(grids.values(), key=lambda r: r.label), total


def not_reported(user, day: dt.date, building_id: int | None = None):
    """Residents living here without a report on `day`, in building and room order."""
    done = AntigenReport.objects.filter(resident=OuterRef("pk"), day=day)
    rows = (living(user).annotate(done=Exists(done)).filter(done=False)
            .select_related("household", "household__building", "household__building__parent")
            .order_by("household__building__parent__sort_key", "household__building__sort_key",
                      "household__room_sort", HEAD_FIRST, "pk"))
    if building_id is not None:
        rows = rows.filter(household__building_id=building_id)
    return rows


def building_rows(user, building: OrgUnit, day: dt.date) -> list[Resident]:
    """The building's residents living here, each with `report` (today's, or None)."""
    residents = list(living(user).filter(household__building=building).select_related("household")
                     .order_by("household__room_sort", HEAD_FIRST, "pk"))
    by_resident = {r.resident_id: r for r in reports(user, day).filter(building=building)}
    for resident in residents:
        resident.report = by_resident.get(resident.pk)
    return residents


def open_positives(user):
    """Positive reports not yet confirmed by the committee, newest first."""
    return (AntigenReport.objects.visible_to(user).filter(result=Result.POSITIVE, confirmed_at__isnull=True)
            .select_related("resident", "household", "building", "building__parent", "review")
            .order_by("-day", "-reported_at"))
