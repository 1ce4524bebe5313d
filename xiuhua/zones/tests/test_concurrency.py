"""Positives under real concurrency on PostgreSQL: threads with their own connections, released
together by a barrier."""

import datetime as dt

import pytest

from xiuhua.testing import acting, build_world, run_parallel
from xiuhua.zones import services as svc
from xiuhua.zones.models import Level, Positive, Zone, ZoneEvent
from xiuhua.zones.presets import APRIL_11

from .conftest import published

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = dt.date


def test_the_same_positive_sent_eight_times_at_once_is_recorded_once_and_seals_once():
    world = build_world()
    published(world, APRIL_11, D(2022, 4, 11))

    def record(_i):
        return svc.positive_record(actor=None, system=True, building=world.building_a1, day=D(2022, 4, 20),
                                   source="screening", source_ref="case-42", today=D(2022, 4, 20)).pk

    answers = run_parallel(record, 8)
    assert not any(isinstance(a, Exception) for a in answers), answers
    assert len(set(answers)) == 1 and Positive.objects.count() == 1
    zone = Zone.objects.get(unit=world.compound_a1)
    assert (zone.level, zone.clock_start) == (Level.SEALED, D(2022, 4, 20))
    assert Zone.objects.filter(unit=world.compound_a1).count() == 1
    assert list(ZoneEvent.objects.values_list("cause", flat=True)) == ["positive"]


def test_two_positives_of_one_compound_at_once_seal_it_once_and_the_later_day_holds_the_clock():
    world = build_world()
    published(world, APRIL_11, D(2022, 4, 11))
    officer = acting(world.street_officer)
    cases = [(world.building_a1, D(2022, 4, 18)), (world.building_a1b, D(2022, 4, 20))]

    def record(i):
        building, day = cases[i]
        return svc.positive_record(actor=officer, building=building, day=day, source="street",
                                   today=D(2022, 4, 20)).pk

    answers = run_parallel(record, 2)
    assert not any(isinstance(a, Exception) for a in answers), answers
    zone = Zone.objects.get(unit=world.compound_a1)
    assert (zone.level, zone.clock_start, zone.last_positive_day) == (Level.SEALED, D(2022, 4, 20), D(2022, 4, 20))
    causes = sorted(ZoneEvent.objects.filter(zone=zone).values_list("cause", flat=True))
    assert causes in (["positive"], ["positive", "reset"])  # the later day first, or second
    assert ZoneEvent.objects.filter(zone=zone, cause="positive").count() == 1
