"""Zones and screening: a positive single retest seals its compound in the lab file's own
transaction, and a zone whose rule asks for an all-negative test day waits for it."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.screening.models import Review
from xiuhua.screening.services_results import ResultRow, results_apply, review_sample
from xiuhua.screening.tests.test_results import closed_tube, codes_for
from xiuhua.testing import acting
from xiuhua.zones import services as svc
from xiuhua.zones.models import Level, Positive, Zone, ZoneEvent
from xiuhua.zones.presets import APRIL_11

from .conftest import published
from .test_rules import positive

pytestmark = pytest.mark.django_db


def test_a_positive_single_retest_seals_the_compound_in_the_same_transaction(world, screening, april):
    officer, staff = acting(world.street_officer), acting(world.staff_a1)
    codes = codes_for(world, screening, 2)
    pool = closed_tube(screening, "T0100", codes)
    results_apply(actor=officer, screening_round=screening.round, rows=[ResultRow(1, "T0100", "阳性")])
    assert not Zone.objects.exists()  # a positive pool is people under review, not a positive
    first, second = Review.objects.filter(pool_tube=pool).order_by("code__reference")
    review_sample(actor=staff, review_id=first.pk, barcode="R0001")
    review_sample(actor=staff, review_id=second.pk, barcode="R0002")
    results_apply(actor=officer, screening_round=screening.round,
                  rows=[ResultRow(1, "R0001", "阴性"), ResultRow(2, "R0002", "阳性")])
    today = timezone.localdate()
    zone = Zone.objects.get(unit=world.compound_a1)
    assert (zone.level, zone.clock_start, zone.last_positive_day) == (Level.SEALED, today, today)
    recorded = Positive.objects.get()
    assert (recorded.building, recorded.source, recorded.source_ref.startswith("case-")) == (
        world.building_a1, "screening", True)
    # The same file again: no second positive, the clock stays.
    results_apply(actor=officer, screening_round=screening.round, rows=[ResultRow(2, "R0002", "阳性")])
    assert Positive.objects.count() == 1 and ZoneEvent.objects.filter(zone=zone).count() == 1


def test_a_controlled_zone_waits_for_its_day_6_test_and_steps_down_once_all_are_negative(world, screening):
    today = timezone.localdate()
    start = today - dt.timedelta(days=9)
    published(world, APRIL_11,
              start - dt.timedelta(days=30))
    positive(world, world.building_a1, start, today=start)  # sealed; drawn down to controlled by hand below
    zone = Zone.objects.get(unit=world.compound_a1)
    svc.zone_draw(actor=acting(world.street_officer), zone=zone, level=Level.CONTROLLED, reason="复核后调整",
                  today=start)
    # Day 8 has come and gone, and nobody was tested on day 6: the zone waits, and says why.
    svc.zones_advance(today=today)
    zone.refresh_from_db()
    assert (zone.level, zone.held) == (Level.CONTROLLED, "第6天全员核酸结果未齐或有异常,暂缓转出")
    # Day 6's screening (two people, one negative tube) arrives: the zone steps down today.
    codes = codes_for(world, screening, 2)
    day_6 = timezone.make_aware(dt.datetime.combine(start + dt.timedelta(days=5), dt.time(9)))
    closed_tube(screening, "T0600", codes, sampled=day_6)
    results_apply(actor=acting(world.street_officer), screening_round=screening.round,
                  rows=[ResultRow(1, "T0600", "阴性")])
    assert svc.zones_advance(today=today) == 1
    zone.refresh_from_db()
    assert (zone.level, zone.held, zone.clock_start) == (Level.PRECAUTION, "", None)
    assert ZoneEvent.objects.filter(zone=zone, cause="step_down").get().day == today


def test_a_sealed_building_is_sampled_one_household_per_tube_whatever_the_round_says(world, screening, may):
    from xiuhua.screening.models import PoolRule, Tube
    from xiuhua.screening.tests.test_station import person, send, tube, walk_in

    # The 22 May rule seals building 5号 only; the round says 10:1 for the whole compound.
    positive(world, world.building_a1, timezone.localdate())
    a = walk_in(screening, world.building_a1, 1, household=world.household_a1)
    b = walk_in(screening, world.building_a1, 2, household=world.household_a1)
    c = walk_in(screening, world.building_a1, 3)
    other = walk_in(screening, world.building_a1b, 4)
    answer = send(screening, world.volunteer, [tube("TS"), person("TS", a), person("TS", b), person("TS", c),
                                               tube("TN"), person("TN", other)])
    assert [r["ok"] for r in answer["results"]] == [True, True, True, False, True, True]
    assert answer["results"][3]["message"] == "一户一管:该试管已有其他户的居民,请换一支试管"
    assert dict(Tube.objects.values_list("barcode", "pool_rule")) == {"TS": PoolRule.HOUSEHOLD, "TN": PoolRule.TEN}
