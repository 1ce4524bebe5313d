"""The screening schema's own guarantees: visibility of rounds and sites, and the unique rules that
make scans exactly-once."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from xiuhua.screening.models import PoolRule, SamplingCode, ScreeningRound, Site, Tube, TubeMember
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db


def test_rounds_and_sites_are_seen_within_their_street_only(world, screening):
    officer = acting(world.street_officer)
    assert set(ScreeningRound.objects.visible_to(officer)) == {screening.round}
    # A committee sees the street's round (its scope holds the committee) and its own site only.
    staff = acting(world.staff_a1)
    assert set(ScreeningRound.objects.visible_to(staff)) == {screening.round}
    assert set(Site.objects.visible_to(staff)) == {screening.site_a1}
    district = acting(world.district_officer)
    assert set(ScreeningRound.objects.visible_to(district)) == {screening.round, screening.round_b}
    assert not ScreeningRound.objects.visible_to(acting(world.pharmacy_clerk)).exists()


def test_a_person_has_one_code_and_one_pooled_sample_per_round(world, screening):
    code = SamplingCode.objects.create(round=screening.round, reference="TESTCODE0001", committee=world.committee_a1,
                                       building=world.building_a1, household=world.household_a1,
                                       resident=world.resident_a1, name_masked="张*英", room="302")
    with pytest.raises(IntegrityError), transaction.atomic():
        SamplingCode.objects.create(round=screening.round, reference="TESTCODE0002", committee=world.committee_a1,
                                    resident=world.resident_a1, name_masked="张*英")
    now = timezone.now()
    first = Tube.objects.create(round=screening.round, site=screening.site_a1, barcode="T0001",
                                pool_rule=PoolRule.TEN, capacity=10, opened_at=now)
    second = Tube.objects.create(round=screening.round, site=screening.site_a1, barcode="T0002",
                                 pool_rule=PoolRule.TEN, capacity=10, opened_at=now)
    TubeMember.objects.create(tube=first, code=code, scanned_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        TubeMember.objects.create(tube=second, code=code, scanned_at=now)
    retest = Tube.objects.create(round=screening.round, site=screening.site_a1, barcode="R0001",
                                 pool_rule=PoolRule.SINGLE, capacity=1, retest=True, opened_at=now)
    TubeMember.objects.create(tube=retest, code=code, scanned_at=now)  # a single-tube retest is another sample
    assert first.committee_id == world.committee_a1.pk and TubeMember.objects.filter(code=code).count() == 2
