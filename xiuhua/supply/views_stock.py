"""Pages for donations, loans and stock: the committee's desktop pages and the street's view of
all its committees. Views parse input, find rows through core.access and call one service."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.audit import audit
from xiuhua.core.code_guessing import CodeGuard, private
from xiuhua.core.crypto import mask_name, mask_phone
from xiuhua.core.policy import public, requires
from xiuhua.places.models import Kind, OrgUnit

from . import services_stock as services
from .models_stock import ISSUE_REASONS, Donation, Loan, MoveReason, StockItem, StockMove
from .receipts import DONATION, receipt_pdf
from .selectors_stock import overdue_loans


def _committees(user):
    """The committees the acting membership covers (its own, or a street's)."""
    membership = active_membership(user)
    unit = membership.org_unit
    if unit.kind == Kind.COMMITTEE:
        return [unit]
    return list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path).order_by("path"))


def _fail(request, exc: ValidationError) -> None:
    for text in exc.messages:
        messages.error(request, text)


def _unit_pk(request, field: str = "committee") -> OrgUnit | None:
    """The committee (or street) picked in a form, among those the user covers; None otherwise."""
    membership = active_membership(request.user)
    try:
        pk = int(request.POST.get(field, ""))
    except ValueError:
        return None
    return OrgUnit.objects.filter(pk=pk, path__startswith=membership.org_unit.path).first()


# Stock


@requires(Cap.VIEW_SUPPLY)
@require_GET
def stock(request):
    items = StockItem.objects.visible_to(request.user).select_related("committee").order_by("committee__path", "name")
    moves = (StockMove.objects.visible_to(request.user).select_related("item", "committee", "by")[:100])
    return render(request, "supply/stock/stock.html", {
        "items": items, "moves": moves, "committees": _committees(request.user),
        "can_manage": has_cap(request.user, Cap.MANAGE_DONATIONS),
        "receipt_reasons": [(r.value, r.label) for r in (MoveReason.PURCHASE, MoveReason.OTHER)],
        "issue_reasons": [(r.value, r.label) for r in MoveReason if r in ISSUE_REASONS],
    })


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def stock_item_add(request):
    committee = _unit_pk(request)
    try:
        if committee is None:
            raise ValidationError({"committee": _("请选择居委会")})
        item = services.stock_item_add(actor=request.user, committee=committee, name=request.POST.get("name", ""),
                                       unit=request.POST.get("unit", ""))
    except ValidationError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("已新增库存物品:%(name)s") % {"name": item.name})
    return redirect("supply:stock")


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def stock_move(request, direction: str):
    with transaction.atomic():
        item = access_by_id(StockItem.objects, request.user, pk=request.POST.get("item"), cap=Cap.MANAGE_DONATIONS)
        post = request.POST
        try:
            if direction == "in":
                move = services.stock_receive(actor=request.user, committee=item.committee, item=item,
                                              quantity=post.get("quantity"), reason=post.get("reason", ""),
                                              note=post.get("note", ""))
            else:
                ticket = post.get("ticket", "").strip()
                if ticket and not (ticket.isdigit() and len(ticket) < 12):
                    raise ValidationError({"ticket": _("工单编号请填数字,可不填")})
                move = services.stock_issue(actor=request.user, committee=item.committee, item=item,
                                            quantity=post.get("quantity"), reason=post.get("reason", ""),
                                            ref=f"ticket:{int(ticket)}" if ticket else "", note=post.get("note", ""))
        except ValidationError as exc:
            _fail(request, exc)
            return redirect("supply:stock")
    text = _("已入库") if move.delta > 0 else _("已出库")
    messages.success(request, _("%(what)s:%(item)s %(n)s%(unit)s,现有%(left)s%(unit)s") % {
        "what": text, "item": item.name, "n": abs(move.delta), "unit": item.unit, "left": move.balance})
    return redirect("supply:stock")


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def stock_kit(request):
    item = access_by_id(StockItem.objects, request.user, pk=request.POST.get("item"), cap=Cap.MANAGE_DONATIONS)
    try:
        services.stock_kit_set(actor=request.user, item=item, kit_quantity=request.POST.get("kit_quantity"))
    except ValidationError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("防疫包:每份%(item)s %(n)s%(unit)s") % {
            "item": item.name, "n": item.kit_quantity, "unit": item.unit})
    return redirect("supply:stock")


# Donations


def _units_for_donations(user) -> list[OrgUnit]:
    membership = active_membership(user)
    unit = membership.org_unit
    return [unit] + ([] if unit.kind == Kind.COMMITTEE else _committees(user))


def _donor_phone(request, donation: Donation) -> str:
    """The donor's phone in full only to members of the unit that received it."""
    membership = active_membership(request.user)
    if donation.donor_phone and membership.org_unit_id == donation.unit_id:
        return donation.donor_phone
    return mask_phone(donation.donor_phone)


@requires(Cap.VIEW_SUPPLY)
@require_GET
def donations(request):
    rows = Donation.objects.visible_to(request.user).select_related("unit").prefetch_related("lines")[:200]
    return render(request, "supply/stock/donations.html", {
        "donations": [(d, services.donation_left(d), _donor_phone(request, d)) for d in rows],
        "units": _units_for_donations(request.user), "can_manage": has_cap(request.user, Cap.MANAGE_DONATIONS),
        "line_slots": range(3),
    })


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def donation_new(request):
    post = request.POST
    unit = _unit_pk(request, "unit")
    lines = [(post.get(f"item_{i}", ""), post.get(f"quantity_{i}", ""), post.get(f"unit_{i}", "")) for i in range(3)]
    try:
        if unit is None:
            raise ValidationError({"unit": _("请选择接收单位")})
        donation = services.donation_record(
            actor=request.user, unit=unit, donor_name=post.get("donor_name", ""), donor_kind=post.get("donor_kind", ""),
            donor_phone=post.get("donor_phone", ""), kind=post.get("kind", ""), amount=post.get("amount", ""),
            lines=lines, note=post.get("note", ""),
        )
    except ValidationError as exc:
        _fail(request, exc)
        return redirect("supply:donations")
    messages.success(request, _("已登记捐赠,收据编号 %(n)s") % {"n": donation.number})
    return redirect("supply:donation", pk=donation.pk)


@requires(Cap.VIEW_SUPPLY)
@require_GET
def donation(request, pk: int):
    d = access_by_id(Donation.objects.select_related("unit", "received_by"), request.user, pk=pk)
    return render(request, "supply/stock/donation.html", {
        "d": d, "left": services.donation_left(d), "phone": _donor_phone(request, d),
        "allocations": d.allocations.select_related("line", "by", "stock_move__committee"),
        "committees": [c for c in _committees(request.user) if c.path.startswith(d.unit.path)],
        "can_manage": has_cap(request.user, Cap.MANAGE_DONATIONS),
    })


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def donation_allocate(request, pk: int):
    d = access_by_id(Donation.objects.select_related("unit"), request.user, pk=pk)
    post = request.POST
    line = d.lines.filter(pk=post.get("line")).first() if (post.get("line") or "").isdigit() else None
    committee = _unit_pk(request) if post.get("committee") else None
    try:
        services.donation_allocate(actor=request.user, donation=d, line=line, quantity=post.get("quantity"),
                                   amount=post.get("amount"), to_stock=post.get("to") == "stock",
                                   committee=committee, note=post.get("note", ""))
    except ValidationError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("已登记去向"))
    return redirect("supply:donation", pk=d.pk)


@requires(Cap.VIEW_SUPPLY)
@require_GET
def donation_receipt(request, pk: int):
    d = access_by_id(Donation.objects.select_related("unit", "received_by"), request.user, pk=pk)
    pdf = receipt_pdf(d)
    audit(actor=request.user, action="donation_receipt_print", obj=d,
          committee_id=d.unit_id if d.unit.kind == Kind.COMMITTEE else None, subject_label=d.donor_name,
          detail={"number": d.number})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="donation-{d.number}.pdf"'
    return response


# Receipt codes are 40 bits; twenty wrong ones in ten minutes from one network is a script.
DONATION_CODES = CodeGuard("donation-receipt", limit=20, window=600, template="supply/stock/too_many_codes.html")


@public
@require_GET
@DONATION_CODES.guards
def donation_public(request, code: str):
    """Where a donation went, for whoever holds its receipt: what was given, each use with its
    day and which committee's stock it went into, and what is left; the donor's name masked when
    a person gave, no staff names, no phone."""
    pk = DONATION.pk_of(code)
    d = Donation.objects.select_related("unit").filter(pk=pk).first() if pk is not None else None
    if d is None:
        DONATION_CODES.count_wrong(request)
        raise Http404
    donor = d.donor_name if d.donor_kind == Donation.DonorKind.ORGANISATION else mask_name(d.donor_name)
    return private(render(request, "supply/stock/donation_public.html", {
        "d": d, "donor": donor, "left": services.donation_left(d),
        "allocations": d.allocations.select_related("line", "stock_move__committee"),
    }))


# Loans


@requires(Cap.VIEW_SUPPLY)
@require_GET
def loans(request):
    today = timezone.localdate()
    rows = Loan.objects.visible_to(request.user).select_related("committee").prefetch_related("returns")
    overdue = list(overdue_loans(request.user, today).select_related("committee"))
    open_rows = [x for x in rows if x.outstanding > 0 and x.due_on >= today]
    done = [x for x in rows if x.outstanding == 0][:100]
    own = active_membership(request.user).org_unit_id
    for loan in [*overdue, *open_rows, *done]:  # the lender's phone in full only to their committee
        loan.phone_shown = (  # type: ignore[attr-defined]
            loan.lender_phone if loan.committee_id == own else mask_phone(loan.lender_phone))
    return render(request, "supply/stock/loans.html", {
        "overdue": overdue, "open_loans": open_rows, "done": done, "today": today,
        "committees": _committees(request.user), "can_manage": has_cap(request.user, Cap.MANAGE_DONATIONS),
    })


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def loan_new(request):
    post = request.POST
    committee = _unit_pk(request)
    try:
        if committee is None:
            raise ValidationError({"committee": _("请选择居委会")})
        loan = services.loan_record(actor=request.user, committee=committee, lender_name=post.get("lender_name", ""),
                                    lender_phone=post.get("lender_phone", ""), item=post.get("item", ""),
                                    quantity=post.get("quantity"), lent_to=post.get("lent_to", ""),
                                    due_on=post.get("due_on", ""))
    except ValidationError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("已登记借用:%(item)s %(n)s件") % {"item": loan.item, "n": loan.quantity})
    return redirect("supply:loans")


@requires(Cap.MANAGE_DONATIONS)
@require_POST
def loan_return(request, pk: int):
    loan = access_by_id(Loan.objects.select_related("committee"), request.user, pk=pk)
    try:
        services.loan_return(actor=request.user, loan=loan, quantity=request.POST.get("quantity"),
                             returned_by=request.POST.get("returned_by", ""))
    except ValidationError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("已登记归还"))
    return redirect(reverse("supply:loans") + f"#loan-{loan.pk}")
