"""Reserving masks by SMS: `口罩 姓名 证件号 小区 楼号 室号` through the inbound gateway."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from xiuhua.core.idnumbers import guess_id_type
from xiuhua.masks import services
from xiuhua.masks.models import Channel, Reservation, ReservationStatus
from xiuhua.masks.services.reservations import PHONE_ROUND_LIMIT
from xiuhua.masks.sms_channel import parse_sms
from xiuhua.places.models import CompoundType, Kind
from xiuhua.sms.models import InboundSms, OutboundSms
from xiuhua.sms.services import inbound_receive
from xiuhua.testing import acting, unit

from .fixtures import unknown_id

pytestmark = pytest.mark.django_db

_ids = iter(range(1, 10**6))


def receive(text, phone="13812345678", received_at=None):
    inbound = inbound_receive(
        phone=phone,
        text=text,
        provider_message_id=f"t{next(_ids)}",
        received_at=received_at or timezone.now(),
    )
    assert inbound is not None
    return inbound


def reply_of(inbound) -> str:
    return OutboundSms.objects.get(idempotency_key=f"reply:{inbound.pk}").params["content"]


def test_roster_resident_reserves_by_sms_ordered_by_receive_time(world, masks):
    received = timezone.now() - dt.timedelta(minutes=7)
    inbound = receive(f"口罩 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302", received_at=received)
    r = Reservation.objects.get()
    assert r.channel == Channel.SMS and r.status == ReservationStatus.QUEUED
    assert r.household == world.household_a1
    assert r.order_at == received  # the provider's receive time, not the processing time
    text = reply_of(inbound)
    assert text == f"口罩预约成功,预约号{r.number}。到货后将短信通知您到指定药店购买。"
    assert len(text) < 70
    assert inbound.status == InboundSms.Status.HANDLED and inbound.committee == world.committee_a1


@pytest.mark.parametrize(
    "template",
    [
        "口罩 张秀英 {id} 国和一村 5号楼 302",
        "口罩　张秀英　{id}　国和一村　５号楼　３０２",  # full-width spaces and digits
        "  口罩   张秀英    {id}   国和一村   5   302  ",  # extra spaces
        "口罩、张秀英、{id}、国和一村、5幢、302室",
        "口罩,张秀英,{id},国和一村5栋302室。",
        "kz 张秀英 {id} 国和一村5号302",
        "ＫＺ张秀英 {id} 国和一村 5号 302",
        "口罩 310110012001 张秀英 {id} 5 302",  # the committee's short form, compound left out
        "口罩 张秀英 {id} 国和一村 五号楼 三〇二",  # Chinese numerals, as older people type them
        "口罩 张秀英 {id} 国和一村 第5幢 3楼302",  # with the floor said before the room
    ],
)
def test_grammar_variants(world, masks, template):
    inbound = receive(template.format(id=world.resident_a1.plain_id))
    r = Reservation.objects.get()
    assert r.household == world.household_a1, reply_of(inbound)
    assert r.number in reply_of(inbound)


def test_parse_sms():
    parsed = parse_sms("口罩 张三 310110198005170011 国和一村 5号楼 302")
    assert parsed is not None
    assert (parsed.name, parsed.id_number, parsed.address) == ("张三", "310110198005170011", "国和一村 5号楼 302")
    assert parse_sms("口罩 张三") is None
    assert guess_id_type("E12345678") == "passport"
    assert guess_id_type("H12345678") == "hk_macau_permit"
    assert guess_id_type("810000199001011234") == "residence_permit"


def test_sending_again_gives_the_same_reservation(world, masks):
    text = f"口罩 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302"
    receive(text)
    second = receive(text)
    r = Reservation.objects.get()
    assert reply_of(second) == f"您本轮已预约,预约号{r.number},无需重复发送。"


def test_person_not_in_roster_goes_to_verification(world, masks):
    inbound = receive(f"口罩 陈路人 {unknown_id()} 国和一村 5号楼 909", phone="13955556666")
    r = Reservation.objects.get()
    assert r.status == ReservationStatus.VERIFYING and r.committee == world.committee_a1
    assert r.address_text == "国和一村5号909室"
    text = reply_of(inbound)
    # One reply for every entry that waits, whatever the reason, so without the number.
    assert text == "已收到登记,需居委会核实后生效。如有疑问请致电居委会。" and r.number not in text


@pytest.mark.parametrize(
    "text, reason",
    [
        ("口罩 张秀英", "格式"),
        ("口罩 张秀英 310110198005170012 国和一村 5号楼 302", "校验位不正确"),
        ("口罩 张秀英 {id} 不存在小区 5号楼 302", "未找到该小区"),
        ("口罩 张秀英 {id} 国和一村 99号楼 302", "没有99号楼这个楼号"),
        ("口罩 999999999999 张秀英 {id} 国和一村 5 302", "居委会代码不正确"),
    ],
)
def test_bad_messages_get_a_reason_and_write_nothing(world, masks, text, reason):
    inbound = receive(text.format(id=world.resident_a1.plain_id))
    assert reason in reply_of(inbound)
    assert not Reservation.objects.exists()


def test_ambiguous_compound_asks_for_the_short_form(world, masks):
    twin = unit(Kind.COMPOUND, "国和一村", world.committee_b1, compound_type=CompoundType.OPEN)
    unit(Kind.BUILDING, "5号", twin)
    inbound = receive(f"口罩 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302")
    text = reply_of(inbound)
    assert "重名" in text and "居委会代码" in text
    assert not Reservation.objects.exists()
    # The short form with the committee's code settles it.
    receive(f"口罩 {world.committee_a1.code} 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302")
    assert Reservation.objects.get().household == world.household_a1


def test_closed_round_is_refused(world, masks):
    services.round_close(actor=acting(world.district_officer), round=masks.round)
    inbound = receive(f"口罩 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302")
    assert "已截止" in reply_of(inbound)
    assert not Reservation.objects.exists()


def test_message_received_before_the_deadline_counts_after_closing(world, masks):
    received = timezone.now() - dt.timedelta(minutes=1)
    services.round_close(actor=acting(world.district_officer), round=masks.round)
    masks.round.refresh_from_db()
    assert masks.round.closes_at > received  # closing moved the deadline to now
    inbound = receive(f"口罩 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302", received_at=received)
    assert Reservation.objects.get().order_at == received
    assert "预约成功" in reply_of(inbound)


def test_one_phone_is_limited_per_round(world, masks):
    phone = "13955557777"
    for i in range(PHONE_ROUND_LIMIT):
        receive(f"口罩 陈路人 {unknown_id()} 国和一村 5号楼 90{i}", phone=phone)
    inbound = receive(f"口罩 陈路人 {unknown_id()} 国和一村 5号楼 999", phone=phone)
    assert f"最多预约{PHONE_ROUND_LIMIT}人" in reply_of(inbound)
    assert Reservation.objects.count() == PHONE_ROUND_LIMIT


def test_sms_receive_command_goes_through_the_handler(world, masks):
    out = io.StringIO()
    call_command(
        "sms_receive", "13812345678", f"口罩 张秀英 {world.resident_a1.plain_id} 国和一村 5号楼 302", stdout=out
    )
    r = Reservation.objects.get()
    assert r.channel == Channel.SMS
    assert r.number in out.getvalue()
    assert "口罩" in out.getvalue()


def test_bare_keyword_gets_the_format(world, masks):
    inbound = receive("口罩")
    assert "格式:口罩 姓名 证件号 小区 楼号 室号" in reply_of(inbound)
    assert inbound.handler == "masks.reserve"
    assert not Reservation.objects.exists()


@pytest.mark.parametrize(
    "template",
    [
        "口罩 张秀英 {id} 国和一村 5号楼 302 张秀英",  # signed with the name
        "口罩 张秀英 {id} 国和一村 5号楼 302 谢谢!",
        "口罩 张秀英 {id} 国和一村 5号楼 302室 谢谢 13812345678",
        "口罩,张秀英,{id},国和一村5号楼302室,谢谢。",
        "口罩 张秀英 {id} 国和一村5号楼302室谢谢",
        "口罩 张秀英 {id} 国和一村 5 302 李四代发",  # words with a Chinese numeral in them
        "口罩 310110012001 张秀英 {id} 5 302 王五",  # the short form, signed
    ],
)
def test_words_after_a_complete_address_are_ignored(world, masks, template):
    inbound = receive(template.format(id=world.resident_a1.plain_id))
    r = Reservation.objects.get()
    assert r.household == world.household_a1, reply_of(inbound)
    assert reply_of(inbound) == f"口罩预约成功,预约号{r.number}。到货后将短信通知您到指定药店购买。"


@pytest.mark.parametrize(
    "text",
    [
        "口罩 张秀英 {id} 国和一村 5号楼",
        "口罩 张秀英 {id} 国和一村 5号楼 谢谢",  # the word is not taken for the room
        "口罩 张秀英 {id} 国和一村 谢谢 302",
        "口罩 张秀英 {id} 国和一村 5号楼谢谢",
    ],
)
def test_an_incomplete_address_is_still_refused(world, masks, text):
    inbound = receive(text.format(id=world.resident_a1.plain_id))
    assert reply_of(inbound).startswith("地址不完整。")
    assert not Reservation.objects.exists()
