"""Every declared action of the mask workflows, driven through the service the pages (or the
scheduler) call, writes exactly one audit event named after it and reaches its target state.

A driver prepares a record for its action and returns it with the call that moves it; an action
declared without a driver fails here.
"""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from xiuhua.core.idnumbers import IdType
from xiuhua.masks import services
from xiuhua.masks.models import Channel, Voucher
from xiuhua.masks.workflows import MASK_ROUND, RESERVATION, VOUCHER
from xiuhua.testing import acting, assert_moved_once

from .fixtures import holder_id, new_household, reserve, unknown_id

pytestmark = pytest.mark.django_db


def _officer(world):
    return acting(world.district_officer)


def _draft_round(world, m):
    now = timezone.now()
    return services.round_create(actor=_officer(world), scope=world.district, name="第2轮", opens_at=now,
                                 closes_at=now + dt.timedelta(days=2))


def _move_round(action, mask_round_of):
    def driver(world, m):
        mask_round = mask_round_of(world, m)
        return mask_round, lambda: services.round_move(actor=_officer(world), round=mask_round, action=action)
    return driver


def _closed_round(world, m):
    services.round_move(actor=_officer(world), round=m.round, action="closed")
    return m.round


ROUND_DRIVERS = {
    "open": _move_round("open", _draft_round),
    "closed": _move_round("closed", lambda world, m: m.round),
    "finished": _move_round("finished", _closed_round),
}


def _verifying(world, m):
    return services.reservation_submit(
        actor=None, round=m.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="6号102室",
    )


def _deliver(world, m):
    """What the clerk's delivery page calls: five masks, one household's voucher."""
    return services.stock_delivery_record(
        actor=acting(world.pharmacy_clerk), round=m.round, pharmacy=m.pharmacy_a, quantity=5,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
    )


def _issued(world, m):
    reservation = reserve(m, new_household(world))
    _deliver(world, m)
    return reservation, Voucher.objects.get(reservation=reservation)


def _redeem(world, reservation, voucher):
    return lambda: services.voucher_redeem(actor=acting(world.pharmacy_clerk), number=voucher.number,
                                           id_number=holder_id(reservation))


def _expire(voucher):
    return lambda: services.vouchers_expire(now=voucher.expires_at)


def _verify(world, m):
    pending = _verifying(world, m)
    household = new_household(world).household
    household.residents.all().delete()
    return pending, lambda: services.reservation_verify(actor=acting(world.staff_a1), reservation=pending,
                                                        household=household)


def _reject(world, m):
    pending = _verifying(world, m)
    return pending, lambda: services.reservation_reject(actor=acting(world.staff_a1), reservation=pending,
                                                        reason="物业无此住户")


def _issue(world, m):
    reservation = reserve(m, new_household(world))
    return reservation, lambda: _deliver(world, m)


def _reservation_redeem(world, m):
    reservation, voucher = _issued(world, m)
    return reservation, _redeem(world, reservation, voucher)


def _reservation_expire(world, m):
    reservation, voucher = _issued(world, m)
    return reservation, _expire(voucher)


RESERVATION_DRIVERS = {
    "verify": _verify,
    "reject": _reject,
    "issue": _issue,
    "redeem": _reservation_redeem,
    "expire": _reservation_expire,
}


def _voucher_redeem(world, m):
    reservation, voucher = _issued(world, m)
    return voucher, _redeem(world, reservation, voucher)


def _voucher_expire(world, m):
    _reservation, voucher = _issued(world, m)
    return voucher, _expire(voucher)


VOUCHER_DRIVERS = {"redeem": _voucher_redeem, "expire": _voucher_expire}


def _one_event_and_the_target_state(workflow, drivers, action, world, masks):
    record, act = drivers[action](world, masks)
    assert_moved_once(workflow, action, record, act)


@pytest.mark.parametrize("action", sorted(MASK_ROUND.actions))
def test_each_round_action(world, masks, action):
    _one_event_and_the_target_state(MASK_ROUND, ROUND_DRIVERS, action, world, masks)


@pytest.mark.parametrize("action", sorted(RESERVATION.actions))
def test_each_reservation_action(world, masks, action):
    _one_event_and_the_target_state(RESERVATION, RESERVATION_DRIVERS, action, world, masks)


@pytest.mark.parametrize("action", sorted(VOUCHER.actions))
def test_each_voucher_action(world, masks, action):
    _one_event_and_the_target_state(VOUCHER, VOUCHER_DRIVERS, action, world, masks)


def test_the_audit_names_are_those_the_log_has_always_used():
    assert {MASK_ROUND.audit_action(a) for a in MASK_ROUND.actions} == {
        "mask_round_open", "mask_round_closed", "mask_round_finished"}
    assert {"reservation_verify", "reservation_reject"} <= {RESERVATION.audit_action(a) for a in RESERVATION.actions}
    assert VOUCHER.audit_action("redeem") == "voucher_redeem"
