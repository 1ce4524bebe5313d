"""The last places of a shift under real concurrency, on PostgreSQL: 20 volunteers signing up
in parallel for the last 3 places get exactly 3; one volunteer's parallel sign-ups for two
overlapping shifts give exactly one."""

import pytest
from django.core.exceptions import ValidationError

from xiuhua.core.models import AuditEvent
from xiuhua.testing import run_parallel
from xiuhua.volunteers import services
from xiuhua.volunteers.models import Duty, Shift

from .conftest import make_shift, outsider

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_volunteers_for_the_last_three_places_get_exactly_three(world):
    shift = make_shift(world, needed=5)
    early = [outsider(world, phone=f"1390000300{i}", name=f"早报名{i}") for i in range(2)]
    for volunteer in early:
        services.duty_sign_up(actor=None, shift=shift, volunteer=volunteer)
    crowd = [outsider(world, phone=f"139000040{i:02d}", name=f"志愿者{i}") for i in range(20)]

    def sign_up(i: int) -> str:
        services.duty_sign_up(actor=None, shift=shift, volunteer=crowd[i])
        return "ok"

    results = run_parallel(sign_up, 20)
    assert results.count("ok") == 3
    refusals = [r for r in results if r != "ok"]
    assert len(refusals) == 17
    assert all(isinstance(r, ValidationError) and r.messages == ["这个班次已报满"] for r in refusals), refusals
    shift.refresh_from_db()
    assert (shift.filled, Duty.objects.filter(shift=shift).count()) == (5, 5)
    assert AuditEvent.objects.filter(action="volunteer_duty_sign_up").count() == 5


def test_one_volunteers_parallel_sign_ups_for_overlapping_shifts_give_one(world):
    first = make_shift(world, start=8, end=12)
    second = make_shift(world, post=first.post, start=10, end=14)
    volunteer = outsider(world)
    shifts = [first, second] * 4

    def sign_up(i: int) -> str:
        services.duty_sign_up(actor=None, shift=shifts[i], volunteer=volunteer)
        return "ok"

    results = run_parallel(sign_up, len(shifts))
    assert results.count("ok") == 1
    assert Duty.objects.filter(volunteer=volunteer).count() == 1
    assert sum(Shift.objects.filter(pk__in=[first.pk, second.pk]).values_list("filled", flat=True)) == 1
