"""Writes for donations, loans and stock: each checks access through core.access, runs in one
transaction and writes its audit event there.

Other modules draw on a committee's stock through `stock_issue(actor=…, committee=…, item=…,
quantity=…, reason=…, ref=…)` (the isolation kit step: reason "isolation_kit", ref
"isolation_case:<pk>"; a request: reason "request", ref "ticket:<pk>").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_unit
from xiuhua.core.audit import audit
from xiuhua.core.phones import normalise_mobile
from xiuhua.places.models import Kind, OrgUnit

from .models_stock import (
    ISSUE_REASONS,
    RECEIPT_REASONS,
    Allocation,
    Donation,
    DonationLine,
    Loan,
    LoanReturn,
    MoveReason,
    StockItem,
    StockMove,
)


def _committee_of(unit: OrgUnit) -> int | None:
    return unit.pk if unit.kind == Kind.COMMITTEE else None


def _positive_int(value, field: str, message: str | None = None) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: message or _("数量请填正整数")}) from None
    if number <= 0:
        raise ValidationError({field: message or _("数量请填正整数")})
    if number > 1_000_000:
        raise ValidationError({field: _("数量太大,请核对")})
    return number


def _money(value, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("金额请填数字,最多两位小数,如 500.00")}) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: _("金额请填大于0的数字,最多两位小数")})
    if amount >= Decimal("10000000000"):
        raise ValidationError({field: _("金额太大,请核对")})
    return amount.quantize(Decimal("0.01"))


def _text(value, field: str, message: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: message})
    if len(text) > limit:
        raise ValidationError({field: _("内容太长,最多%(n)s个字") % {"n": limit}})
    return text


def _phone(value) -> str:
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        return normalise_mobile(raw)
    except ValueError:
        raise ValidationError({"phone": _("手机号应为11位数字,可不填")}) from None


def _require_committee(committee: OrgUnit) -> None:
    if committee.kind != Kind.COMMITTEE:
        raise ValidationError({"committee": _("库存按居委会登记,请选择居委会")})


# Stock


@transaction.atomic
def stock_item_add(*, actor, committee: OrgUnit, name: str, unit: str = "个") -> StockItem:
    """A new kind of supply in the committee's stock, at zero."""
    access_unit(actor, committee, Cap.MANAGE_DONATIONS)
    _require_committee(committee)
    name = _text(name, "name", _("请填写物品名称"), 40)
    unit = _text(unit or "个", "unit", _("请填写单位"), 10)
    if StockItem.objects.filter(committee=committee, name=name).exists():
        raise ValidationError({"name": _("本居委会已有这种物品")})
    item = StockItem.objects.create(committee=committee, name=name, unit=unit)
    audit(actor=actor, action="stock_item_add", obj=item, committee_id=committee.pk, subject_label=name)
    return item


def _move(*, actor, item: StockItem, delta: int, reason: str, ref: str, note: str, now) -> StockMove:
    balance = StockItem.objects.values_list("quantity", flat=True).get(pk=item.pk)
    item.quantity = balance
    move = StockMove.objects.create(
        item=item, committee_id=item.committee_id, delta=delta, balance=balance, reason=reason,
        ref=(ref or "")[:60], note=(note or "").strip()[:200], by=actor if actor and actor.pk else None, at=now,
    )
    audit(actor=actor, action="stock_receive" if delta > 0 else "stock_issue", obj=item,
          committee_id=item.committee_id, subject_label=item.name,
          detail={"delta": delta, "balance": balance, "reason": reason, "ref": move.ref})
    return move


@transaction.atomic
def stock_receive(*, actor, committee: OrgUnit, item: StockItem, quantity, reason: str = MoveReason.PURCHASE,
                  ref: str = "", note: str = "", now: dt.datetime | None = None) -> StockMove:
    """Units into the committee's stock (a purchase, a donation's allocation)."""
    access_unit(actor, committee, Cap.MANAGE_DONATIONS)
    if item.committee_id != committee.pk:
        raise ValidationError({"item": _("这种物品不属于本居委会的库存")})
    if reason not in RECEIPT_REASONS:
        raise ValidationError({"reason": _("请选择入库来源")})
    n = _positive_int(quantity, "quantity")
    StockItem.objects.filter(pk=item.pk).update(quantity=F("quantity") + n)
    return _move(actor=actor, item=item, delta=n, reason=reason, ref=ref, note=note, now=now or timezone.now())


def _take(*, actor, item: StockItem, n: int, reason: str, ref: str, note: str, now) -> StockMove:
    taken = StockItem.objects.filter(pk=item.pk, quantity__gte=n).update(quantity=F("quantity") - n)
    if not taken:
        left = StockItem.objects.values_list("quantity", flat=True).get(pk=item.pk)
        raise ValidationError({"quantity": _("库存不足:%(name)s只剩%(left)s%(unit)s") % {
            "name": item.name, "left": left, "unit": item.unit}})
    return _move(actor=actor, item=item, delta=-n, reason=reason, ref=ref, note=note, now=now)


@transaction.atomic
def stock_issue(*, actor, committee: OrgUnit, item: StockItem, quantity, reason: str, ref: str = "",
                note: str = "", now: dt.datetime | None = None) -> StockMove:
    """Units out of the committee's stock, to a household, a home-isolation kit or a request.
    One conditional UPDATE: of parallel issues of the last units, exactly those that fit succeed."""
    access_unit(actor, committee, Cap.MANAGE_DONATIONS)
    if item.committee_id != committee.pk:
        raise ValidationError({"item": _("这种物品不属于本居委会的库存")})
    if reason not in ISSUE_REASONS:
        raise ValidationError({"reason": _("请选择发放去向")})
    n = _positive_int(quantity, "quantity")
    if not (note or "").strip() and reason in (MoveReason.HOUSEHOLD, MoveReason.OTHER) and not ref:
        raise ValidationError({"note": _("请写明发给谁或用途")})
    return _take(actor=actor, item=item, n=n, reason=reason, ref=ref, note=note, now=now or timezone.now())


@transaction.atomic
def stock_kit_set(*, actor, item: StockItem, kit_quantity) -> StockItem:
    """How many of the item go into one home-isolation kit (0 takes it out of the kit)."""
    access_unit(actor, item.committee, Cap.MANAGE_DONATIONS)
    try:
        n = int(str(kit_quantity).strip())
    except (TypeError, ValueError):
        raise ValidationError({"kit_quantity": _("防疫包数量请填0或正整数")}) from None
    if not 0 <= n <= 1000:
        raise ValidationError({"kit_quantity": _("防疫包数量请填0或正整数")})
    StockItem.objects.filter(pk=item.pk).update(kit_quantity=n)
    item.kit_quantity = n
    audit(actor=actor, action="stock_kit_set", obj=item, committee_id=item.committee_id, subject_label=item.name,
          detail={"kit_quantity": n})
    return item


@transaction.atomic
def stock_issue_kit(*, actor, committee: OrgUnit, ref: str, now: dt.datetime | None = None) -> list[StockMove]:
    """One home-isolation kit out of the committee's stock: each item whose kit quantity is set,
    reason "isolation_kit". Called by the isolation door-visit step inside its own transaction, so
    a shortage refuses the step; nothing when the committee has not set up a kit."""
    access_unit(actor, committee, Cap.MANAGE_ISOLATION)
    now = now or timezone.now()
    moves = []
    for item in StockItem.objects.filter(committee=committee, kit_quantity__gt=0).order_by("name"):
        try:
            moves.append(_take(actor=actor, item=item, n=item.kit_quantity, reason=MoveReason.ISOLATION_KIT,
                               ref=ref, note=_("居家隔离防疫包"), now=now))
        except ValidationError as exc:
            raise ValidationError({"kit_given": _("防疫包物资不足,请先入库:") + exc.messages[0]}) from None
    return moves


# Donations


@transaction.atomic
def donation_record(*, actor, unit: OrgUnit, donor_name: str, donor_kind: str, donor_phone: str = "",
                    kind: str, amount=None, lines: list[tuple[str, object, str]] | None = None,
                    note: str = "", received_at: dt.datetime | None = None) -> Donation:
    """A donation received by a committee or a street; its receipt number is the next of the unit's
    year (the unit row is locked while it is taken)."""
    access_unit(actor, unit, Cap.MANAGE_DONATIONS)
    if unit.kind not in (Kind.COMMITTEE, Kind.STREET):
        raise ValidationError({"unit": _("捐赠由居委会或街道接收")})
    donor_name = _text(donor_name, "donor_name", _("请填写捐赠人或捐赠单位"), 60)
    if donor_kind not in Donation.DonorKind.values:
        raise ValidationError({"donor_kind": _("请选择个人或单位")})
    phone = _phone(donor_phone)
    clean_lines: list[tuple[str, int, str]] = []
    money: Decimal | None = None
    if kind == Donation.Kind.MONEY:
        money = _money(amount)
    elif kind == Donation.Kind.GOODS:
        for i, (item, quantity, item_unit) in enumerate(lines or []):
            if not (item or "").strip() and str(quantity or "").strip() == "":
                continue
            clean_lines.append((
                _text(item, f"item_{i}", _("请填写物品名称"), 40),
                _positive_int(quantity, f"quantity_{i}"),
                _text(item_unit or "个", f"unit_{i}", _("请填写单位"), 10),
            ))
        if not clean_lines:
            raise ValidationError({"lines": _("请至少填写一种物品和数量")})
    else:
        raise ValidationError({"kind": _("请选择捐赠物资或资金")})
    received_at = received_at or timezone.now()
    year = timezone.localtime(received_at).year
    OrgUnit.objects.select_for_update().filter(pk=unit.pk).first()
    last = Donation.objects.filter(unit=unit, year=year).aggregate(m=Max("seq"))["m"] or 0
    donation = Donation.objects.create(
        unit=unit, year=year, seq=last + 1, donor_kind=donor_kind, donor_name=donor_name, donor_phone=phone,
        kind=kind, amount=money, received_by=actor, received_at=received_at, note=(note or "").strip()[:200],
    )
    DonationLine.objects.bulk_create(
        [DonationLine(donation=donation, item=i, quantity=q, unit=u) for i, q, u in clean_lines])
    audit(actor=actor, action="donation_record", obj=donation, committee_id=_committee_of(unit),
          subject_label=donor_name, detail={"number": donation.number, "kind": kind,
                                            "amount": str(money) if money is not None else None,
                                            "lines": len(clean_lines)})
    return donation


def donation_left(donation: Donation) -> dict:
    """What was received, allocated and is left: per line for goods, in yuan for money."""
    if donation.kind == Donation.Kind.MONEY:
        spent = Decimal(donation.allocations.aggregate(s=Sum("amount"))["s"] or 0).quantize(Decimal("0.01"))
        return {"received": donation.amount, "allocated": spent, "left": (donation.amount or 0) - spent}
    rows = []
    for line in donation.lines.all():
        used = line.allocations.aggregate(s=Sum("quantity"))["s"] or 0
        rows.append({"line": line, "received": line.quantity, "allocated": used, "left": line.quantity - used})
    return {"lines": rows}


@transaction.atomic
def donation_allocate(*, actor, donation: Donation, line: DonationLine | None = None, quantity=None, amount=None,
                      to_stock: bool = False, committee: OrgUnit | None = None, note: str = "",
                      now: dt.datetime | None = None) -> Allocation:
    """Part of a donation put to use: goods of a line into a committee's stock (a receipt there with
    the donation as its reference) or to a use described by the note; money spent, with the note."""
    access_unit(actor, donation.unit, Cap.MANAGE_DONATIONS)
    donation = Donation.objects.select_for_update().get(pk=donation.pk)
    now = now or timezone.now()
    note = (note or "").strip()[:200]
    move = None
    if donation.kind == Donation.Kind.MONEY:
        money = _money(amount)
        if not note:
            raise ValidationError({"note": _("请写明这笔钱用在哪里")})
        left = donation_left(donation)["left"]
        if money > left:
            raise ValidationError({"amount": _("超过剩余金额:还剩%(left)s元") % {"left": left}})
        allocation = Allocation.objects.create(donation=donation, amount=money, note=note, by=actor, at=now)
        detail: dict = {"amount": str(money)}
    else:
        if line is None or line.donation_id != donation.pk:
            raise ValidationError({"line": _("请选择这次捐赠中的一种物品")})
        n = _positive_int(quantity, "quantity")
        used = line.allocations.aggregate(s=Sum("quantity"))["s"] or 0
        if n > line.quantity - used:
            raise ValidationError({"quantity": _("超过剩余数量:%(item)s还剩%(left)s%(unit)s") % {
                "item": line.item, "left": line.quantity - used, "unit": line.unit}})
        if to_stock:
            target = committee or donation.unit
            if target.kind != Kind.COMMITTEE or not target.path.startswith(donation.unit.path):
                raise ValidationError({"committee": _("请选择接收这批物资的居委会")})
            item = StockItem.objects.filter(committee=target, name=line.item).first()
            if item is None:
                item = stock_item_add(actor=actor, committee=target, name=line.item, unit=line.unit)
            move = stock_receive(actor=actor, committee=target, item=item, quantity=n, reason=MoveReason.DONATION,
                                 ref=f"donation:{donation.pk}", note=_("捐赠%(number)s %(donor)s") % {
                                     "number": donation.number, "donor": donation.donor_name}, now=now)
        elif not note:
            raise ValidationError({"note": _("请写明这些物资的去向")})
        allocation = Allocation.objects.create(donation=donation, line=line, quantity=n, stock_move=move,
                                               note=note, by=actor, at=now)
        detail = {"item": line.item, "quantity": n, "to_stock": bool(move)}
    audit(actor=actor, action="donation_allocate", obj=donation, committee_id=_committee_of(donation.unit),
          subject_label=donation.donor_name, detail=detail | {"number": donation.number})
    return allocation


# Loans


@transaction.atomic
def loan_record(*, actor, committee: OrgUnit, lender_name: str, lender_phone: str = "", item: str, quantity,
                lent_to: str, due_on, now: dt.datetime | None = None) -> Loan:
    access_unit(actor, committee, Cap.MANAGE_DONATIONS)
    _require_committee(committee)
    lender_name = _text(lender_name, "lender_name", _("请填写出借人"), 60)
    phone = _phone(lender_phone)
    item = _text(item, "item", _("请填写物品名称"), 40)
    n = _positive_int(quantity, "quantity")
    lent_to = _text(lent_to, "lent_to", _("请填写借给谁(采样点、志愿者…)"), 60)
    if isinstance(due_on, str):
        try:
            due_on = dt.date.fromisoformat(due_on.strip())
        except ValueError:
            due_on = None
    if not isinstance(due_on, dt.date):
        raise ValidationError({"due_on": _("请填写归还日期")})
    now = now or timezone.now()
    if due_on < timezone.localdate(now):
        raise ValidationError({"due_on": _("归还日期不能早于今天")})
    loan = Loan.objects.create(committee=committee, lender_name=lender_name, lender_phone=phone, item=item,
                               quantity=n, lent_to=lent_to, due_on=due_on, recorded_by=actor, recorded_at=now)
    audit(actor=actor, action="loan_record", obj=loan, committee_id=committee.pk, subject_label=lender_name,
          detail={"item": item, "quantity": n, "due_on": str(due_on)})
    return loan


@transaction.atomic
def loan_return(*, actor, loan: Loan, quantity, returned_by: str, now: dt.datetime | None = None) -> LoanReturn:
    """Some or all of a loan given back to the lender, with who brought it and when."""
    access_unit(actor, loan.committee, Cap.MANAGE_DONATIONS)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.outstanding <= 0:
        raise ValidationError({"quantity": _("已全部归还,不能再登记归还")})
    n = _positive_int(quantity, "quantity")
    if n > loan.outstanding:
        raise ValidationError({"quantity": _("超过未还数量:还有%(left)s件未还") % {"left": loan.outstanding}})
    returned_by = _text(returned_by, "returned_by", _("请填写归还人"), 60)
    now = now or timezone.now()
    Loan.objects.filter(pk=loan.pk).update(returned=F("returned") + n)
    loan.refresh_from_db(fields=["returned"])
    back = LoanReturn.objects.create(loan=loan, quantity=n, returned_by=returned_by, by=actor, at=now)
    audit(actor=actor, action="loan_return", obj=loan, committee_id=loan.committee_id, subject_label=loan.lender_name,
          detail={"item": loan.item, "quantity": n, "outstanding": loan.outstanding})
    return back
