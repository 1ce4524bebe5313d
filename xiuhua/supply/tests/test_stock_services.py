"""Donations, loans and stock: the services' exact outcomes, their audit events and bad input."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.supply.models_stock import Allocation, Donation, Loan, LoanReturn, MoveReason, StockItem, StockMove
from xiuhua.supply.services_stock import (
    donation_allocate,
    donation_left,
    donation_record,
    loan_record,
    loan_return,
    stock_issue,
    stock_item_add,
    stock_receive,
)
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db


def _goods(w, **kw):
    return donation_record(actor=acting(w.staff_a1), unit=w.committee_a1, donor_name="国和超市",
                           donor_kind="organisation", kind="goods",
                           lines=[("口罩", "500", "只"), ("抗原试剂", 40, "盒")], **kw)


def test_stock_receive_and_issue_keep_the_ledger(world):
    staff = acting(world.staff_a1)
    item = stock_item_add(actor=staff, committee=world.committee_a1, name="口罩", unit="只")
    stock_receive(actor=staff, committee=world.committee_a1, item=item, quantity=100, note="区里调拨")
    move = stock_issue(actor=staff, committee=world.committee_a1, item=item, quantity=30,
                       reason=MoveReason.HOUSEHOLD, note="5号302")
    item.refresh_from_db()
    assert item.quantity == 70
    assert (move.delta, move.balance, move.by) == (-30, 70, world.staff_a1)
    assert StockMove.objects.filter(item=item).aggregate(s=Sum("delta"))["s"] == 70
    assert list(AuditEvent.objects.filter(object_id=item.pk, object_type="supply.stockitem")
                .order_by("pk").values_list("action", flat=True)) == ["stock_item_add", "stock_receive", "stock_issue"]


@pytest.mark.parametrize("quantity", [-5, 0, "abc", "", None])
def test_stock_bad_quantities_change_nothing(world, quantity):
    staff = acting(world.staff_a1)
    item = stock_item_add(actor=staff, committee=world.committee_a1, name="口罩")
    events = AuditEvent.objects.count()
    for fn, reason in ((stock_receive, MoveReason.PURCHASE), (stock_issue, MoveReason.HOUSEHOLD)):
        with pytest.raises(ValidationError) as err:
            fn(actor=staff, committee=world.committee_a1, item=item, quantity=quantity, reason=reason, note="x")
        assert err.value.message_dict == {"quantity": ["数量请填正整数"]}
    item.refresh_from_db()
    assert item.quantity == 0 and not StockMove.objects.exists() and AuditEvent.objects.count() == events


def test_issue_more_than_in_stock_is_refused(world):
    staff = acting(world.staff_a1)
    item = stock_item_add(actor=staff, committee=world.committee_a1, name="体温枪", unit="把")
    stock_receive(actor=staff, committee=world.committee_a1, item=item, quantity=3)
    with pytest.raises(ValidationError) as err:
        stock_issue(actor=staff, committee=world.committee_a1, item=item, quantity=4, reason=MoveReason.REQUEST,
                    ref="ticket:1")
    assert err.value.message_dict == {"quantity": ["库存不足:体温枪只剩3把"]}
    item.refresh_from_db()
    assert item.quantity == 3 and StockMove.objects.count() == 1


def test_stock_of_another_committee_is_refused(world):
    item = stock_item_add(actor=acting(world.staff_a2), committee=world.committee_a2, name="口罩")
    with pytest.raises(PermissionDenied):
        stock_receive(actor=acting(world.staff_a1), committee=world.committee_a2, item=item, quantity=5)
    with pytest.raises(ValidationError):
        stock_receive(actor=acting(world.staff_a1), committee=world.committee_a1, item=item, quantity=5)
    with pytest.raises(PermissionDenied):
        stock_item_add(actor=acting(world.volunteer), committee=world.committee_a1, name="口罩")
    assert StockMove.objects.count() == 0


def test_donation_numbers_are_per_unit_and_year(world):
    first, second = _goods(world), _goods(world)
    street = donation_record(actor=acting(world.street_officer), unit=world.street_a, donor_name="李先生",
                             donor_kind="person", donor_phone="138 1234 5678", kind="money", amount="1000.50")
    assert (first.number, second.number, street.number) == (
        f"{first.year}-0001", f"{first.year}-0002", f"{first.year}-0001")
    assert street.amount == Decimal("1000.50") and street.donor_phone == "13812345678"
    assert [(x.item, x.quantity, x.unit) for x in first.lines.all()] == [("口罩", 500, "只"), ("抗原试剂", 40, "盒")]
    event = AuditEvent.objects.get(action="donation_record", object_id=street.pk)
    assert event.detail == {"number": street.number, "kind": "money", "amount": "1000.50", "lines": 0}


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({"kind": "money", "amount": "-3"}, {"amount": ["金额请填大于0的数字,最多两位小数"]}),
    ({"kind": "money", "amount": "1.005"}, {"amount": ["金额请填大于0的数字,最多两位小数"]}),
    ({"kind": "money", "amount": "十元"}, {"amount": ["金额请填数字,最多两位小数,如 500.00"]}),
    ({"kind": "goods", "lines": [("口罩", "-1", "只")]}, {"quantity_0": ["数量请填正整数"]}),
    ({"kind": "goods", "lines": []}, {"lines": ["请至少填写一种物品和数量"]}),
    ({"kind": "money", "amount": "5", "donor_phone": "123"}, {"phone": ["手机号应为11位数字,可不填"]}),
])
def test_bad_donations_change_nothing(world, kwargs, errors):
    with pytest.raises(ValidationError) as err:
        donation_record(actor=acting(world.staff_a1), unit=world.committee_a1, donor_name="王女士",
                        donor_kind="person", **kwargs)
    assert err.value.message_dict == errors
    assert not Donation.objects.exists() and not AuditEvent.objects.filter(action="donation_record").exists()


def test_allocating_goods_into_stock_and_to_a_use(world):
    staff = acting(world.staff_a1)
    donation = _goods(world)
    masks, kits = donation.lines.all()
    donation_allocate(actor=staff, donation=donation, line=masks, quantity=300, to_stock=True)
    donation_allocate(actor=staff, donation=donation, line=kits, quantity=40, note="送给5号楼独居老人")
    item = StockItem.objects.get(committee=world.committee_a1, name="口罩")
    assert (item.quantity, item.unit) == (300, "只")
    move = StockMove.objects.get(item=item)
    assert (move.reason, move.ref, move.delta) == ("donation", f"donation:{donation.pk}", 300)
    left = donation_left(donation)
    assert [(r["received"], r["allocated"], r["left"]) for r in left["lines"]] == [(500, 300, 200), (40, 40, 0)]
    with pytest.raises(ValidationError) as err:
        donation_allocate(actor=staff, donation=donation, line=kits, quantity=1, note="再送")
    assert err.value.message_dict == {"quantity": ["超过剩余数量:抗原试剂还剩0盒"]}
    assert Allocation.objects.count() == 2
    assert AuditEvent.objects.filter(action="donation_allocate", object_id=donation.pk).count() == 2


def test_allocating_money(world):
    staff = acting(world.street_officer)
    donation = donation_record(actor=staff, unit=world.street_a, donor_name="某公司", donor_kind="organisation",
                               kind="money", amount="800")
    donation_allocate(actor=staff, donation=donation, amount="299.99", note="购买消毒液")
    assert donation_left(donation) == {"received": Decimal("800.00"), "allocated": Decimal("299.99"),
                                       "left": Decimal("500.01")}
    with pytest.raises(ValidationError) as err:
        donation_allocate(actor=staff, donation=donation, amount="500.02", note="采购")
    assert err.value.message_dict == {"amount": ["超过剩余金额:还剩500.01元"]}
    # The street puts goods into one of its committees' stock; never another street's.
    goods = donation_record(actor=staff, unit=world.street_a, donor_name="某公司", donor_kind="organisation",
                            kind="goods", lines=[("消毒液", 20, "瓶")])
    with pytest.raises(ValidationError):
        donation_allocate(actor=staff, donation=goods, line=goods.lines.get(), quantity=5, to_stock=True,
                          committee=world.committee_b1)
    donation_allocate(actor=staff, donation=goods, line=goods.lines.get(), quantity=5, to_stock=True,
                      committee=world.committee_a2)
    assert StockItem.objects.get(committee=world.committee_a2, name="消毒液").quantity == 5


def test_committee_cannot_allocate_the_streets_donation(world):
    donation = donation_record(actor=acting(world.street_officer), unit=world.street_a, donor_name="某公司",
                               donor_kind="organisation", kind="money", amount="800")
    with pytest.raises(PermissionDenied):
        donation_allocate(actor=acting(world.staff_a1), donation=donation, amount="1", note="x")
    assert not Allocation.objects.exists()


def test_loan_returned_partly_then_fully_then_not_again(world):
    staff = acting(world.staff_a1)
    today = timezone.localdate()
    loan = loan_record(actor=staff, committee=world.committee_a1, lender_name="张先生", lender_phone="13812345678",
                       item="体温枪", quantity="41", lent_to="国和一村采样点", due_on=str(today + dt.timedelta(days=3)))
    loan_return(actor=staff, loan=loan, quantity=40, returned_by="志愿者小李")
    loan.refresh_from_db()
    assert (loan.returned, loan.outstanding) == (40, 1)
    with pytest.raises(ValidationError) as err:
        loan_return(actor=staff, loan=loan, quantity=2, returned_by="志愿者小李")
    assert err.value.message_dict == {"quantity": ["超过未还数量:还有1件未还"]}
    loan_return(actor=staff, loan=loan, quantity=1, returned_by="采样点负责人")
    with pytest.raises(ValidationError) as err:
        loan_return(actor=staff, loan=loan, quantity=1, returned_by="采样点负责人")
    assert err.value.message_dict == {"quantity": ["已全部归还,不能再登记归还"]}
    loan.refresh_from_db()
    assert loan.returned == 41 and LoanReturn.objects.count() == 2
    assert list(AuditEvent.objects.filter(object_id=loan.pk, object_type="supply.loan").order_by("pk")
                .values_list("action", flat=True)) == ["loan_record", "loan_return", "loan_return"]


def test_bad_loans_change_nothing(world):
    staff = acting(world.staff_a1)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    for kwargs, field in (({"quantity": -1}, "quantity"), ({"due_on": str(yesterday)}, "due_on"),
                          ({"due_on": "明天"}, "due_on"), ({"lent_to": " "}, "lent_to")):
        args = {"lender_name": "张先生", "item": "体温枪", "quantity": 2, "lent_to": "采样点",
                "due_on": str(timezone.localdate())} | kwargs
        with pytest.raises(ValidationError) as err:
            loan_record(actor=staff, committee=world.committee_a1, **args)
        assert list(err.value.message_dict) == [field]
    with pytest.raises(PermissionDenied):
        loan_record(actor=acting(world.staff_a2), committee=world.committee_a1, lender_name="张先生", item="体温枪",
                    quantity=2, lent_to="采样点", due_on=timezone.localdate())
    assert not Loan.objects.exists()
