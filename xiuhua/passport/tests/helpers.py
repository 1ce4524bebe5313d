"""Test set-up for the passport: samples taken in a screening round, vaccination on residents."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from xiuhua.screening.models import SamplingCode, ScreeningRound, Tube, TubeMember

_numbers = itertools.count(1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def sample(world, resident, when: dt.datetime) -> TubeMember:
    """`resident` sampled at `when` (Beijing time) in a round of street A."""
    day = when.date()
    screening_round = ScreeningRound.objects.filter(name="护照测试轮").first() or ScreeningRound.objects.create(
        name="护照测试轮", scope=world.street_a, first_day=day - dt.timedelta(days=60), last_day=day,
        created_by=world.street_officer)
    n = next(_numbers)
    code = SamplingCode.objects.create(
        round=screening_round, reference=f"PP{n:011d}", committee_id=resident.committee_id,
        building_id=resident.household.building_id, household=resident.household, resident=resident,
        name_masked="张*", room=resident.household.room) if not SamplingCode.objects.filter(
            round=screening_round, resident=resident).exists() else SamplingCode.objects.get(
            round=screening_round, resident=resident)
    tube = Tube.objects.create(round=screening_round, committee_id=resident.committee_id, barcode=f"PPT{n:06d}",
                               pool_rule="ten", capacity=10, opened_at=when.replace(tzinfo=SHANGHAI),
                               retest=TubeMember.objects.filter(code=code).exists())
    return TubeMember.objects.create(tube=tube, code=code, scanned_at=when.replace(tzinfo=SHANGHAI))


def vaccinate(resident, doses: int = 2, on: dt.date | None = dt.date(2022, 3, 1)) -> None:
    resident.vaccine_doses, resident.vaccinated_on = doses, on
    resident.save()
