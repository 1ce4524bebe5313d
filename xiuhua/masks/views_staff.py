"""Staff pages of the mask module: rounds and their dashboard, desk and phone entry, the
verification queue, deliveries, redemption at the pharmacy and printed vouchers.

Views are thin: parse the form, find the object within the user's scope (404 for missing and
for not-yours alike), call one service, render. Services raise ValidationError with messages in
Chinese; those are shown on the form, and nothing is written.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.lookups import LookupKey, LookupThrottled, personal_lookup
from xiuhua.core.policy import logged_in, requires
from xiuhua.core.resident_phone import client_ip
from xiuhua.core.sheets import ListSheet, filters_in_words, list_download
from xiuhua.core.workflow import can, may
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household, Resident
from xiuhua.residents.selectors import resident_search

from . import services
from .codes import format_voucher_number
from .forms_staff import DeliveryForm, RedeemForm, RejectForm, ReserveForm, RoundForm, VerifyForm
from .lists import VERIFY_QUEUE_COLUMNS, VerifyQueueFilter, verify_queue_rows
from .models import (
    Channel,
    MaskRound,
    Pharmacy,
    PharmacyCommittee,
    PharmacyStock,
    Reservation,
    ReservationStatus,
    RoundStatus,
    StockDelivery,
    Voucher,
    VoucherStatus,
)
from .pdf import mask_name, vouchers_pdf
from .selectors import BAND_LABELS, household_choices, round_dashboard, round_openers, rounds_visible_to
from .services.reservations import NO_PHARMACY_STAFF, name_key
from .workflows import MASK_ROUND, manages_round

# A clerk's account that no pharmacy has taken on yet: redemption and deliveries say so.
NO_PHARMACY_CLERK = gettext_lazy(
    "您的账号还没有关联指定药店,请联系街道防控办在“口罩预约 › 指定药店”页面把您添加为店员。"
)

VERIFY_QUEUE_PER_PAGE = 100

NO_PHARMACY_STREET = gettext_lazy("还没有启用的指定药店。请先在“口罩预约 › 指定药店”页面新增药店。")



def _round_or_404(user, round_id: int) -> MaskRound:
    try:
        return rounds_visible_to(user).select_related("scope").get(pk=round_id)
    except MaskRound.DoesNotExist:
        raise Http404 from None


def _committee(user) -> OrgUnit | None:
    membership = active_membership(user)
    if membership is None or membership.org_unit.kind != Kind.COMMITTEE:
        return None
    return membership.org_unit


# Home and rounds


@logged_in
def home(request):
    """Send each role to its main page: clerks to redemption, staff to the rounds."""
    membership = active_membership(request.user)
    if membership is not None:
        if membership.has(Cap.REDEEM_VOUCHER):
            return redirect("masks:staff_redeem")
        if membership.has(Cap.VIEW_MASKS):
            return redirect("masks:staff_rounds")
        if membership.has(Cap.RECORD_DELIVERY):
            return redirect("masks:staff_deliveries")
    raise PermissionDenied


@requires(Cap.VIEW_MASKS)
def rounds(request):
    rows = list(rounds_visible_to(request.user).select_related("scope").order_by("-opens_at", "-pk"))
    membership = active_membership(request.user)
    openers = [] if rows or membership.has(Cap.MANAGE_ROUNDS) else round_openers(membership)
    return render(request, "masks/staff/rounds.html", {"rounds": rows, "openers": openers})


@requires(Cap.VIEW_MASKS)
def round_detail(request, round_id: int):
    mask_round = _round_or_404(request.user, round_id)
    board = round_dashboard(round=mask_round, user=request.user)
    names = dict(OrgUnit.objects.filter(pk__in=board.committees).values_list("pk", "name"))
    committees = sorted(((names.get(cid, cid), f) for cid, f in board.committees.items()), key=lambda r: str(r[0]))
    pharmacies = {p.pk: p for p in Pharmacy.objects.filter(pk__in=board.pharmacies)}
    pharmacy_rows = [
        (pharmacies[pid], f, BAND_LABELS[f.band]) for pid, f in sorted(board.pharmacies.items()) if pid in pharmacies
    ]
    return render(
        request,
        "masks/staff/round.html",
        {
            "round": mask_round, "board": board, "committees": committees, "pharmacy_rows": pharmacy_rows,
            "manages": manages_round(active_membership(request.user), mask_round),
            "can_open": can(request.user, mask_round, "open"),
            "can_close": can(request.user, mask_round, "closed"),
            "can_finish": can(request.user, mask_round, "finished"),
        },
    )


@requires(Cap.MANAGE_ROUNDS)
def round_new(request):
    membership = active_membership(request.user)
    form = RoundForm(request.POST or None, scope_root=membership.org_unit)
    if request.method == "POST" and form.is_valid():
        try:
            mask_round = services.round_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已创建轮次"))
            return redirect("masks:staff_round", round_id=mask_round.pk)
    return render(request, "masks/staff/round_form.html", {"form": form, "round": None})


@requires(Cap.MANAGE_ROUNDS)
def round_edit(request, round_id: int):
    mask_round = _round_or_404(request.user, round_id)
    if not manages_round(active_membership(request.user), mask_round):
        raise Http404  # a round of a unit above: seen, not managed here
    initial = {f: getattr(mask_round, f) for f in services.rounds.ROUND_RULE_FIELDS}
    for f in ("opens_at", "closes_at"):
        initial[f] = timezone.localtime(initial[f])
    form = RoundForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.round_update(actor=request.user, round=mask_round, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("masks:staff_round", round_id=mask_round.pk)
    return render(request, "masks/staff/round_form.html", {"form": form, "round": mask_round})


def _round_move(request, round_id: int, action: str):
    mask_round = _round_or_404(request.user, round_id)
    if not may(request.user, mask_round, action):
        raise Http404  # a round of a unit above: seen, not managed here
    try:
        services.round_move(actor=request.user, round=mask_round, action=action)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        target = RoundStatus(MASK_ROUND.actions[action].target)
        messages.success(request, _("轮次状态已改为“%(status)s”") % {"status": target.label})
    return redirect("masks:staff_round", round_id=mask_round.pk)


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def round_open(request, round_id: int):
    return _round_move(request, round_id, "open")


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def round_close(request, round_id: int):
    return _round_move(request, round_id, "closed")


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def round_finish(request, round_id: int):
    return _round_move(request, round_id, "finished")


# Desk and phone entry


def _prefill(request, households) -> dict:
    """Initial values from a roster resident chosen on the page (?resident=<id>)."""
    raw = request.GET.get("resident", "")
    if not raw.isdigit():
        return {}
    resident = Resident.objects.visible_to(request.user).filter(pk=int(raw), household__in=households).first()
    if resident is None:
        return {}
    return {
        "name": resident.name,
        "phone": resident.mobile,
        "household": resident.household_id,
        "id_type": resident.id_type,
    }


@requires(Cap.RESERVE_FOR_RESIDENT)
def reserve(request, round_id: int):
    mask_round = _round_or_404(request.user, round_id)
    committee = _committee(request.user)
    households = (
        Household.objects.visible_to(request.user)
        .select_related("compound", "building")
        .order_by("compound__name", "building__name", "room")
    )
    # The roster search is POSTed like the reservation, so what staff type never lands in a URL.
    finding = request.method == "POST" and "find" in request.POST
    form = ReserveForm(None if finding else request.POST or None, households=households,
                       initial=_prefill(request, households))
    if request.method == "POST" and not finding and form.is_valid():
        data = form.cleaned_data
        try:
            reservation = services.reservation_submit(
                actor=request.user,
                round=mask_round,
                committee=committee,
                **data,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("此人登记在其他居委会的花名册中,请由所属居委会登记"))
        else:
            return redirect("masks:staff_reservation", reservation_id=reservation.pk)
    q = request.POST.get("q", "").strip()[:50] if finding else ""
    found, refused = None, ""
    if q:
        try:
            found = list(resident_search(request.user, q=q, client_ip=client_ip(request))[:20])
        except LookupThrottled as exc:
            refused = exc.message
    return render(
        request,
        "masks/staff/reserve.html",
        {
            "round": mask_round, "form": form, "q": q, "found": found, "refused": refused, "committee": committee,
            "no_pharmacy": NO_PHARMACY_STAFF if committee is not None and not PharmacyCommittee.objects.filter(
                committee=committee).exists() else "",
        },
    )


@requires(Cap.RESERVE_FOR_RESIDENT)
@require_POST
def household_search(request):
    """Households of the user's scope for the desk form's suggestions, as JSON: what was typed
    (building, room, compound, the start of the head's name) is POSTed, never put in a URL; the
    head's name comes back masked."""
    q = request.POST.get("q", "").strip()[:50]
    households = Household.objects.visible_to(request.user)
    return JsonResponse({"results": household_choices(households, q)})


@requires(Cap.VIEW_MASKS)
def reservation_detail(request, reservation_id: int):
    reservation = access_by_id(
        Reservation.objects.select_related(
            "round", "pharmacy", "committee", "household__compound", "household__building"
        ),
        request.user,
        pk=reservation_id,
    )
    voucher = reservation.vouchers.order_by("-issued_at").first()
    return render(request, "masks/staff/reservation.html", {"r": reservation, "voucher": voucher})


# Verification queue


def _verify_queue_filtered(request, mask_round: MaskRound):
    """The round's entries waiting for verification that the user sees, filtered as the page:
    what the page and its download share."""
    form = VerifyQueueFilter(request.GET or None)
    filters = form.filters()
    waiting = (
        Reservation.objects.visible_to(request.user)
        .filter(round=mask_round, status=ReservationStatus.VERIFYING)
        .select_related("committee")
        .order_by("order_at", "pk")
    )
    if filters.get("channel"):
        waiting = waiting.filter(channel=filters["channel"])
    return form, filters_in_words(form, filters, everything=_("全部待核实登记")), waiting


@requires(Cap.VERIFY_RESERVATION)
def verify_queue(request, round_id: int):
    mask_round = _round_or_404(request.user, round_id)
    form, filters_text, waiting = _verify_queue_filtered(request, mask_round)
    page = Paginator(waiting, VERIFY_QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    download = request.GET.copy()
    download.pop("page", None)
    return render(
        request,
        "masks/staff/verify_queue.html",
        {
            "round": mask_round, "waiting": page, "count": page.paginator.count, "filter_form": form,
            "filters_text": filters_text, "columns": VERIFY_QUEUE_COLUMNS, "download_query": download.urlencode(),
            "unit": active_membership(request.user).org_unit, "now": timezone.now(),
        },
    )


@requires(Cap.VERIFY_RESERVATION)
@require_GET
def verify_queue_xlsx(request, round_id: int):
    """The verification queue with the page's filter, every row, the columns the page shows."""
    mask_round = _round_or_404(request.user, round_id)
    membership = active_membership(request.user)
    _form, filters_text, waiting = _verify_queue_filtered(request, mask_round)
    unit = membership.org_unit.name
    sheet = ListSheet(
        VERIFY_QUEUE_COLUMNS, filters=filters_text, name=_("核实队列"),
        title=_("%(unit)s %(round)s 核实队列 %(time)s") % {
            "unit": unit, "round": mask_round.name, "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
        rows=verify_queue_rows(waiting.iterator(chunk_size=2000)),
    )
    name = _("%(unit)s-%(round)s-核实队列") % {"unit": unit, "round": mask_round.name}
    return list_download(sheet, actor=request.user, membership=membership, action="mask_verify_queue_export",
                         filename=name, fallback="mask-verify-queue", obj=mask_round)


def _candidates(request, reservation: Reservation, q: str) -> dict:
    """The page's search box and the households of the reservation's committee that match what
    staff typed (address, name); none, and why, past the user's lookup limits."""
    try:
        return {"q": q, "candidates": _matching_households(request, reservation, q), "refused": ""}
    except LookupThrottled as exc:
        return {"q": q, "candidates": Household.objects.none(), "refused": exc.message}


def _matching_households(request, reservation: Reservation, q: str):
    user = request.user
    households = Household.objects.visible_to(user).filter(committee_id=reservation.committee_id)
    if not q:
        return households.none()
    ids = set(
        resident_search(user, q=q, client_ip=client_ip(request))
        .filter(household__committee_id=reservation.committee_id)
        .values_list("household_id", flat=True)[:50]
    )
    digits = "".join(ch for ch in q if ch.isdigit())
    room_match = households.filter(room=q.strip()) if not digits else households.filter(room=digits[-4:])
    ids |= set(room_match.values_list("pk", flat=True)[:50])
    return households.filter(pk__in=ids).select_related("compound", "building").order_by("building__name", "room")


@requires(Cap.VERIFY_RESERVATION)
def verify(request, reservation_id: int):
    reservation = access_by_id(
        Reservation.objects.select_related("round", "committee"), request.user, pk=reservation_id
    )
    households = Household.objects.visible_to(request.user).filter(committee_id=reservation.committee_id)
    # Looking for households is POSTed like the choice itself, so what staff type stays out of URLs.
    finding = request.method == "POST" and "find" in request.POST
    form = VerifyForm(None if finding else request.POST or None, households=households)
    reject_form = RejectForm()
    if request.method == "POST" and not finding and form.is_valid():
        try:
            services.reservation_verify(actor=request.user, reservation=reservation, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已核实,预约号%(number)s进入排队") % {"number": reservation.number})
            return redirect("masks:staff_verify_queue", round_id=reservation.round_id)
    q = request.POST.get("q", "").strip()[:50] if finding else reservation.address_text
    return render(
        request,
        "masks/staff/verify.html",
        {
            "r": reservation,
            "form": form,
            "reject_form": reject_form,
            **_decisions(request, reservation),
            **_candidates(request, reservation, q),
            # Looked up (and audited) when the page is shown afresh, not again on a refused form.
            **(_same_number(request, reservation) if request.method == "GET" or finding else {}),
        },
    )


def _decisions(request, reservation: Reservation) -> dict:
    """Which of the verification's two answers the page offers: those the workflow would accept."""
    return {f"can_{action}": can(request.user, reservation, action) for action in ("verify", "reject")}


def _same_number(request, reservation: Reservation) -> dict:
    """What staff may see of the entry's identity number beside it, within their own scope: the
    roster resident who has it (someone else may have typed their number with another name) and a
    place already held in this round. Nothing outside their scope is looked at."""
    if reservation.status != ReservationStatus.VERIFYING:
        return {}
    try:
        roster = list(
            personal_lookup(
                actor=request.user, key=LookupKey.ID_NUMBER, purpose="mask_verification",
                scope=Resident.objects.visible_to(request.user), match=Q(id_hash=reservation.person_hash),
                client_ip=client_ip(request),
            ).select_related("household__compound", "household__building")[:1]
        )
    except LookupThrottled as exc:
        return {"same_number_refused": exc.message}
    placed = (
        Reservation.objects.visible_to(request.user)
        .filter(round_id=reservation.round_id, person_hash=reservation.person_hash, pending_phone="", live=True)
        .first()
    )
    match = roster[0] if roster else None
    return {
        "roster_match": match,
        "roster_name_differs": match is not None and name_key(match.name) != name_key(reservation.name),
        "placed": placed,
    }


@requires(Cap.VERIFY_RESERVATION)
@require_POST
def reject(request, reservation_id: int):
    reservation = access_by_id(Reservation.objects.all(), request.user, pk=reservation_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.reservation_reject(actor=request.user, reservation=reservation, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已标记为未通过核实:%(number)s") % {"number": reservation.number})
            return redirect("masks:staff_verify_queue", round_id=reservation.round_id)
    households = Household.objects.visible_to(request.user).filter(committee_id=reservation.committee_id)
    return render(
        request,
        "masks/staff/verify.html",
        {
            "r": reservation,
            "form": VerifyForm(households=households),
            "reject_form": form,
            **_decisions(request, reservation),
            **_candidates(request, reservation, reservation.address_text),
        },
    )


# Deliveries


def _delivery_rounds(user):
    return rounds_visible_to(user).filter(status__in=[RoundStatus.OPEN, RoundStatus.CLOSED]).order_by("-opens_at")


@requires(Cap.RECORD_DELIVERY)
def deliveries(request):
    pharmacies = Pharmacy.objects.visible_to(request.user).filter(active=True).order_by("name")
    rounds_qs = _delivery_rounds(request.user)
    initial = {"delivered_at": timezone.localtime().replace(second=0, microsecond=0)}
    if rounds_qs.count() == 1:
        initial["round"] = rounds_qs.first()
    if pharmacies.count() == 1:
        initial["pharmacy"] = pharmacies.first()
    form = DeliveryForm(request.POST or None, rounds=rounds_qs, pharmacies=pharmacies, initial=initial)
    result = None
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        try:
            delivery = services.stock_delivery_record(actor=request.user, now=now, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            repeated = delivery.recorded_at < now
            issued = (
                0
                if repeated
                else Voucher.objects.filter(
                    round_id=delivery.round_id, pharmacy_id=delivery.pharmacy_id, issued_at=now
                ).count()
            )
            stock = PharmacyStock.objects.filter(round_id=delivery.round_id, pharmacy_id=delivery.pharmacy_id).first()
            result = {"delivery": delivery, "repeated": repeated, "issued": issued, "stock": stock}
            form = DeliveryForm(rounds=rounds_qs, pharmacies=pharmacies, initial=initial)
    recent = (
        StockDelivery.objects.filter(pharmacy__in=pharmacies)
        .select_related("pharmacy", "round")
        .order_by("-recorded_at")[:20]
    )
    no_pharmacy = ""
    if not pharmacies.exists():
        membership = active_membership(request.user)
        no_pharmacy = NO_PHARMACY_CLERK if membership.role == Role.PHARMACY_CLERK else NO_PHARMACY_STREET
    return render(request, "masks/staff/deliveries.html",
                  {"form": form, "result": result, "recent": recent, "no_pharmacy": no_pharmacy})


# Redemption


def _not_here(user) -> str:
    """Why a voucher number is not found at this counter: the clerk's account serves no pharmacy
    yet, or the voucher is for another pharmacy (its name is printed on it)."""
    names = list(Pharmacy.objects.visible_to(user).order_by("name").values_list("name", flat=True))
    if not names:
        return str(NO_PHARMACY_CLERK)
    return _("这张凭证不是%(names)s的凭证,请核对凭证号,或请居民到凭证上写明的指定药店购买") % {
        "names": "、".join(names)
    }


@requires(Cap.REDEEM_VOUCHER)
def redeem(request):
    form = RedeemForm(request.POST or None)
    result = None
    retry_after = None
    if request.method == "POST" and form.is_valid():
        try:
            voucher = services.voucher_redeem(actor=request.user, client_ip=client_ip(request), **form.cleaned_data)
        except Voucher.DoesNotExist:
            result = {"ok": False, "message": _not_here(request.user)}
        except ValidationError as exc:
            result = {"ok": False, "message": " ".join(exc.messages)}
        except LookupThrottled as exc:
            result = {"ok": False, "message": exc.message}
            retry_after = exc.retry_after
        else:
            result = {
                "ok": True,
                "voucher": voucher,
                "number": format_voucher_number(voucher.number),
                "holder": mask_name(voucher.reservation.name),
            }
        form = RedeemForm()  # ready for the next scan
    no_pharmacy = NO_PHARMACY_CLERK if not Pharmacy.objects.visible_to(request.user).exists() else ""
    response = render(request, "masks/staff/redeem.html", {"form": form, "result": result, "no_pharmacy": no_pharmacy},
                      status=200 if retry_after is None else 429)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# Printed vouchers


def _printable(user, mask_round: MaskRound):
    return (
        Voucher.objects.visible_to(user)
        .filter(round=mask_round, status=VoucherStatus.ISSUED)
        .select_related("round", "pharmacy", "reservation__household__compound", "reservation__household__building")
        .order_by("reservation__household__building__name", "reservation__household__room", "pk")
    )


@requires(Cap.RESERVE_FOR_RESIDENT)
def vouchers(request, round_id: int):
    mask_round = _round_or_404(request.user, round_id)
    rows = _printable(request.user, mask_round)
    only_offline = request.GET.get("offline") == "1"
    if only_offline:
        rows = rows.exclude(reservation__channel__in=[Channel.ONLINE, Channel.SMS])
    return render(
        request, "masks/staff/vouchers.html", {"round": mask_round, "vouchers": rows[:500], "offline": only_offline}
    )


def _pdf_response(items, filename: str) -> HttpResponse:
    response = HttpResponse(vouchers_pdf(items), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@requires(Cap.RESERVE_FOR_RESIDENT)
def vouchers_pdf_view(request, round_id: int):
    """The chosen vouchers (?v=<id>, repeated) or, without any, every issued one of the round."""
    mask_round = _round_or_404(request.user, round_id)
    rows = _printable(request.user, mask_round)
    chosen = [int(v) for v in request.GET.getlist("v") if v.isdigit()]
    if chosen:
        rows = rows.filter(pk__in=chosen)
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    return _pdf_response(list(rows[:2000]), f"vouchers-{mask_round.pk}-{stamp}.pdf")


@requires(Cap.RESERVE_FOR_RESIDENT)
def voucher_pdf(request, voucher_id: int):
    voucher = access_by_id(
        Voucher.objects.select_related(
            "round", "pharmacy", "reservation__household__compound", "reservation__household__building"
        ),
        request.user,
        pk=voucher_id,
    )
    return _pdf_response([voucher], f"voucher-{voucher.number}.pdf")
