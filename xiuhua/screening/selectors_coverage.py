"""Coverage of a round (what the committee, the grid worker and the street follow live): per
building and per grid, the people with a code, those sampled, those not yet sampled, those
exempted (with why) and those on the door-to-door list; and the "not yet sampled" list itself,
which door-knockers print and download. Everything is read through the member's scope."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from .models import SamplingCode, ScreeningRound, TubeMember
from .models_plan import ScreeningExemption


@dataclass
class CoverageRow:
    key: int | None
    label: str
    people: int = 0
    sampled: int = 0
    exempt: int = 0
    door_to_door: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def waiting(self) -> int:
        return max(0, self.people - self.sampled - self.exempt)

    @property
    def reason_counts(self) -> list[tuple[str, int]]:
        # A list, not the Counter: a template's `.items` on a Counter finds the key "items" (0).
        return sorted(self.reasons.items())

    @property
    def percent(self) -> int:
        """Sampled of those due (exempted people are not due), in whole percent, rounded down."""
        due = self.people - self.exempt
        return 100 * self.sampled // due if due > 0 else 100


def round_codes(user, screening_round: ScreeningRound):
    sampled = TubeMember.objects.filter(code=OuterRef("pk"), retest=False)
    return (SamplingCode.objects.visible_to(user).filter(round=screening_round)
            .annotate(is_sampled=Exists(sampled)))


def _exempt(screening_round: ScreeningRound, user) -> dict[int, ScreeningExemption]:
    rows = ScreeningExemption.objects.visible_to(user).filter(round=screening_round)
    return {e.resident_id: e for e in rows}


def coverage(user, screening_round: ScreeningRound) -> tuple[list[CoverageRow], list[CoverageRow], CoverageRow]:
    """Rows per building (natural order) and per grid, and the total, of what the member sees."""
    exempt = _exempt(screening_round, user)
    buildings: dict[int | None, CoverageRow] = {}
    grids: dict[int | None, CoverageRow] = {}
    total = CoverageRow(None, "")
    rows = round_codes(user, screening_round).values_list(
        "building_id", "building__name", "building__parent__name", "building__parent__sort_key", "building__sort_key",
        "household__grid_id",
        "household__grid__name", "resident_id", "is_sampled")
    order: dict[int | None, tuple[str, str]] = {}
    for building_id, building, compound, compound_sort, sort_key, grid_id, grid, resident_id, is_sampled in rows:
        b = buildings.setdefault(building_id, CoverageRow(building_id, f"{compound or ''}{building or ''}"))
        g = grids.setdefault(grid_id, CoverageRow(grid_id, grid or ""))
        order[building_id] = (compound_sort or "", sort_key or "")
        e = exempt.get(resident_id) if resident_id else None
        for row in (b, g, total):
            row.people += 1
            if is_sampled:
                row.sampled += 1
            elif e is not None:
                row.exempt += 1
                row.door_to_door += int(e.door_to_door)
                row.reasons[e.get_reason_display()] += 1
    by_building = sorted(buildings.values(), key=lambda r: order.get(r.key, ("", "")))
    by_grid = sorted(grids.values(), key=lambda r: (r.key is None, r.label))
    return by_building, by_grid, total


def not_sampled(user, screening_round: ScreeningRound, building_id: int | None = None):
    """The codes of people not yet sampled and not exempted, in building and room order."""
    exempt_residents = ScreeningExemption.objects.filter(round=screening_round).values("resident_id")
    codes = (round_codes(user, screening_round).filter(is_sampled=False)
             .exclude(resident_id__in=exempt_residents)
             .select_related("building", "building__parent", "household")
             .order_by("building__parent__sort_key", "building__sort_key", "household__room_sort", "room", "pk"))
    if building_id is not None:
        codes = codes.filter(building_id=building_id)
    return codes
