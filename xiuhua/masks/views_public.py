"""Resident and public pages of the mask module: committee QR pages, phone login by one-time
SMS code, the reservation form, the resident's status page, and public transparency pages and
open data (no login, no personal data).

Residents have no User: a verified phone is kept in the session for 30 minutes
(xiuhua.core.resident_phone, shared with the other resident pages). Views that need it use
`@resident_phone`, which declares the "resident_phone" policy for the URL walk (no staff login
is involved) and sends an unverified visitor back to the committee page.

Public figures come from `selectors` (`pharmacy_rows`, `committee_rows`), each read in one SQL
statement from committed rows.
"""

from __future__ import annotations

import csv
import io

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from xiuhua.core.crypto import mask_phone
from xiuhua.core.lookups import LookupThrottled
from xiuhua.core.policy import public
from xiuhua.core.qr import qr_svg_inline, qr_svg_response
from xiuhua.core.resident_phone import SESSION_PENDING as SESSION_PENDING
from xiuhua.core.resident_phone import SESSION_PHONE as SESSION_PHONE
from xiuhua.core.resident_phone import VERIFIED_FOR as VERIFIED_FOR
from xiuhua.core.resident_phone import (
    PhoneForm,
    PhoneSignIn,
    verified_phone,
)
from xiuhua.core.resident_phone import client_ip as client_ip
from xiuhua.core.resident_phone import resident_phone as _resident_phone
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import LivingStatus, Resident

from .codes import format_voucher_number
from .forms_public import ReservationForm
from .models import Channel, MaskRound, Pharmacy, Reservation, ReservationStatus, RoundStatus, Voucher
from .selectors import committee_rows, pharmacy_rows, with_band_labels
from .services.reservations import PHONE_ROUND_LIMIT, reservation_submit_resident
from .sms_channel import FORMAT_HELP, current_round

# SESSION_PENDING, SESSION_PHONE, VERIFIED_FOR and client_ip are imported "as" themselves above:
# re-exported for the mask tests and the resident API (masks/api.py), which import them from here.
# What a resident whose entry waits for the committee's check is told, on the page, in the app and
# (shortened) by SMS; the same for every reason an entry waits.
VERIFYING_MESSAGE = gettext_lazy("已收到登记,需居委会核实后生效。请稍后在本页查询核实结果,如有疑问请联系居委会。")
SESSION_COMMITTEE = "masks_committee"
OTP_PURPOSE = "masks_login"
OPEN_DATA_MAX_AGE = 30

# A resident whose phone was verified by SMS code; an unverified one goes back to the committee page.
resident_phone = _resident_phone(
    start="masks:public_committee", code_session_key=SESSION_COMMITTEE, template="masks/public/need_phone.html"
)


def sms_number() -> str:
    """The platform's number that residents text (口罩 ...), from the SMS_INBOUND_NUMBER setting
    (the provider's long number, e.g. 1069...); empty when it is not set, and the pages then say
    to ask the committee for it."""
    return settings.SMS_INBOUND_NUMBER.strip()


def _committee(code: str) -> OrgUnit:
    return get_object_or_404(OrgUnit, kind=Kind.COMMITTEE, code=code)


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
    ("stock_band", gettext_lazy(
        "余量档位: awaiting 未到货 / plenty 充足(≥20户) / some 有货(6-19) / few 紧张(1-5) / none 无货"
    )),
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


# --- committee page, QR, phone login -------------------------------------------------------


def _committee_context(request, committee: OrgUnit, **extra) -> dict:
    now = timezone.now()
    mask_round = current_round(committee, at=now)
    figures = None
    pharmacy = None
    if mask_round is not None:
        rows = committee_rows(mask_round, committee_ids=[committee.pk])
        figures = with_band_labels(rows)[0] if rows else None
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
        "sms_number": sms_number(),
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
    return qr_svg_response(url, f"{committee.name} 口罩预约")


@public
@require_GET
def committee_poster(request, code: str):
    committee = _committee(code)
    url = request.build_absolute_uri(reverse("masks:public_committee", kwargs={"code": committee.code}))
    return render(
        request,
        "masks/public/poster.html",
        {"committee": committee, "url": url, "qr": mark_safe(qr_svg_inline(url)), "format_help": FORMAT_HELP,
         "sms_number": sms_number()},
    )


def _remember_committee(request, committee: OrgUnit, sent: bool = True) -> None:
    """The committee the phone was proven for, so that "my reservations" leads back to it (set
    again after the check, in the new session the check made)."""
    if sent:
        request.session[SESSION_COMMITTEE] = committee.code


def _signed_out(request, committee: OrgUnit | None):
    code = request.session.get(SESSION_COMMITTEE)
    return redirect("masks:public_committee", code=code) if code else redirect("masks:public_open")


# The phone is proven by the one resident sign-in (core.resident_phone).
sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request, code=None: _committee(code) if code else None,
    phone_page=lambda request, committee, form: render(
        request, "masks/public/committee.html", _committee_context(request, committee, form=form), status=400),
    verify_template="masks/public/verify.html",
    verify_context=lambda committee: {"committee": committee},
    start=lambda committee: redirect("masks:public_committee", code=committee.code),
    verify=lambda committee: redirect("masks:public_verify", code=committee.code),
    done=lambda committee: redirect("masks:public_reserve", code=committee.code),
    after_send=_remember_committee,
    after_check=_remember_committee,
    signed_out=_signed_out,
)


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
                outcome = reservation_submit_resident(
                    round=mask_round,
                    phone=phone,
                    channel=Channel.ONLINE,
                    name=data["name"],
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    committee=committee,
                    household=data.get("household"),
                    address_text=data["address_text"],
                    client_ip=client_ip(request),
                )
            except ValidationError as exc:
                _errors_to_form(form, exc)
            except LookupThrottled as exc:
                form.add_error(None, exc.message)
                context = _committee_context(request, committee, form=form, prefilled=bool(initial))
                response = render(request, "masks/public/reserve.html", context, status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
            else:
                r = outcome.reservation
                if r.status == ReservationStatus.VERIFYING:
                    # One message whatever the reason (not on the roster, or a name or committee
                    # that is not the roster's), and no number in it: nothing to tell them apart.
                    messages.info(request, VERIFYING_MESSAGE)
                    return redirect("masks:public_status")
                if not outcome.own:
                    form.add_error(None, "该证件本轮已由其他手机号预约,请用登记时的手机号查询,或联系居委会。")
                else:
                    if not outcome.created:
                        messages.info(request, f"您本轮已预约,预约号 {r.number},无需重复登记。")
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
        v.qr = mark_safe(qr_svg_inline(v.number))  # type: ignore[attr-defined]
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
            "pharmacies": with_band_labels(pharmacy_rows(mask_round)),
            "committees": with_band_labels(committee_rows(mask_round)),
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
            sections.append({"round": r, "figures": with_band_labels(rows)[0], "committees": committees})
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
