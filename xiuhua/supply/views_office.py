"""The committee's and the street's group-buy pages (desktop).

Committee (REVIEW_GROUPBUY to act, VIEW_SUPPLY to read):

    /supply/leaders/                       applications and leaders; approve / refuse
    /supply/filings/                       filings to review (flags shown), recent decisions
    /supply/filings/<pk>/                  one filing: documents, items with flags, complaints, actions
    /supply/filings/<pk>/decide/           POST approve / request_changes / refuse (reason)
    /supply/filings/<pk>/complaint/        POST a complaint taken by phone
    /supply/complaints/                    complaints; POST .../<pk>/handle/
    /supply/documents/<pk>/photo/          a document's photo (audited)

Street-wide (VIEW_SUPPLY; SET_REFERENCE_PRICES to edit prices, REVIEW_GROUPBUY to ban):

    /supply/prices/                        reference prices with history, the allowed share
    /supply/bans/                          bans of the street; add, lift
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit

from . import services
from .models import (
    Ban,
    BanKind,
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    Document,
    Filing,
    FilingStatus,
    Leader,
    LeaderStatus,
    Offer,
    ReferencePrice,
)

FILING_ACTIONS = ("approve", "request_changes", "refuse")


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@requires(Cap.VIEW_SUPPLY)
@require_GET
def leaders(request):
    rows = Leader.objects.visible_to(request.user).select_related("compound", "resident").order_by("status", "-pk")
    waiting = [leader for leader in rows if leader.status == LeaderStatus.APPLIED]
    others = [leader for leader in rows if leader.status != LeaderStatus.APPLIED][:200]
    return render(request, "supply/leaders.html", {
        "waiting": waiting, "others": others, "can_review": has_cap(request.user, Cap.REVIEW_GROUPBUY)})


@requires(Cap.REVIEW_GROUPBUY)
@require_POST
def leader_decide(request, pk: int):
    leader = access_by_id(Leader.objects, request.user, pk=pk)
    action = request.POST.get("action", "")
    if action not in ("approve", "refuse"):
        raise Http404
    try:
        services.leader_decide(actor=request.user, leader=leader, action=action, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已处理 %(leader)s 的申请") % {"leader": leader})
    return redirect("supply:leaders")


@requires(Cap.VIEW_SUPPLY)
@require_GET
def filings(request):
    rows = Filing.objects.visible_to(request.user).select_related("leader__compound", "leader__resident")
    waiting = list(rows.filter(status=FilingStatus.SUBMITTED).order_by("submitted_at").prefetch_related("items"))
    recent = list(rows.exclude(status=FilingStatus.SUBMITTED).order_by("-submitted_at")
                  .prefetch_related("items")[:100])
    return render(request, "supply/filings.html", {"waiting": waiting, "recent": recent, "now": timezone.now(),
                                                   "overdue": timezone.now() - services.ESCALATE_AFTER})


@requires(Cap.VIEW_SUPPLY)
@require_GET
def filing(request, pk: int):
    row = access_by_id(Filing.objects.select_related("leader__compound", "leader__resident"), request.user, pk=pk)
    actions = [(a, _label(a)) for a in FILING_ACTIONS if can(request.user, row, a)]
    return render(request, "supply/filing.html", {
        "filing": row, "actions": actions, "documents": row.documents.order_by("kind"),
        "complaints": row.complaints.order_by("-pk"), "kinds": ComplaintKind.choices,
        "can_review": has_cap(request.user, Cap.REVIEW_GROUPBUY),
        "ban": services.leader_banned(row.leader),
        "supplier_ban": services.supplier_banned(services.street_of(row.committee), row.supplier,
                                                 row.supplier_licence),
        # Orders opened on it (services_orders), or the button that opens them.
        "offer": Offer.objects.filter(filing=row).first(),
        "can_open_offer": row.status == FilingStatus.APPROVED and has_cap(request.user, Cap.RUN_GROUPBUY),
    })


def _label(action: str) -> str:
    from .workflows import FILING

    return str(FILING.actions[action].label)


@requires(Cap.REVIEW_GROUPBUY)
@require_POST
def filing_decide(request, pk: int):
    row = access_by_id(Filing.objects, request.user, pk=pk)
    action = request.POST.get("action", "")
    if action not in FILING_ACTIONS:
        raise Http404
    try:
        services.filing_decide(actor=request.user, filing=row, action=action, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("报备 %(n)s 已处理") % {"n": row.number})
    return redirect("supply:filing", row.pk)


@requires(Cap.REVIEW_GROUPBUY)
@require_POST
def filing_complaint(request, pk: int):
    row = access_by_id(Filing.objects, request.user, pk=pk)
    try:
        services.complaint_file(actor=request.user, filing=row, kind=request.POST.get("kind", ""),
                                text=request.POST.get("text", ""), phone="")
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("投诉已登记"))
    return redirect("supply:filing", row.pk)


@requires(Cap.VIEW_SUPPLY)
@require_GET
def complaints(request):
    rows = (Complaint.objects.visible_to(request.user).select_related("filing__leader__compound")
            .order_by("status", "-created_at")[:300])
    return render(request, "supply/complaints.html", {
        "rows": rows, "can_review": has_cap(request.user, Cap.REVIEW_GROUPBUY), "open": ComplaintStatus.OPEN})


@requires(Cap.REVIEW_GROUPBUY)
@require_POST
def complaint_handle(request, pk: int):
    row = access_by_id(Complaint.objects, request.user, pk=pk)
    try:
        services.complaint_handle(actor=request.user, complaint=row, outcome=request.POST.get("outcome", ""))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("投诉已处理"))
    return redirect("supply:complaints")


@requires(Cap.VIEW_SUPPLY)
@require_GET
def document_photo(request, pk: int):
    document = access_by_id(Document.objects.select_related("leader"), request.user, pk=pk)
    try:
        data = services.document_photo_open(actor=request.user, document=document)
    except ValidationError:
        raise Http404 from None
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


def _street(request) -> OrgUnit:
    """The street the member works in (their own, or their committee's)."""
    membership = active_membership(request.user)
    if membership is None:
        raise Http404
    unit = membership.org_unit
    if unit.kind == Kind.STREET:
        return unit
    if unit.kind == Kind.COMMITTEE and unit.parent is not None and unit.parent.kind == Kind.STREET:
        return unit.parent
    raise Http404


@requires(Cap.VIEW_SUPPLY)
def prices(request):
    street = _street(request)
    editing = has_cap(request.user, Cap.SET_REFERENCE_PRICES)
    if request.method == "POST":
        if not editing:
            raise Http404
        try:
            if request.POST.get("what") == "share":
                services.price_rule_set(actor=request.user, street=street, share=request.POST.get("share", ""))
            else:
                services.reference_price_set(
                    actor=request.user, street=street, name=request.POST.get("name", ""),
                    unit=request.POST.get("unit", ""), price=request.POST.get("price", ""),
                    effective_from=_date(request.POST.get("effective_from", "")))
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已保存"))
        return redirect("supply:prices")
    today = timezone.localdate()
    rows = ReferencePrice.objects.filter(street=street)
    current: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.effective_from <= today:
            current.setdefault((row.name, row.unit), row.pk)
    return render(request, "supply/prices.html", {
        "street": street, "rows": rows, "current": set(current.values()), "share": services.share_for(street),
        "editing": editing, "today": today})


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError({"effective_from": _("请填写执行日期")}) from None


@requires(Cap.VIEW_SUPPLY)
def bans(request):
    street = _street(request)
    reviewing = has_cap(request.user, Cap.REVIEW_GROUPBUY)
    if request.method == "POST":
        if not reviewing:
            raise Http404
        kind = request.POST.get("kind", "")
        leader = None
        if kind == BanKind.LEADER:
            leader_pk = request.POST.get("leader", "")
            leader = access_by_id(Leader.objects, request.user, pk=leader_pk) if leader_pk else None
        try:
            services.ban_add(actor=request.user, kind=kind, leader=leader, supplier=request.POST.get("supplier", ""),
                             licence=request.POST.get("licence", ""), reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已列入禁入名单,全街道可见"))
        return redirect("supply:bans")
    rows = Ban.objects.visible_to(request.user).filter(street=street).select_related(
        "leader__resident", "leader__compound", "committee")
    leaders_here = (Leader.objects.visible_to(request.user).filter(status=LeaderStatus.APPROVED)
                    .select_related("resident", "compound") if reviewing else [])
    return render(request, "supply/bans.html", {"street": street, "rows": rows, "reviewing": reviewing,
                                                "leaders": leaders_here, "kinds": BanKind.choices})


@requires(Cap.REVIEW_GROUPBUY)
@require_POST
def ban_lift(request, pk: int):
    ban = access_by_id(Ban.objects, request.user, pk=pk)
    try:
        services.ban_lift(actor=request.user, ban=ban)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已解除"))
    return redirect("supply:bans")

