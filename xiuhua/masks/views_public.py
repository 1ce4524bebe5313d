"""Resident and public pages of the mask module: committee QR pages, phone login by one-time
SMS code, the reservation form, the resident's status page, and public transparency pages and
open data (no login, no personal data).

Residents have no User: a verified phone is kept in the session for 30 minutes
(`masks_phone` = {"phone", "until"}). Views that need it use `@resident_phone`, which declares
the "public" policy for the URL walk (no staff login is involved) and sends an unverified
visitor back to the committee page.

Public figures are read in ONE SQL statement per table (subqueries, no second round trip), so
the counts and the stock band of a row come from the same committed snapshot: a band is never
above "none" once the last masks have been allocated to vouchers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from functools import wraps

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from xiuhua.core.crypto import mask_phone
from xiuhua.core.policy import POLICY_ATTR, public
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import LivingStatus, Resident
from xiuhua.sms.otp import OtpError, otp_request, otp_verify

from .codes import format_voucher_number
from .forms_public import CodeForm, PhoneForm, ReservationForm
from .models import (
    Channel,
    MaskRound,
    Pharmacy,
    PharmacyCommittee,
    PharmacyStock,
    Reservation,
    ReservationStatus,
    RoundStatus,
    Voucher,
)
from .selectors import stock_band
from .sms_channel import FORMAT_HELP, PHONE_ROUND_LIMIT, current_round, resident_reserve

SESSION_PHONE = "masks_phone"
SESSION_PENDING = "masks_pending_phone"
SESSION_COMMITTEE = "masks_committee"
VERIFIED_FOR = dt.timedelta(minutes=30)
OTP_PURPOSE = "masks_login"
OPEN_DATA_MAX_AGE = 30

BAND_LABELS = {
    "plenty": gettext_lazy("充足"),
    "some": gettext_lazy("有货"),
    "few": gettext_lazy("紧张"),
    "none": gettext_lazy("无货"),
}
_LIVE = [ReservationStatus.VERIFYING, ReservationStatus.QUEUED, ReservationStatus.ISSUED, ReservationStatus.REDEEMED]


# --- the resident's verified phone --------------------------------------------------------


def verified_phone(request) -> str | None:
    data = request.session.get(SESSION_PHONE)
    if not isinstance(data, dict):
        return None
    try:
        until = dt.datetime.fromisoformat(data["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if timezone.now() >= until:
        request.session.pop(SESSION_PHONE, None)
        return None
    return str(data.get("phone") or "") or None


def resident_phone(view: Callable) -> Callable:
    """A resident whose phone was verified by SMS code in the last 30 minutes (no User)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        phone = verified_phone(request)
        if phone is None:
            messages.info(request, _("请先验证手机号码"))
            code = kwargs.get("code") or request.session.get(SESSION_COMMITTEE)
            if code:
                return redirect("masks:public_committee", code=code)
            return render(request, "masks/public/need_phone.html", status=403)
        request.resident_phone = phone
        return view(request, *args, **kwargs)

    # No staff login: the verified phone above is the gate.
    setattr(wrapped, POLICY_ATTR, "resident_phone")
    return wrapped


def client_ip(request) -> str:
    count = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None)
    if count:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "") or ""


def _committee(code: str) -> OrgUnit:
    return get_object_or_404(OrgUnit, kind=Kind.COMMITTEE, code=code)


def _qr_svg(text: str) -> str:
    """An inline SVG with a viewBox only, so that CSS sizes it (crisp at any size, no JS)."""
    return segno.make(text, error="m").svg_inline(scale=1, border=2, omitsize=True)


# --- public figures (one statement each) --------------------------------------------------


def _count(round_id: int, outer: str, statuses) -> Coalesce:
    sub = (
        Reservation.objects.filter(round_id=round_id, status__in=statuses, **{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(c=Count("pk"))
        .values("c")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), 0)


def _counts(round_id: int, outer: str) -> dict:
    return {
        "registered": _count(round_id, outer, _LIVE),
        "verifying": _count(round_id, outer, [ReservationStatus.VERIFYING]),
        "queued": _count(round_id, outer, [ReservationStatus.QUEUED]),
        "issued": _count(round_id, outer, [ReservationStatus.ISSUED, ReservationStatus.REDEEMED]),
        "redeemed": _count(round_id, outer, [ReservationStatus.REDEEMED]),
    }


def _stock(round_id: int, field: str, **match) -> Coalesce:
    sub = PharmacyStock.objects.filter(round_id=round_id, **match).values(field)[:1]
    return Coalesce(Subquery(sub, output_field=IntegerField()), 0)


def pharmacy_rows(mask_round: MaskRound, *, pharmacy_ids: list[int] | None = None) -> list[dict]:
    """Per pharmacy of the round: counts and stock band, no personal data."""
    serving = PharmacyCommittee.objects.filter(committee__path__startswith=mask_round.scope.path).values("pharmacy_id")
    qs = Pharmacy.objects.filter(pk__in=Subquery(serving))
    if pharmacy_ids is not None:
        qs = qs.filter(pk__in=pharmacy_ids)
    rows = list(
        qs.annotate(
            **_counts(mask_round.pk, "pharmacy"),
            delivered=_stock(mask_round.pk, "delivered", pharmacy=OuterRef("pk")),
            allocated=_stock(mask_round.pk, "allocated", pharmacy=OuterRef("pk")),
        )
        .order_by("name", "pk")
        .values(
            "pk",
            "name",
            "address",
            "opening_hours",
            "registered",
            "verifying",
            "queued",
            "issued",
            "redeemed",
            "delivered",
            "allocated",
        )
    )
    out = []
    for row in rows:
        band = stock_band(row.pop("delivered") - row.pop("allocated"), mask_round.masks_per_household)
        out.append({"id": row.pop("pk"), **row, "stock_band": band})
    return out


def committee_rows(mask_round: MaskRound, *, committee_ids: list[int] | None = None) -> list[dict]:
    """Per committee of the round: counts and its pharmacy's stock band, no personal data."""
    qs = OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=mask_round.scope.path)
    if committee_ids is not None:
        qs = qs.filter(pk__in=committee_ids)
    pharmacy = PharmacyCommittee.objects.filter(committee=OuterRef("pk"))
    rows = list(
        qs.annotate(
            **_counts(mask_round.pk, "committee"),
            pharmacy_id=Subquery(pharmacy.values("pharmacy_id")[:1], output_field=IntegerField()),
            delivered=_stock(mask_round.pk, "delivered", pharmacy__served__committee=OuterRef("pk")),
            allocated=_stock(mask_round.pk, "allocated", pharmacy__served__committee=OuterRef("pk")),
        )
        .order_by("code", "pk")
        .values(
            "code",
            "name",
            "pharmacy_id",
            "registered",
            "verifying",
            "queued",
            "issued",
            "redeemed",
            "delivered",
            "allocated",
        )
    )
    out = []
    for row in rows:
        band = stock_band(row.pop("delivered") - row.pop("allocated"), mask_round.masks_per_household)
        out.append({**row, "stock_band": band})
    return out


# Documented on the open-data page (open_index.html renders this table).
PHARMACY_FIELDS = [
    ("id", gettext_lazy("药店编号")),
    ("name", gettext_lazy("药店名称")),
    ("address", gettext_lazy("地址")),
    ("opening_hours", gettext_lazy("营业时间")),
    ("registered", gettext_lazy("有效预约数(户)")),
    ("verifying", gettext_lazy("待核实")),
    ("queued", gettext_lazy("排队中")),
    ("issued", gettext_lazy("已发凭证(含已购买)")),
    ("redeemed", gettext_lazy("已购买")),
    ("stock_band", gettext_lazy("余量档位: plenty 充足(≥20户) / some 有货(6-19) / few 紧张(1-5) / none 无货")),
]
COMMITTEE_FIELDS = [
    ("code", gettext_lazy("居委会区划代码(12位)")),
    ("name", gettext_lazy("居委会名称")),
    ("pharmacy_id", gettext_lazy("指定药店编号")),
    ("registered", gettext_lazy("有效预约数(户)")),
    ("verifying", gettext_lazy("待核实")),
    ("queued", gettext_lazy("排队中")),
    ("issued", gettext_lazy("已发凭证(含已购买)")),
    ("redeemed", gettext_lazy("已购买")),
    ("stock_band", gettext_lazy("指定药店余量档位")),
]


def _band_label(rows: list[dict]) -> list[dict]:
    return [{**r, "band_label": BAND_LABELS[r["stock_band"]]} for r in rows]


# --- committee page, QR, phone login -------------------------------------------------------


def _committee_context(request, committee: OrgUnit, **extra) -> dict:
    now = timezone.now()
    mask_round = current_round(committee, at=now)
    figures = None
    pharmacy = None
    if mask_round is not None:
        rows = committee_rows(mask_round, committee_ids=[committee.pk])
        figures = _band_label(rows)[0] if rows else None
        if figures and figures["pharmacy_id"]:
            pharmacy = Pharmacy.objects.filter(pk=figures["pharmacy_id"]).first()
    is_open = (
        mask_round is not None
        and mask_round.status == RoundStatus.OPEN
        and mask_round.opens_at <= now < mask_round.closes_at
    )
    return {
        "committee": committee,
        "round": mask_round,
        "round_open": is_open,
        "figures": figures,
        "pharmacy": pharmacy,
        "phone": verified_phone(request),
        "phone_masked": mask_phone(verified_phone(request) or ""),
        "format_help": FORMAT_HELP,
        "compounds": OrgUnit.objects.filter(kind=Kind.COMPOUND, committee=committee).order_by("name"),
        "phone_limit": PHONE_ROUND_LIMIT,
        **extra,
    }


@public
@require_GET
def committee_page(request, code: str):
    committee = _committee(code)
    return render(request, "masks/public/committee.html", _committee_context(request, committee, form=PhoneForm()))


@public
@require_GET
def committee_qr(request, code: str):
    committee = _committee(code)
    url = request.build_absolute_uri(reverse("masks:public_committee", kwargs={"code": committee.code}))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=10, border=4, title=f"{committee.name} 口罩预约")
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@public
@require_GET
def committee_poster(request, code: str):
    committee = _committee(code)
    url = request.build_absolute_uri(reverse("masks:public_committee", kwargs={"code": committee.code}))
    return render(
        request,
        "masks/public/poster.html",
        {"committee": committee, "url": url, "qr": mark_safe(_qr_svg(url)), "format_help": FORMAT_HELP},
    )


@public
@require_POST
def otp_send(request, code: str):
    committee = _committee(code)
    form = PhoneForm(request.POST)
    if form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            otp_request(phone=phone, purpose=OTP_PURPOSE, ip=client_ip(request))
        except OtpError as exc:
            if exc.code == "too_soon" and request.session.get(SESSION_PENDING) == phone:
                messages.info(request, exc.messages[0])
                return redirect("masks:public_verify", code=committee.code)
            form.add_error("phone", exc.messages[0])
        else:
            request.session[SESSION_PENDING] = phone
            request.session[SESSION_COMMITTEE] = committee.code
            return redirect("masks:public_verify", code=committee.code)
    context = _committee_context(request, committee, form=form)
    return render(request, "masks/public/committee.html", context, status=400)


@public
def otp_check(request, code: str):
    committee = _committee(code)
    phone = request.session.get(SESSION_PENDING)
    if not phone:
        messages.info(request, "请先填写手机号码获取验证码")
        return redirect("masks:public_committee", code=committee.code)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            otp_verify(phone=phone, purpose=OTP_PURPOSE, code=form.cleaned_data["code"])
        except OtpError as exc:
            form.add_error("code", exc.messages[0])
        else:
            request.session.cycle_key()  # a new session id once the phone is proven
            request.session.pop(SESSION_PENDING, None)
            request.session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + VERIFIED_FOR).isoformat()}
            request.session[SESSION_COMMITTEE] = committee.code
            return redirect("masks:public_reserve", code=committee.code)
    return render(
        request,
        "masks/public/verify.html",
        {"committee": committee, "form": form, "phone_masked": mask_phone(phone)},
        status=400 if form.errors else 200,
    )


@public
@require_POST
def phone_logout(request):
    for key in (SESSION_PHONE, SESSION_PENDING):
        request.session.pop(key, None)
    code = request.session.get(SESSION_COMMITTEE)
    messages.info(request, "已退出")
    return redirect("masks:public_committee", code=code) if code else redirect("masks:public_open")


# --- reservation and status ---------------------------------------------------------------


def _prefill(committee: OrgUnit, phone: str) -> dict:
    """The roster's address for this phone in this committee: one household only, else nothing."""
    matches = list(
        Resident.objects.filter(
            mobile=phone, household__committee=committee, living_status__in=(LivingStatus.HERE, LivingStatus.AWAY)
        ).select_related("household__building", "household__compound")[:10]
    )
    households = {r.household_id for r in matches}
    if len(households) != 1:
        return {}
    household = matches[0].household
    initial = {"compound": household.compound_id, "building": household.building.name, "room": household.room}
    if len(matches) == 1:
        initial["name"] = matches[0].name
    return initial


@resident_phone
def reserve(request, code: str):
    committee = _committee(code)
    phone = request.resident_phone
    mask_round = current_round(committee, at=timezone.now())
    initial = _prefill(committee, phone)
    form = ReservationForm(request.POST or None, committee=committee, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if mask_round is None:
            form.add_error(None, "目前没有进行中的口罩预约轮次")
        else:
            try:
                outcome = resident_reserve(
                    round=mask_round,
                    phone=phone,
                    channel=Channel.ONLINE,
                    name=data["name"],
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    committee=committee,
                    household=data.get("household"),
                    address_text=data["address_text"],
                )
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                r = outcome.reservation
                if not outcome.own:
                    form.add_error(None, "该证件本轮已由其他手机号预约,请用登记时的手机号查询,或联系居委会。")
                else:
                    if not outcome.created:
                        messages.info(request, f"您本轮已预约,预约号 {r.number},无需重复登记。")
                    elif r.status == ReservationStatus.VERIFYING:
                        messages.success(
                            request,
                            f"已登记,预约号 {r.number}。您的信息不在本小区居民名单中,已转居委会核实;"
                            "核实后按登记时间排队,请留意短信,无需重复登记。",
                        )
                    else:
                        messages.success(request, f"预约成功,预约号 {r.number}。到货后将短信通知您到指定药店购买。")
                    return redirect("masks:public_status")
    context = _committee_context(request, committee, form=form, prefilled=bool(initial))
    return render(request, "masks/public/reserve.html", context, status=400 if form.errors else 200)


def _errors_to_form(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@resident_phone
@require_GET
def status(request):
    phone = request.resident_phone
    reservations = list(
        Reservation.objects.filter(phone=phone).select_related("round", "pharmacy").order_by("-order_at", "-pk")[:20]
    )
    vouchers = list(
        Voucher.objects.filter(reservation__phone=phone)
        .select_related("pharmacy", "reservation")
        .order_by("-issued_at", "-pk")[:20]
    )
    for v in vouchers:
        v.display_number = format_voucher_number(v.number)  # type: ignore[attr-defined]
        v.qr = mark_safe(_qr_svg(v.number))  # type: ignore[attr-defined]
    return render(
        request,
        "masks/public/status.html",
        {
            "phone_masked": mask_phone(phone),
            "reservations": reservations,
            "vouchers": vouchers,
            "committee_code": request.session.get(SESSION_COMMITTEE, ""),
        },
    )


# --- transparency pages and open data -----------------------------------------------------


def _public_round(round_id: int) -> MaskRound:
    return get_object_or_404(MaskRound.objects.select_related("scope").exclude(status=RoundStatus.DRAFT), pk=round_id)


@public
@require_GET
def open_index(request):
    rounds = MaskRound.objects.exclude(status=RoundStatus.DRAFT).select_related("scope").order_by("-opens_at")
    return render(
        request,
        "masks/public/open_index.html",
        {"rounds": rounds, "pharmacy_fields": PHARMACY_FIELDS, "committee_fields": COMMITTEE_FIELDS},
    )


@public
@require_GET
def open_round(request, round_id: int):
    mask_round = _public_round(round_id)
    return render(
        request,
        "masks/public/open_round.html",
        {
            "round": mask_round,
            "pharmacies": _band_label(pharmacy_rows(mask_round)),
            "committees": _band_label(committee_rows(mask_round)),
        },
    )


@public
@require_GET
def pharmacy_page(request, pk: int):
    pharmacy = get_object_or_404(Pharmacy, pk=pk, active=True)
    ancestors = [int(p) for p in pharmacy.street.path.strip("/").split("/") if p]
    rounds = list(
        MaskRound.objects.filter(scope_id__in=ancestors)
        .exclude(status=RoundStatus.DRAFT)
        .select_related("scope")
        .order_by("-opens_at")[:6]
    )
    sections = []
    for r in rounds:
        rows = pharmacy_rows(r, pharmacy_ids=[pharmacy.pk])
        if rows:
            committees = [c for c in committee_rows(r) if c["pharmacy_id"] == pharmacy.pk]
            sections.append({"round": r, "figures": _band_label(rows)[0], "committees": committees})
    return render(request, "masks/public/pharmacy.html", {"pharmacy": pharmacy, "sections": sections})


def _open_meta(mask_round: MaskRound) -> dict:
    return {
        "id": mask_round.pk,
        "name": mask_round.name,
        "status": mask_round.status,
        "masks_per_household": mask_round.masks_per_household,
        "opens_at": mask_round.opens_at.isoformat(),
        "closes_at": mask_round.closes_at.isoformat(),
    }


def _open_response(request, mask_round: MaskRound, kind: str, fmt: str, rows: list[dict], fields) -> HttpResponse:
    as_of = timezone.now().isoformat()
    response: HttpResponse
    if fmt == "json":
        response = JsonResponse(
            {"round": _open_meta(mask_round), "generated_at": as_of, kind: rows},
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        out = io.StringIO()
        out.write("\ufeff")  # so that Excel on Chinese Windows reads UTF-8
        writer = csv.writer(out)
        names = [name for name, _label in fields]
        writer.writerow(["round_id", "generated_at", *names])
        for row in rows:
            writer.writerow([mask_round.pk, as_of, *(row[n] for n in names)])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="round{mask_round.pk}-{kind}.csv"'
    patch_cache_control(response, public=True, max_age=OPEN_DATA_MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@public
@require_GET
def open_pharmacies(request, round_id: int, fmt: str):
    mask_round = _public_round(round_id)
    return _open_response(request, mask_round, "pharmacies", fmt, pharmacy_rows(mask_round), PHARMACY_FIELDS)


@public
@require_GET
def open_committees(request, round_id: int, fmt: str):
    mask_round = _public_round(round_id)
    return _open_response(request, mask_round, "committees", fmt, committee_rows(mask_round), COMMITTEE_FIELDS)
