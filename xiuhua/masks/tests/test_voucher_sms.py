"""Issuing texts each holder with a mobile their voucher: one SMS per voucher, queued in the
outbox in the issuing transaction, with bulk INSERTs however many vouchers there are."""

import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xiuhua.core.idnumbers import IdType
from xiuhua.masks import services
from xiuhua.masks.codes import format_voucher_number
from xiuhua.masks.models import Channel, Voucher
from xiuhua.sms.models import OutboundSms
from xiuhua.sms.texts import segments
from xiuhua.testing import acting

from .fixtures import new_household, reserve

pytestmark = pytest.mark.django_db


def deliver(m, quantity, now=None):
    return services.stock_delivery_record(
        actor=acting(m.clerk_a), round=m.round, pharmacy=m.pharmacy_a, quantity=quantity,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex, now=now,
    )


def test_each_holder_with_a_mobile_gets_one_text_with_the_exact_words(world, masks):
    online = reserve(masks, world.resident_a1, phone="13812345678")
    other = reserve(masks, world.resident_a1b, phone="13812340000")
    # A desk entry without a phone: a voucher, and no text.
    desk = new_household(world, name="孙丽")
    services.reservation_submit(
        actor=acting(world.staff_a1), round=masks.round, channel=Channel.DESK, name=desk.name,
        id_type=IdType.RESIDENT_ID, id_number=desk.plain_id, phone="",
    )
    deliver(masks, 15)
    assert Voucher.objects.count() == 3
    texts = {sms.phone: sms for sms in OutboundSms.objects.filter(template="XH_MASK_VOUCHER")}
    assert set(texts) == {"13812345678", "13812340000"}
    sign = f"【{settings.SMS_SIGN_NAME}】" if settings.SMS_SIGN_NAME else ""
    for reservation in (online, other):
        voucher = Voucher.objects.get(reservation=reservation)
        local = timezone.localtime(voucher.expires_at)
        until = f"{local.month}月{local.day}日{local:%H:%M}"
        sms = texts[reservation.phone]
        assert sms.text == (f"{sign}口罩购买凭证{format_voucher_number(voucher.number)}已发放,"
                            f"请于{until}前凭证件到国和药房(国和路1号)购买。")
        assert (sms.purpose, sms.committee_id, sms.status, sms.idempotency_key) == (
            "mask_voucher", world.committee_a1.pk, "queued", f"mask_voucher:{voucher.number}")
        assert segments(sms.text) == 1


def test_hundreds_of_vouchers_are_queued_with_one_bulk_insert(world, masks):
    from xiuhua.masks.models import Reservation

    for i in range(300):
        reserve(masks, new_household(world, name=f"居民{i}"), phone=f"1391000{i:04d}")
    assert Reservation.objects.count() == 300
    with CaptureQueriesContext(connection) as queries:
        deliver(masks, 300 * masks.round.masks_per_household)
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith("INSERT") and "sms_outboundsms" in q["sql"]]
    # One multi-row INSERT (SQLite splits it by its 999-parameter limit: 6 statements), not 300.
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 6)
    assert OutboundSms.objects.filter(template="XH_MASK_VOUCHER").count() == Voucher.objects.count() == 300


def test_no_text_is_left_when_the_issue_rolls_back(world, masks):
    reserve(masks, world.resident_a1, phone="13812345678")
    with pytest.raises(RuntimeError), transaction.atomic():
        deliver(masks, 5)
        assert OutboundSms.objects.filter(template="XH_MASK_VOUCHER").count() == 1
        raise RuntimeError("rolled back")
    assert not OutboundSms.objects.filter(template="XH_MASK_VOUCHER").exists()
