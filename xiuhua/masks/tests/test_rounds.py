import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.masks import services
from xiuhua.masks.models import AllocationMode, MaskRound, PharmacyCommittee, RoundStatus
from xiuhua.testing import acting


def _create(world, **extra):
    now = timezone.now()
    return services.round_create(
        actor=acting(world.district_officer), scope=world.district, name="第2轮",
        opens_at=now, closes_at=now + dt.timedelta(days=2), **extra,
    )


def test_rule_changes_keep_old_and_new_values(world):
    r = _create(world)
    r = services.round_update(actor=acting(world.district_officer), round=r, masks_per_household=3,
                              special_share_percent=20)
    event = AuditEvent.objects.get(action="mask_round_update", object_id=r.pk)
    assert event.detail["changes"] == {"masks_per_household": [5, 3], "special_share_percent": [10, 20]}
    services.round_update(actor=acting(world.district_officer), round=r, voucher_valid_days=5)
    history = [e.detail["changes"] for e in AuditEvent.objects.filter(action="mask_round_update").order_by("pk")]
    assert history == [
        {"masks_per_household": [5, 3], "special_share_percent": [10, 20]},
        {"voucher_valid_days": [3, 5]},
    ]


def test_state_table(world):
    officer = acting(world.district_officer)
    r = _create(world)
    with pytest.raises(ValidationError):
        services.round_close(actor=officer, round=r)
    assert services.round_open(actor=officer, round=r).status == RoundStatus.OPEN
    with pytest.raises(ValidationError):
        services.round_open(actor=officer, round=r)
    with pytest.raises(ValidationError):
        services.round_update(actor=officer, round=r, allocation_mode=AllocationMode.LOTTERY)
    closed = services.round_close(actor=officer, round=r)
    assert closed.status == RoundStatus.CLOSED and closed.closes_at <= timezone.now()
    assert services.round_finish(actor=officer, round=r).status == RoundStatus.FINISHED
    assert [e.action for e in AuditEvent.objects.filter(object_id=r.pk).order_by("pk")] == [
        "mask_round_create", "mask_round_open", "mask_round_closed", "mask_round_finished",
    ]


def test_lottery_round_needs_its_seed_before_opening(world):
    officer = acting(world.district_officer)
    r = _create(world, allocation_mode=AllocationMode.LOTTERY)
    with pytest.raises(ValidationError):
        services.round_open(actor=officer, round=r)
    services.round_update(actor=officer, round=r, lottery_seed="2020-02-02 上证指数 2746.61")
    assert services.round_open(actor=officer, round=r).status == RoundStatus.OPEN


def test_bad_rules_are_refused(world):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.round_create(actor=acting(world.district_officer), scope=world.district, name="x",
                              opens_at=now, closes_at=now - dt.timedelta(hours=1), masks_per_household=0)
    assert set(exc.value.message_dict) == {"closes_at", "masks_per_household"}
    assert MaskRound.objects.count() == 0


@pytest.mark.parametrize("user", ["street_officer_b", "staff_a1", "pharmacy_clerk", "sysadmin", "no_role"])
def test_only_round_managers_create_and_move_rounds(world, user):
    r = _create(world)
    events = AuditEvent.objects.count()
    actor = acting(getattr(world, user))
    with pytest.raises(PermissionDenied):
        services.round_create(
            actor=actor, scope=world.district, name="x", opens_at=r.opens_at, closes_at=r.closes_at
        )
    with pytest.raises(PermissionDenied):
        services.round_open(actor=actor, round=r)
    with pytest.raises(PermissionDenied):
        services.pharmacy_create(actor=actor, street=world.street_a, name="p", address="a")
    assert MaskRound.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_a_street_officer_manages_rounds_and_pharmacies_of_their_own_street_only(world):
    officer = acting(world.street_officer)
    now = timezone.now()
    r = services.round_create(actor=officer, scope=world.street_a, name="长海路第1轮", opens_at=now,
                              closes_at=now + dt.timedelta(days=1))
    services.round_open(actor=officer, round=r)
    pharmacy = services.pharmacy_create(actor=officer, street=world.street_a, name="p", address="a")
    assert pharmacy.street == world.street_a
    district_round = _create(world)
    events = AuditEvent.objects.count()
    for call in (
        lambda: services.round_create(actor=officer, scope=world.district, name="x", opens_at=now,
                                      closes_at=now + dt.timedelta(days=1)),
        lambda: services.round_create(actor=officer, scope=world.street_b, name="x", opens_at=now,
                                      closes_at=now + dt.timedelta(days=1)),
        lambda: services.round_open(actor=officer, round=district_round),
        lambda: services.pharmacy_create(actor=officer, street=world.street_b, name="p", address="a"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert AuditEvent.objects.count() == events


def test_round_scope_must_be_within_the_officers_unit(world):
    with pytest.raises(PermissionDenied):
        services.round_create(actor=acting(world.district_officer), scope=world.city, name="全市",
                              opens_at=timezone.now(), closes_at=timezone.now() + dt.timedelta(days=1))


def test_a_committee_is_served_by_one_pharmacy(world, masks):
    officer = acting(world.district_officer)
    services.pharmacy_assign_committee(actor=officer, pharmacy=masks.pharmacy_a, committee=world.committee_a1)
    assert PharmacyCommittee.objects.filter(committee=world.committee_a1).count() == 1
    other = services.pharmacy_create(actor=officer, street=world.street_a, name="长海药房", address="长海路")
    services.pharmacy_assign_committee(actor=officer, pharmacy=other, committee=world.committee_a1)
    assert PharmacyCommittee.objects.get(committee=world.committee_a1).pharmacy == other
    with pytest.raises(ValidationError):  # B1 is not in street A
        services.pharmacy_assign_committee(actor=officer, pharmacy=other, committee=world.committee_b1)
