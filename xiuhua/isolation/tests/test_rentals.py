"""Rental screening: unit by unit, and the street's progress per committee."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiuhua.isolation.models import RentalScreening, Whereabouts
from xiuhua.isolation.rentals import rental_progress, rental_screen
from xiuhua.residents.models import Household
from xiuhua.testing import acting

from .test_services import at

pytestmark = pytest.mark.django_db


def screen(w, household, *, actor=None, **extra):
    data = dict(tenants=2, reached=True, whereabouts=Whereabouts.HERE, now=at(10, 15)) | extra
    return rental_screen(actor=acting(actor or w.staff_a1), household=household, **data)


def test_progress_per_committee_from_the_newest_screening(world):
    w = world
    rented = [Household.objects.create(building=w.building_a1, room=f"{n}01", is_rental=True) for n in range(2, 6)]
    screen(w, rented[0], tenants=8, group_rental=True)
    screen(w, rented[1], reached=False, whereabouts=Whereabouts.UNKNOWN, now=at(9, 10))
    # Called again the next day: reached, in Hubei, back on the 14th. The newest row counts.
    screen(w, rented[1], whereabouts=Whereabouts.AWAY, away_place="湖北省孝感市", return_date=dt.date(2020, 2, 14))
    screen(w, rented[2], tenants=1, whereabouts=Whereabouts.AWAY, away_place="安徽省", return_date=dt.date(2020, 3, 1))
    screen(w, rented[3], now=at(1, 10))  # before this campaign: not screened in it
    rows = dict(rental_progress(user=acting(w.street_officer), since=dt.date(2020, 2, 5), today=dt.date(2020, 2, 10)))
    a1 = rows[w.committee_a1]
    # household_a2 (A2) is the world's one rented unit elsewhere; rented[3] and it are not screened.
    assert (a1.units, a1.screened, a1.reached, a1.away, a1.returning_in_7_days, a1.group_rentals, a1.tenants) == (
        4, 3, 3, 2, 1, 1, 11)
    assert a1.percent == 75
    assert (rows[w.committee_a2].units, rows[w.committee_a2].screened) == (1, 0)
    assert [c.name for c, _p in rental_progress(user=acting(w.staff_a1), since=dt.date(2020, 2, 5))] == [
        "国和一村居委会"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"whereabouts": Whereabouts.AWAY}, "away_place"),
        ({"whereabouts": Whereabouts.AWAY, "away_place": "江西", "return_date": dt.date(2020, 2, 1)}, "return_date"),
        ({"reached": False}, "reached"),
        ({"tenants": 99}, "tenants"),
        ({"whereabouts": "abroad"}, "whereabouts"),
    ],
)
def test_bad_screening_input_writes_nothing(world, change, field):
    with pytest.raises(ValidationError) as caught:
        screen(world, world.household_a2, actor=world.staff_a2, **change)
    assert field in caught.value.message_dict
    assert not RentalScreening.objects.exists()


def test_only_rented_units_of_ones_own_committee(world):
    with pytest.raises(ValidationError):
        screen(world, world.household_a1)  # not a rental
    with pytest.raises(PermissionDenied):
        screen(world, world.household_a2)  # A2's unit, A1's staff
    with pytest.raises(PermissionDenied):
        screen(world, world.household_a2, actor=world.street_officer)
    assert not RentalScreening.objects.exists()
