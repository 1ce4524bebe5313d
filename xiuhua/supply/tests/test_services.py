"""Group buying's services: exact outcomes, audit events, and bad input that changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiuhua.core.models import AuditEvent
from xiuhua.sms.models import OutboundSms
from xiuhua.supply import services
from xiuhua.supply.models import (
    Ban,
    ComplaintStatus,
    DocKind,
    Document,
    Filing,
    FilingStatus,
    Leader,
    LeaderStatus,
    ReferencePrice,
)
from xiuhua.testing import acting

from .conftest import LEADER_PHONE, NOW, add_documents, filing_data

pytestmark = pytest.mark.django_db


def events(prefix="groupbuy_"):
    return list(AuditEvent.objects.filter(action__startswith=prefix).order_by("pk").values_list("action", flat=True))


def test_a_resident_applies_by_phone_and_the_committee_approves(world):
    leader = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE, note="6号楼")
    assert (leader.status, leader.compound, leader.committee, leader.entered_by) == (
        LeaderStatus.APPLIED, world.compound_a1, world.committee_a1, None)
    assert leader.name_masked == "李**"
    services.leader_decide(actor=acting(world.staff_a1), leader=leader, action="approve")
    leader.refresh_from_db()
    assert leader.status == LeaderStatus.APPROVED
    assert events() == ["groupbuy_leader_apply", "groupbuy_leader_approve"]
    assert list(services.leaders_for_phone(LEADER_PHONE)) == [leader]


def test_an_application_for_someone_elses_phone_or_twice_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.leader_apply(actor=None, resident=world.resident_a1b, phone="13812345678")
    services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    with pytest.raises(ValidationError) as refused:
        services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    assert refused.value.messages == ["已经提交过申请(待审核),不必重复申请"]
    with pytest.raises(PermissionDenied):  # another committee's staff
        services.leader_apply(actor=acting(world.staff_a2), resident=world.resident_a1)
    assert Leader.objects.count() == 1


def test_a_refusal_needs_a_reason(world):
    leader = services.leader_apply(actor=acting(world.staff_a1), resident=world.resident_a1)
    assert leader.entered_by == world.staff_a1
    with pytest.raises(ValidationError) as refused:
        services.leader_decide(actor=acting(world.staff_a1), leader=leader, action="refuse")
    assert refused.value.message_dict == {"reason": ["请填写不批准的理由"]}
    services.leader_decide(actor=acting(world.staff_a1), leader=leader, action="refuse", reason="家中有隔离人员")
    leader.refresh_from_db()
    assert (leader.status, leader.reason) == (LeaderStatus.REFUSED, "家中有隔离人员")


def test_documents_expire_by_their_own_dates(leader):
    test = services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=DocKind.DRIVER_TEST,
                                 number="HS1", holder="王师傅", taken_at=NOW - dt.timedelta(hours=47), now=NOW)
    assert test.expires_at == NOW + dt.timedelta(hours=1)
    assert test.valid(NOW) and not test.valid(NOW + dt.timedelta(hours=1))
    permit = services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=DocKind.FOOD_PERMIT,
                                   number="JY1", holder="鲜达", valid_until=dt.date(2022, 4, 20), now=NOW)
    # The end of its printed day in Beijing: 2022-04-20 24:00 +08:00.
    assert permit.expires_at == dt.datetime(2022, 4, 20, 16, 0, tzinfo=dt.UTC)


def test_an_expired_document_is_refused_and_nothing_written(leader):
    with pytest.raises(ValidationError) as refused:
        services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=DocKind.DRIVER_TEST,
                              number="HS1", holder="王师傅", taken_at=NOW - dt.timedelta(hours=49), now=NOW)
    assert refused.value.message_dict == {"taken_at": ["该证件已于2022-04-20 09:00过期,请提供有效的证件"]}
    assert Document.objects.count() == 0


def test_a_filing_with_an_expired_driver_test_is_refused_and_says_so(leader):
    add_documents(leader, now=NOW - dt.timedelta(hours=40), taken=dt.timedelta(hours=10))
    with pytest.raises(ValidationError) as refused:
        services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(), now=NOW)
    assert refused.value.messages == ["证件不全或已过期,不能报备:司机核酸阴性证明(HS001)已于2022-04-20 08:00过期"]
    assert Filing.objects.count() == 0


def test_a_filing_needs_the_named_drivers_test(documented):
    with pytest.raises(ValidationError) as refused:
        services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented,
                               data=filing_data(driver_name="刘师傅"), now=NOW)
    assert refused.value.messages == ["证件不全或已过期,不能报备:缺少司机刘师傅的核酸阴性证明"]


def test_a_leader_files_and_a_price_above_the_reference_is_flagged(prices, documented):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    assert (filing.status, filing.committee, filing.supplier_key, filing.number) == (
        FilingStatus.SUBMITTED, prices.committee_a1, "上海鲜达食品", f"TG{filing.pk:06d}")
    eggs, bundle = filing.items.all()
    # 36 yuan for 30 eggs is 1.20 each: above 1.00 + 10%.
    assert (eggs.unit_price, eggs.reference_price, eggs.allowed_share, eggs.flagged) == (
        Decimal("1.20"), Decimal("1.00"), Decimal("10.00"), True)
    assert (bundle.contents, bundle.reference_price, bundle.flagged) == ("土豆 1kg\n青菜 500g\n胡萝卜 1kg", None, False)
    assert filing.flagged
    assert filing.documents.count() == 4
    event = AuditEvent.objects.get(action="groupbuy_filing_submit")
    assert event.detail == {"items": 2, "flagged": 1, "by_staff": False}


def test_the_street_share_and_a_later_price_change_the_flag(prices, documented):
    street = acting(prices.street_officer)
    services.price_rule_set(actor=street, street=prices.street_a, share="25")
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    assert filing.items.get(name="鸡蛋").flagged is False
    # A higher price from tomorrow is history for today's filing.
    services.reference_price_set(actor=street, street=prices.street_a, name="鸡蛋", unit="枚", price="0.8",
                                 effective_from=dt.date(2022, 4, 19))
    assert ReferencePrice.objects.count() == 2
    second = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    assert second.items.get(name="鸡蛋").flagged is True


def test_a_committee_cannot_set_reference_prices(world):
    with pytest.raises(PermissionDenied):
        services.reference_price_set(actor=acting(world.staff_a1), street=world.street_a, name="鸡蛋", unit="枚",
                                     price="1", effective_from=dt.date(2022, 4, 1))
    with pytest.raises(PermissionDenied):
        services.reference_price_set(actor=acting(world.street_officer_b), street=world.street_a, name="鸡蛋",
                                     unit="枚", price="1", effective_from=dt.date(2022, 4, 1))
    assert ReferencePrice.objects.count() == 0


def test_bad_items_are_refused(documented):
    cases = [
        ([], "请至少填写一种商品"),
        ([{"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": "88"}], "第1行:套餐须列明所含每一样商品"),
        ([{"name": "鸡蛋", "unit": "枚", "pack_quantity": "30", "price": "abc"}], "第1行:价格须是数字"),
        ([{"name": "鸡蛋", "unit": "枚", "pack_quantity": "0", "price": "3"}], "第1行:每份数量须大于0"),
    ]
    for items, message in cases:
        with pytest.raises(ValidationError) as refused:
            services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented,
                                   data=filing_data(items=items), now=NOW)
        assert refused.value.message_dict == {"items": [message]}
    assert Filing.objects.count() == 0


def test_a_banned_supplier_or_leader_cannot_file(world, documented):
    staff = acting(world.staff_a2)  # another committee of the same street bans: street-wide
    ban = services.ban_add(actor=staff, kind="supplier", supplier="上海 鲜达食品", licence="", reason="缺斤少两")
    with pytest.raises(ValidationError) as refused:
        services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    assert refused.value.message_dict == {
        "supplier": ["供货商“上海 鲜达食品”已被街道列入禁入名单(缺斤少两),不能报备"]}
    services.ban_lift(actor=staff, ban=ban)
    services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    services.ban_add(actor=acting(world.staff_a1), kind="leader", leader=documented, reason="哄抬价格")
    with pytest.raises(ValidationError) as refused:
        services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    assert refused.value.messages == ["该团长已被街道列入禁入名单(哄抬价格),不能报备"]
    assert Filing.objects.count() == 1
    # Seen street-wide, not in street B.
    assert Ban.objects.visible_to(acting(world.staff_a2)).count() == 2
    assert Ban.objects.visible_to(acting(world.street_officer)).count() == 2
    assert Ban.objects.visible_to(acting(world.street_officer_b)).count() == 0


def test_another_phone_cannot_file_for_the_leader(documented):
    with pytest.raises(PermissionDenied):
        services.filing_submit(actor=None, phone="13812345678", leader=documented, data=filing_data(), now=NOW)
    assert Filing.objects.count() == 0


def test_review_request_changes_resubmit_approve(world, documented):
    staff = acting(world.staff_a1)
    filing = services.filing_submit(actor=staff, leader=documented, data=filing_data(), now=NOW)
    assert filing.entered_by == world.staff_a1
    with pytest.raises(ValidationError):
        services.filing_decide(actor=staff, filing=filing, action="request_changes")
    services.filing_decide(actor=staff, filing=filing, action="request_changes", reason="鸡蛋价格偏高")
    filing.refresh_from_db()
    assert (filing.status, filing.reason) == (FilingStatus.CHANGES_REQUESTED, "鸡蛋价格偏高")
    sms = OutboundSms.objects.get(purpose="groupbuy_decided")
    text = f"【绣花针】您的团购报备{filing.number}审核结果:需修改。意见:鸡蛋价格偏高"
    assert (sms.phone, sms.text) == (LEADER_PHONE, text)
    later = NOW + dt.timedelta(hours=1)
    items = [{"name": "鸡蛋", "unit": "枚", "pack_quantity": "30", "price": "30"}]
    services.filing_resubmit(actor=None, phone=LEADER_PHONE, filing=filing, data=filing_data(items=items), now=later)
    filing.refresh_from_db()
    assert (filing.status, filing.submitted_at, filing.items.count()) == (FilingStatus.SUBMITTED, later, 1)
    with pytest.raises(PermissionDenied):  # another committee
        services.filing_decide(actor=acting(world.staff_a2), filing=filing, action="approve")
    services.filing_decide(actor=staff, filing=filing, action="approve")
    filing.refresh_from_db()
    assert filing.status == FilingStatus.APPROVED
    assert events("groupbuy_filing") == ["groupbuy_filing_submit", "groupbuy_filing_request_changes",
                                         "groupbuy_filing_resubmit", "groupbuy_filing_approve"]


def test_an_unanswered_filing_is_escalated_once_after_two_hours(world, documented):
    world.staff_a1.mobile = "13700009999"
    world.staff_a1.save(update_fields=["mobile"])
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    assert services.filings_escalate(now=NOW + dt.timedelta(hours=1, minutes=59)) == 0
    assert services.filings_escalate(now=NOW + dt.timedelta(hours=2)) == 1
    assert services.filings_escalate(now=NOW + dt.timedelta(hours=3)) == 0
    sms = OutboundSms.objects.get(purpose="groupbuy_escalate")
    text = f"【绣花针】团购报备{filing.number}(国和一村)已等待2小时未审核,请尽快处理。"
    assert (sms.phone, sms.text) == ("13700009999", text)
    filing.refresh_from_db()
    assert filing.escalated_at == NOW + dt.timedelta(hours=2)
    assert AuditEvent.objects.get(action="groupbuy_filing_escalate").detail == {"texted": 1}


def test_a_decided_filing_is_not_escalated(world, documented):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve")
    assert services.filings_escalate(now=NOW + dt.timedelta(hours=3)) == 0


def test_complaints_by_phone_and_handled(world, documented):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    with pytest.raises(PermissionDenied):  # not a resident of this committee
        services.complaint_file(actor=None, phone="13700001111", filing=filing, kind="weight", text="少了半斤")
    complaint = services.complaint_file(actor=None, phone="13812345678", filing=filing, kind="weight",
                                        text="鸡蛋少了3枚")
    with pytest.raises(ValidationError):
        services.complaint_handle(actor=acting(world.staff_a1), complaint=complaint, outcome="")
    services.complaint_handle(actor=acting(world.staff_a1), complaint=complaint, outcome="团长已补齐")
    complaint.refresh_from_db()
    assert (complaint.status, complaint.outcome) == (ComplaintStatus.HANDLED, "团长已补齐")
    assert events("groupbuy_complaint") == ["groupbuy_complaint_file", "groupbuy_complaint_handle"]
