"""A screening round over street A of the test world (xiuhua.testing.build_world), set up directly
in the database for service and page tests (the journey test sets one up through the pages)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.utils import timezone

from xiuhua.screening.models import Line, PoolRule, RoundCompound, RoundStatus, ScreeningRound, Site


def build_screening(world, *, status: str = RoundStatus.OPEN) -> SimpleNamespace:
    s = SimpleNamespace()
    today = timezone.localdate()
    s.round = ScreeningRound.objects.create(
        name="第一轮全员核酸筛查", scope=world.street_a, first_day=today, last_day=today + dt.timedelta(days=1),
        status=status, created_by=world.street_officer,
    )
    s.compound_a1 = RoundCompound.objects.create(round=s.round, compound=world.compound_a1, pool_rule=PoolRule.TEN)
    s.compound_a2 = RoundCompound.objects.create(round=s.round, compound=world.compound_a2, pool_rule=PoolRule.FIVE)
    s.site_a1 = Site.objects.create(round=s.round, committee=world.committee_a1, name="国和一村广场",
                                    address="国和路 1 号")
    s.site_a2 = Site.objects.create(round=s.round, committee=world.committee_a2, name="国和二村活动室")
    s.lines_a1 = [Line.objects.create(site=s.site_a1, number=n, rate_per_hour=200) for n in (1, 2, 3)]
    s.line_a2 = Line.objects.create(site=s.site_a2, number=1, rate_per_hour=200)
    # Another street's round: never visible to street A's members.
    s.round_b = ScreeningRound.objects.create(
        name="五角场街道筛查", scope=world.street_b, first_day=today, last_day=today, status=status,
        created_by=world.street_officer_b,
    )
    s.site_b1 = Site.objects.create(round=s.round_b, committee=world.committee_b1, name="政立小区门口")
    return s
