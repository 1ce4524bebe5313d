"""What the zone pages and other modules read: the board of a street's zones with what changes
today and tomorrow, a compound's public facts, the preview of a draft rule, and the level of a
place (screening's pool size reads it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Max

from xiuhua.places.models import Kind, OrgUnit
from xiuhua.screening.selectors_zones import last_sampled_days

from . import clock
from .models import Level, Positive, Zone, ZoneRule
from .services import precaution_floor, rules_cache


@dataclass
class BoardRow:
    zone: Zone
    day: int | None
    release: dt.date | None
    next_step: clock.Step | None
    rule: ZoneRule | None

    @property
    def changes_on(self) -> dt.date | None:
        return self.next_step.day if self.next_step else None


def ahead_of(zone: Zone, rules, today: dt.date) -> clock.Walk:
    """A zone's projection; a compound's waits for its sealed buildings."""
    return clock.projection(zone.level, zone.clock_start, rules(zone.unit), today,
                            precaution_from=precaution_floor(zone, rules, today))


def board(user, today: dt.date) -> list[BoardRow]:
    """The sealed and controlled zones the user sees, the soonest to change first."""
    rules = rules_cache()
    rows = []
    zones = (Zone.objects.visible_to(user).exclude(level=Level.PRECAUTION)
             .select_related("unit", "compound", "committee"))
    for zone in zones:
        zone_rules = rules(zone.unit)
        ahead = ahead_of(zone, rules, today)
        rows.append(BoardRow(zone=zone, day=zone.day_of_clock(today), release=clock.release_of(ahead),
                             next_step=ahead.steps[0] if ahead.steps else None, rule=zone_rules.at(today)))
    far = dt.date.max
    rows.sort(key=lambda r: (r.changes_on or far, -len(r.zone.level), r.zone.compound.sort_key, r.zone.unit.sort_key))
    return rows


@dataclass
class PublicFacts:
    compound: OrgUnit
    zone: Zone
    level: str
    day: int | None
    release: dt.date | None
    held: str
    rule: ZoneRule | None
    last_positive: dt.date | None
    last_screening: dt.date | None
    buildings: list[BoardRow] = field(default_factory=list)  # its buildings' own zones, if any


def public_facts(zone: Zone, today: dt.date) -> PublicFacts:
    """What the compound's gate page shows: nothing about a person."""
    compound = zone.compound
    rules = rules_cache()
    compound_rules = rules(compound)
    release = clock.release_of(ahead_of(zone, rules, today))
    inside = []
    for building_zone in (Zone.objects.filter(compound=compound).exclude(unit=compound)
                          .exclude(level=Level.PRECAUTION).select_related("unit").order_by("unit__sort_key")):
        ahead = ahead_of(building_zone, rules, today)
        inside.append(BoardRow(zone=building_zone, day=building_zone.day_of_clock(today),
                               release=clock.release_of(ahead), next_step=ahead.steps[0] if ahead.steps else None,
                               rule=None))
    last_positive = Positive.objects.filter(compound=compound).aggregate(last=Max("day"))["last"]
    buildings = list(OrgUnit.objects.filter(parent=compound, kind=Kind.BUILDING).values_list("pk", flat=True))
    return PublicFacts(compound=compound, zone=zone, level=zone.level, day=zone.day_of_clock(today), release=release,
                       held=zone.held, rule=compound_rules.at(today), last_positive=last_positive,
                       last_screening=last_sampled_days({compound.pk: buildings}).get(compound.pk), buildings=inside)


@dataclass
class PreviewRow:
    zone: Zone
    level_before: str
    level_after: str
    release_before: dt.date | None
    release_after: dt.date | None


@dataclass
class Preview:
    day: dt.date  # the day the rule starts to count (its date, or today)
    changed: list[PreviewRow]
    released: list[PreviewRow]  # reach precaution on `day` under the new rule, not under the old


def rule_preview(rule: ZoneRule, today: dt.date) -> Preview:
    """The zones of the rule's scope that the rule would change, if published as it stands: their
    level on the day it takes effect, or their projected release day, differ from the rules
    already published. Projections take every test to come back negative."""
    start = max(rule.effective_from, today)
    changed, released = [], []
    zones = (Zone.objects.filter(unit__path__startswith=rule.scope.path).exclude(level=Level.PRECAUTION)
             .select_related("unit", "compound").order_by("compound__sort_key", "unit__sort_key"))
    rules = rules_cache()
    for zone in zones:
        old = rules(zone.unit)
        new = old.with_rule(rule)
        floor_before = precaution_floor(zone, lambda unit, fixed=old: fixed, today)
        floor_after = precaution_floor(zone, lambda unit, fixed=new: fixed, today)
        before = clock.walk(zone.level, zone.clock_start, old, start, precaution_from=floor_before)
        after = clock.walk(zone.level, zone.clock_start, new, start, precaution_from=floor_after)
        row = PreviewRow(zone=zone, level_before=before.level, level_after=after.level,
                         release_before=clock.release_day(zone.level, zone.clock_start, old, today, floor_before),
                         release_after=clock.release_day(zone.level, zone.clock_start, new, today, floor_after))
        if row.level_before != row.level_after or row.release_before != row.release_after:
            changed.append(row)
            if row.level_after == Level.PRECAUTION and row.level_before != Level.PRECAUTION:
                released.append(row)
    return Preview(day=start, changed=changed, released=released)


def sealed_units(unit_ids) -> set[int]:
    """Which of these compounds and buildings are sealed zones now (screening samples them one
    household per tube)."""
    ids = [i for i in unit_ids if i is not None]
    if not ids:
        return set()
    return set(Zone.objects.filter(unit_id__in=ids, level=Level.SEALED).values_list("unit_id", flat=True))
