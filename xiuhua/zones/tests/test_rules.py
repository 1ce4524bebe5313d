"""The rules of 11 April and 22 May 2022 as rule data, held to what domain.md says of them: a
positive on day 5 of a sealed zone resets its clock; a controlled zone with a new positive is
sealed again; sealed → controlled after 7 clean days → precaution after 3 more; a rule change
applies from its date only."""

import datetime as dt

import pytest

from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting
from xiuhua.zones import clock
from xiuhua.zones import services as svc
from xiuhua.zones.models import Level, Positive, Zone, ZoneEvent
from xiuhua.zones.presets import MAY_22

from .conftest import published

pytestmark = pytest.mark.django_db

D = dt.date


def positive(world, building, day, today=None, ref=""):
    return svc.positive_record(actor=acting(world.street_officer), building=building, day=day, source="street",
                               source_ref=ref, today=today or day)


def zone(unit) -> Zone:
    return Zone.objects.get(unit=unit)


def history(unit):
    return list(ZoneEvent.objects.filter(zone__unit=unit).order_by("pk")
                .values_list("day", "from_level", "to_level", "clock_start", "cause"))


def test_april_11_a_positive_on_day_5_of_a_sealed_compound_starts_its_clock_again(world, april):
    positive(world, world.building_a1, D(2022, 4, 12))
    sealed = zone(world.compound_a1)
    assert (sealed.level, sealed.clock_start, sealed.day_of_clock(D(2022, 4, 16))) == ("sealed", D(2022, 4, 12), 5)
    rules = svc.rules_for(world.compound_a1)
    # 14 days: released on 26 April, after everyone tested negative on day 13 (25 April).
    assert clock.release_day("sealed", D(2022, 4, 12), rules, D(2022, 4, 16)) == D(2022, 4, 26)
    assert clock.test_date(april, "sealed", D(2022, 4, 12)) == D(2022, 4, 24)

    # Day 5: a new positive in the other building. Same level, the clock starts again.
    positive(world, world.building_a1b, D(2022, 4, 16))
    sealed.refresh_from_db()
    assert (sealed.level, sealed.clock_start, sealed.last_positive_day) == ("sealed", D(2022, 4, 16), D(2022, 4, 16))
    assert sealed.day_of_clock(D(2022, 4, 16)) == 1
    assert clock.release_day("sealed", sealed.clock_start, rules, D(2022, 4, 16)) == D(2022, 4, 30)
    assert history(world.compound_a1) == [
        (D(2022, 4, 12), "precaution", "sealed", D(2022, 4, 12), "positive"),
        (D(2022, 4, 16), "sealed", "sealed", D(2022, 4, 16), "reset")]
    # The compound rule seals the compound, not a building of it.
    assert zone(world.building_a1).level == "precaution"
    assert list(AuditEvent.objects.filter(action__startswith="zone").order_by("pk").values_list("action", flat=True)) \
        == ["zone_seal", "zone_positive_record", "zone_clock_reset", "zone_positive_record"]
    # A late report of a positive older than the clock's start does not move it back.
    positive(world, world.building_a1, D(2022, 4, 14), today=D(2022, 4, 17))
    sealed.refresh_from_db()
    assert sealed.clock_start == D(2022, 4, 16) and Positive.objects.count() == 3


def test_april_11_a_controlled_zone_with_a_new_positive_is_sealed_again(world, april):
    svc.zone_draw(actor=acting(world.street_officer), zone=svc._zones_locked([world.compound_a2])[world.compound_a2.pk],
                  level=Level.CONTROLLED, reason="毗邻封控小区", today=D(2022, 4, 13))
    controlled = zone(world.compound_a2)
    assert (controlled.level, controlled.clock_start) == ("controlled", D(2022, 4, 13))
    positive(world, world.building_a2, D(2022, 4, 15))
    controlled.refresh_from_db()
    assert (controlled.level, controlled.clock_start) == ("sealed", D(2022, 4, 15))
    assert [row[1:3] for row in history(world.compound_a2)] == [("precaution", "controlled"), ("controlled", "sealed")]


def test_may_22_sealed_building_steps_to_controlled_after_7_clean_days_then_precaution_after_3(world, april, may):
    positive(world, world.building_a1, D(2022, 5, 24))
    building, compound = zone(world.building_a1), zone(world.compound_a1)
    # The 22 May rule seals the building; the rest of the compound is controlled.
    assert (building.level, building.clock_start) == ("sealed", D(2022, 5, 24))
    assert (compound.level, compound.clock_start) == ("controlled", D(2022, 5, 24))
    # The compound's 3 days are over on 27 May, but it waits while its building is sealed.
    assert svc.zones_advance(today=D(2022, 5, 30)) == 0
    building.refresh_from_db()
    assert building.level == "sealed"
    assert svc.zones_advance(today=D(2022, 5, 31)) == 2
    building.refresh_from_db()
    assert (building.level, building.clock_start) == ("controlled", D(2022, 5, 31))
    assert svc.zones_advance(today=D(2022, 6, 3)) == 1
    building.refresh_from_db()
    assert (building.level, building.clock_start) == ("precaution", None)
    assert history(world.building_a1) == [
        (D(2022, 5, 24), "precaution", "sealed", D(2022, 5, 24), "positive"),
        (D(2022, 5, 31), "sealed", "controlled", D(2022, 5, 31), "step_down"),
        (D(2022, 6, 3), "controlled", "precaution", None, "step_down")]
    assert history(world.compound_a1) == [
        (D(2022, 5, 24), "precaution", "controlled", D(2022, 5, 24), "neighbour"),
        (D(2022, 5, 31), "controlled", "precaution", None, "step_down")]
    # Walking again the same day changes nothing.
    assert svc.zones_advance(today=D(2022, 6, 3)) == 0


def test_a_sweep_that_missed_days_takes_each_step_on_its_own_day(world, april, may):
    positive(world, world.building_a1, D(2022, 5, 24))
    assert svc.zones_advance(today=D(2022, 6, 10)) == 3  # the building twice, its compound once
    assert [row[0] for row in history(world.building_a1)] == [D(2022, 5, 24), D(2022, 5, 31), D(2022, 6, 3)]


@pytest.mark.parametrize("effective, stepped", [
    (D(2022, 6, 5), D(2022, 6, 8)),    # in force before the 7 days are over: steps on day 8
    (D(2022, 6, 11), D(2022, 6, 11)),  # published later: steps on its own date, never back-dated
])
def test_a_rule_change_applies_from_its_date_only(world, april, effective, stepped):
    positive(world, world.building_a1, D(2022, 6, 1))  # April rule: sealed 14 days, test on day 13
    published(world, MAY_22, effective, scope=world.street_a)
    svc.zones_advance(today=stepped + dt.timedelta(days=1))
    compound = zone(world.compound_a1)
    assert history(world.compound_a1)[1][:3] == (stepped, "sealed", "controlled")
    assert (compound.level, compound.clock_start) == ("controlled", stepped)
    # Before the new rule's date the old one held: nothing moved on the days before it.
    assert ZoneEvent.objects.filter(zone=compound, day__lt=stepped, cause="step_down").count() == 0


def test_the_street_rule_wins_over_the_district_rule_of_the_same_day(world, april):
    published(world, MAY_22, D(2022, 5, 22))
    street = published(world, MAY_22, D(2022, 5, 22), scope=world.street_a, sealed_days=5)
    assert svc.rules_for(world.building_a1).at(D(2022, 5, 23)) == street
    assert svc.rules_for(world.building_b1).at(D(2022, 5, 23)).sealed_days == 7
