"""Help requests by text message (`求助 ...`) from a roster phone."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.sms.models import OutboundSms
from xiuhua.sms.services import inbound_receive
from xiuhua.testing import acting, make_resident
from xiuhua.tickets import reports, services
from xiuhua.tickets.models import Ticket
from xiuhua.tickets.sms_help import guess_category

pytestmark = pytest.mark.django_db

_ids = iter(range(1, 10**6))


def receive(text, phone="13812345678", received_at=None, message_id=None):
    inbound = inbound_receive(phone=phone, text=text, provider_message_id=message_id or f"h{next(_ids)}",
                              received_at=received_at or timezone.now())
    assert inbound is not None
    return inbound


def reply_of(inbound) -> str:
    return OutboundSms.objects.get(idempotency_key=f"reply:{inbound.pk}").params["content"]


def test_a_dialysis_request_by_sms_is_an_emergency_at_the_senders_household(world):
    sent_at = timezone.now() - dt.timedelta(minutes=3)
    inbound = receive("求助 周三透析,小区封控需要车接送", received_at=sent_at)
    ticket = Ticket.objects.get()
    assert (ticket.source, ticket.category, ticket.urgency, ticket.deadline_class) == (
        "sms", "dialysis", "urgent", "emergency")
    assert (ticket.household, ticket.committee, ticket.requester_phone) == (
        world.household_a1, world.committee_a1, "13812345678")
    assert ticket.received_at == sent_at and ticket.description == "周三透析,小区封控需要车接送"
    assert reply_of(inbound) == f"已收到您的求助,编号{ticket.number}。工作人员会尽快联系您;情况危急请拨打120。"
    # No link message: the reply above is the confirmation.
    assert not OutboundSms.objects.filter(template="XH_TICKET_RECEIVED").exists()


def test_the_answer_is_texted_back_in_full(world):
    receive("ＱＺ　家里没有米了")  # full-width keyword and space
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.urgency, ticket.deadline_class) == ("food", "normal", "help")
    staff = acting(world.staff_a1)
    services.ticket_move(actor=staff, ticket=ticket, action="accept")
    services.ticket_move(actor=staff, ticket=ticket, action="dispatch", committee=world.committee_a1)
    services.ticket_move(actor=staff, ticket=ticket, action="start")
    services.ticket_move(actor=staff, ticket=ticket, action="reply", reply="今天下午4点志愿者送米到门口")
    answer = OutboundSms.objects.get(template="XH_TICKET_REPLY_TEXT")
    assert (answer.phone, answer.text) == (
        "13812345678", f"【绣花针】您的求助{ticket.number}答复:今天下午4点志愿者送米到门口")


def test_unknown_numbers_empty_requests_and_floods_are_answered_and_write_nothing_more(world):
    stranger = receive("求助 需要配药", phone="13999999999")
    assert "未能确认您的住址" in reply_of(stranger)
    empty = receive("求助")
    assert "请在“求助”后写明需要什么帮助" in reply_of(empty)
    assert not Ticket.objects.exists()
    for i in range(3):
        receive(f"求助 需要配药{i}")
    flood = receive("求助 需要配药3")
    assert "已收到多次" in reply_of(flood)
    assert Ticket.objects.count() == 3


def test_the_same_message_delivered_twice_is_one_ticket(world):
    first = receive("求助 急 老伴摔倒了", message_id="provider-1")
    again = inbound_receive(phone="13812345678", text="求助 急 老伴摔倒了", provider_message_id="provider-1",
                            received_at=timezone.now())
    assert again is None or again.pk == first.pk
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.urgency, ticket.deadline_class) == ("elderly_care", "urgent", "help")


def test_a_number_shared_by_two_households_of_one_committee_goes_to_the_committee(world):
    make_resident(world.household_a1b, "张小英", mobile="13812345678")
    receive("求助 停水两天了")
    ticket = Ticket.objects.get()
    assert (ticket.household, ticket.committee, ticket.category) == (None, world.committee_a1, "utilities")


def test_sms_requests_count_in_the_daily_report(world):
    receive("求助 需要配降压药")
    report = reports.daily_report(unit=world.street_a, day=timezone.localdate())
    assert (report.total.received, report.total.received_sms) == (1, 1)


@pytest.mark.parametrize("text, category", [
    ("透析", "dialysis"), ("化疗后发烧", "chemotherapy"), ("老婆待产", "childbirth"), ("伤口需要换药", "wound_care"),
    ("情绪很差想不开", "mental_health"), ("胰岛素用完了", "medicine"), ("燃气没了", "utilities"),
    ("孩子没人照顾", "child_care"), ("想问个事", "other"),
])
def test_categories_from_the_words(text, category):
    assert guess_category(text) == category
