"""Shared set-up of the volunteers' tests: a post and a shift of compound A1, made through the
services as committee A1's staff."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.testing import acting
from xiuhua.volunteers import services
from xiuhua.volunteers.models import PostKind

OUTSIDER_PHONE = "13900009999"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)), timezone.get_current_timezone())


def make_shift(world, *, post=None, day=None, start=9, end=12, needed=3, **post_kwargs):
    staff = acting(world.staff_a1)
    if post is None:
        kind = post_kwargs.pop("kind", PostKind.GATE)
        post = services.post_create(actor=staff, compound=world.compound_a1, kind=kind,
                                    name=post_kwargs.pop("name", "东门门岗"), **post_kwargs)
    return services.shift_create(actor=staff, post=post, day=day or timezone.localdate() + dt.timedelta(days=1),
                                 start=dt.time(start), end=dt.time(end), needed=needed)


def outsider(world, phone=OUTSIDER_PHONE, name="周志强", talents=()):
    return services.volunteer_sign_up(actor=None, compound=world.compound_a1, mobile=phone, name=name,
                                      talents=list(talents))


@pytest.fixture
def shift(world):
    return make_shift(world)
