"""Check-in SMS: sent at each contact time; the reply is parsed and recorded as that contact."""

from decimal import Decimal

import pytest

from xiuhua.isolation.models import Alert, AlertKind, Contact, ContactOutcome
from xiuhua.isolation.sms_checkin import parse_reading, send_due_checkins
from xiuhua.sms.models import OutboundSms
from xiuhua.sms.services import inbound_receive

from .test_services import at, open_case

pytestmark = pytest.mark.django_db

PHONE = "13911112222"  # the arrival's phone in test_services.register
_ids = iter(range(1, 10**6))


def receive(text, received_at, phone=PHONE):
    inbound = inbound_receive(phone=phone, text=text, provider_message_id=f"c{next(_ids)}", received_at=received_at)
    assert inbound is not None
    return OutboundSms.objects.get(idempotency_key=f"reply:{inbound.pk}").params["content"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("36.5", ("36.5", "")),
        ("体温 36.8", ("36.8", "")),
        ("ＴＷ：３７.６ 咳嗽", ("37.6", "咳嗽")),
        ("37.6度,咳嗽,乏力。", ("37.6", "咳嗽,乏力")),
        ("36", ("36", "")),
        ("3456", None),
        ("好的", None),
    ],
)
def test_parse_reading(text, expected):
    import unicodedata

    assert parse_reading(unicodedata.normalize("NFKC", text)) == expected


def test_checkins_are_sent_once_when_due(world):
    case = open_case(world)
    assert send_due_checkins(now=at(10, 16, 1)) == 1
    assert send_due_checkins(now=at(10, 16, 6)) == 0
    sms = OutboundSms.objects.get(purpose="isolation_checkin")
    assert (sms.phone, sms.params) == (PHONE, {"name": "周来沪"})
    assert Contact.objects.get(case=case, checkin_sent_at__isnull=False).due_at == at(10, 16)


def test_a_reply_is_recorded_on_the_due_contact(world):
    case = open_case(world)
    reply = receive("体温 36.5", at(10, 16, 20))
    assert reply == "已记录体温36.5℃,谢谢配合。"
    contact = Contact.objects.get(case=case, due_at=at(10, 16))
    assert (contact.outcome, contact.temperature, contact.via, contact.recorded_at) == (
        ContactOutcome.WELL, Decimal("36.5"), "sms", at(10, 16, 20))
    # A reply an hour before the next contact counts for it.
    receive("36.7", at(11, 8))
    assert Contact.objects.get(case=case, due_at=at(11, 9)).outcome == ContactOutcome.WELL
    # Nothing due: thanked, nothing written.
    assert receive("36.6", at(11, 10)) == "已收到。下次联系时会再发短信提醒您。"
    assert Contact.objects.filter(case=case).exclude(outcome="").count() == 2


def test_fever_reply_raises_one_alert_with_both_reasons(world):
    case = open_case(world)
    reply = receive("37.6 咳嗽", at(10, 16, 20))
    assert reply.startswith("已记录体温37.6℃。居委会和社区卫生服务中心会尽快与您联系")
    assert Contact.objects.get(case=case, due_at=at(10, 16)).outcome == ContactOutcome.UNWELL
    assert list(Alert.objects.values_list("kind", "reasons")) == [(AlertKind.FEVER, ["fever", "symptoms"])]


def test_unknown_phone_and_bad_text_write_nothing(world):
    open_case(world)
    assert receive("36.5", at(10, 16, 20), phone="13600009999") == "未找到您的居家隔离记录,如需帮助请联系居委会。"
    assert "已记录" not in receive("体温 正常", at(10, 16, 20))  # no reading: the generic help answers
    assert not Contact.objects.exclude(outcome="").exists()
