"""Antigen results by SMS keyword: `抗原 阴性` for the sender, `抗原 阳性 张三` for a named member,
`抗原 阴性 全家` for the household; unknown numbers, names and shared phones are answered and
write nothing."""

import pytest
from django.utils import timezone

from xiuhua.antigen.models import AntigenReport
from xiuhua.sms.models import OutboundSms
from xiuhua.sms.services import inbound_receive
from xiuhua.testing import make_resident

pytestmark = pytest.mark.django_db

_ids = iter(range(1, 10**6))


def receive(text, phone="13812345678"):
    inbound = inbound_receive(phone=phone, text=text, provider_message_id=f"ag{next(_ids)}",
                              received_at=timezone.now())
    assert inbound is not None
    return OutboundSms.objects.get(idempotency_key=f"reply:{inbound.pk}").params["content"]


def results():
    return sorted(AntigenReport.objects.values_list("resident__name", "result", "channel"))


def test_the_sender_reports_for_themself(family):
    assert receive("抗原 阴性") == "已收到1人今日抗原结果(阴性)。"
    assert results() == [("张秀英", "negative", "sms")]


def test_a_named_member_and_the_whole_household(family):
    reply = receive("抗原  阳性 张小明", phone="13912340001")  # the son's phone names his son
    assert reply == "已收到1人今日抗原结果(阳性)。请全家留在家中不要外出,居委会将联系您并安排上门核酸单管复核。"
    assert OutboundSms.objects.filter(template="XH_ANTIGEN_POSITIVE").count() == 1
    # "All negative" would hide the grandson's positive: the whole message is refused.
    assert receive("ＫＹ　阴性　全家") == "未能上报:张**今天已上报阳性,如报错请联系居委会更正"
    assert results() == [("张小明", "positive", "sms")]
    assert receive("抗原 阴性 全家", phone="13700001111") == "已收到1人今日抗原结果(阴性)。"  # 王芳, alone
    assert results() == [("张小明", "positive", "sms"), ("王芳", "negative", "sms")]


def test_refusals_are_answered_and_write_nothing(family, world):
    assert receive("抗原 弱阳") == "请按格式回复:抗原 阴性(本人),抗原 阳性 张三(家庭成员),或 抗原 阴性 全家。"
    assert receive("抗原 阴性 王五") == "您家中没有登记名为“王五”的在住人员,请核对姓名后重发。"
    assert receive("抗原 阴性", phone="13999999999") == (
        "未能确认您的住址:本手机号不在居委会花名册上,请联系居委会或楼组长代为上报。")
    # An elderly couple sharing one phone: without a name it is ambiguous.
    make_resident(world.household_a1b, "李阿婆", sex="F", mobile="13812340000", relation="spouse")
    assert receive("抗原 阴性", phone="13812340000") == (
        "本手机号登记了多位家庭成员,请写明姓名,如:抗原 阴性 张三,或 抗原 阴性 全家。")
    assert results() == []
