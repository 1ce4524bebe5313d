"""Exactly-once under real concurrency: 32 parallel clients, each with its own connection."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from xiuhua.masks import services
from xiuhua.masks.models import PharmacyStock, Reservation, ReservationStatus, Voucher, VoucherStatus
from xiuhua.testing import acting, make_resident
from xiuhua.testing import run_parallel as _run_parallel

from .fixtures import build_masks, holder_id, new_household, reserve

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 32


def run_parallel(fn, count=CLIENTS) -> list:
    return _run_parallel(fn, count)


def test_same_person_on_every_channel_at_once_gets_one_reservation(world):
    m = build_masks(world)
    staff = world.staff_a1
    channels = ["online", "sms", "desk", "phone"]

    def submit(i):
        channel = channels[i % 4]
        actor = acting(staff) if channel in ("desk", "phone") else None
        return reserve(m, world.resident_a1, channel=channel, actor=actor, received_at=timezone.now()).number

    results = run_parallel(submit)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    assert Reservation.objects.filter(round=m.round).count() == 1


def test_same_household_different_people_at_once(world):
    m = build_masks(world)
    people = [world.resident_a1] + [
        make_resident(world.household_a1, f"家人{i}", relation="child", birth=dt.date(1990, 1, 1 + i % 28))
        for i in range(CLIENTS - 1)
    ]

    def submit(i):
        return reserve(m, people[i]).number

    results = run_parallel(submit)
    numbers = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(numbers) == 1 and len(refusals) == CLIENTS - 1, results
    assert all(e.messages == ["本户本轮已有家庭成员预约,如需查询预约号请联系居委会"] for e in refusals)
    assert Reservation.objects.filter(round=m.round).count() == 1


def test_deliveries_and_issuing_racing_never_exceed_stock_and_keep_queue_order(world):
    m = build_masks(world, special_share_percent=0)
    queued = []
    for i in range(120):
        resident = new_household(world, name=f"排队{i}")
        queued.append(reserve(m, resident, now=m.round.opens_at + dt.timedelta(seconds=i + 1)))
    clerk = world.pharmacy_clerk

    def act(i):
        if i % 2:
            return services.vouchers_issue(round=m.round, pharmacy=m.pharmacy_a)
        # 16 deliveries of 17 masks = 272 masks: 54 vouchers, 2 masks left.
        services.stock_delivery_record(
            actor=acting(clerk), round=m.round, pharmacy=m.pharmacy_a, quantity=17,
            delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
        )
        return "delivered"

    results = run_parallel(act)
    assert not [r for r in results if isinstance(r, Exception)], results
    stock = PharmacyStock.objects.get(round=m.round, pharmacy=m.pharmacy_a)
    assert (stock.delivered, stock.allocated) == (272, 270)
    vouchers = list(Voucher.objects.filter(round=m.round).order_by("pk").values_list("reservation_id", flat=True))
    assert vouchers == [r.pk for r in queued[:54]]
    assert Reservation.objects.filter(status=ReservationStatus.ISSUED).count() == 54


def test_32_clerks_redeem_one_voucher_exactly_once(world):
    m = build_masks(world, special_share_percent=0)
    r = reserve(m, world.resident_a1b)
    services.stock_delivery_record(
        actor=acting(world.pharmacy_clerk), round=m.round, pharmacy=m.pharmacy_a, quantity=5,
        delivered_at=timezone.now(), idempotency_key="one",
    )
    voucher = Voucher.objects.get()
    shown = holder_id(r)

    def redeem(i):
        return services.voucher_redeem(actor=acting(world.pharmacy_clerk), number=voucher.number, id_number=shown)

    results = run_parallel(redeem)
    ok = [x for x in results if isinstance(x, Voucher)]
    refused = [x for x in results if isinstance(x, ValidationError)]
    assert len(ok) == 1 and len(refused) == CLIENTS - 1, results
    assert all("不能重复购买" in e.messages[0] for e in refused)
    assert Voucher.objects.get().status == VoucherStatus.REDEEMED
    assert PharmacyStock.objects.get(round=m.round, pharmacy=m.pharmacy_a).redeemed == 5


def test_same_delivery_form_sent_32_times_is_recorded_once(world):
    m = build_masks(world, special_share_percent=0)

    def send(i):
        return services.stock_delivery_record(
            actor=acting(world.pharmacy_clerk), round=m.round, pharmacy=m.pharmacy_a, quantity=50,
            delivered_at=timezone.now(), idempotency_key="form-7",
        ).pk

    results = run_parallel(send)
    assert len(set(results)) == 1 and all(isinstance(x, int) for x in results), results
    assert PharmacyStock.objects.get(round=m.round, pharmacy=m.pharmacy_a).delivered == 50


def test_one_phone_reserving_for_many_households_at_once_stops_at_the_limit(world):
    from xiuhua.core.idnumbers import IdType
    from xiuhua.masks.services.reservations import PHONE_ROUND_LIMIT, reservation_submit_resident

    m = build_masks(world)
    people = [new_household(world, name=f"户{i}") for i in range(CLIENTS)]

    def submit(i):
        resident = people[i]
        return reservation_submit_resident(
            round=m.round, phone="13955556666", channel="online", name=resident.name,
            id_type=IdType.RESIDENT_ID, id_number=resident.plain_id, committee=world.committee_a1,
            household=resident.household, address_text="",
        ).reservation.number

    results = run_parallel(submit)
    numbers = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(numbers) == PHONE_ROUND_LIMIT and len(refusals) == CLIENTS - PHONE_ROUND_LIMIT, results
    assert all(e.messages == [f"同一手机号本轮最多预约{PHONE_ROUND_LIMIT}人,如需帮助请联系居委会"] for e in refusals)
    assert Reservation.objects.filter(round=m.round, phone="13955556666").count() == PHONE_ROUND_LIMIT


def test_residents_own_path_at_once_one_reservation_per_person_and_household(world):
    """The one-statement path under a burst: the same person from 16 phones, and 16 members of
    one household from their own phones, at the same moment."""
    from xiuhua.core.idnumbers import IdType
    from xiuhua.masks.services.reservations import reservation_submit_resident

    m = build_masks(world)
    household = new_household(world, name="户主").household
    members = [make_resident(household, f"成员{i}") for i in range(CLIENTS // 2)]

    def submit(i):
        person = world.resident_a1 if i % 2 == 0 else members[i // 2]
        return reservation_submit_resident(
            round=m.round, phone=f"1390000{i:04d}", channel="online", name=person.name,
            id_type=IdType.RESIDENT_ID, id_number=person.plain_id, committee=world.committee_a1,
        ).reservation.number

    results = run_parallel(submit)
    same_person = {results[i] for i in range(0, CLIENTS, 2)}
    assert len(same_person) == 1 and all(isinstance(n, str) for n in same_person), results
    household_refusals = [r for r in results[1::2] if isinstance(r, ValidationError)]
    household_numbers = [r for r in results[1::2] if isinstance(r, str)]
    assert len(household_numbers) == 1 and len(household_refusals) == CLIENTS // 2 - 1, results
    assert all(e.messages == ["本户本轮已有家庭成员预约,如需查询预约号请联系居委会"] for e in household_refusals)
    assert Reservation.objects.filter(round=m.round).count() == 2
    assert Reservation.objects.filter(round=m.round, household=household).count() == 1
