"""The residents' JSON API for mask reservations, for apps and mini-programs (and the load test).

    POST /masks/api/code          {"committee": "<code>", "phone": "139..."}      -> 202, SMS sent
    POST /masks/api/token         {"phone": "139...", "code": "123456"}           -> 200 {"token", "expires_at"}
    POST /masks/api/reservations  {"round": 7, "committee": "<code>", "name", "id_type", "id_number",
                                   optional "compound" (id), "building", "room"}  -> 201 new / 200 the same again
                                                                                  / 202 awaiting verification
    GET  /masks/api/reservations  -> 200 {"reservations": [...]} of the phone, with their vouchers

The reservation calls carry `Authorization: Bearer <token>` (xiuhua.masks.phone_tokens): a phone
proven by a one-time code in the last 30 minutes, checked without a database read. No cookies are
involved, so there is no CSRF check. Rules are the phone pages' (the same services): one
reservation per person and household per round, PHONE_ROUND_LIMIT per phone. The person takes
their household's place only when the name and committee are the roster's for the number;
otherwise (or not on the roster) the entry goes to the committee's verification queue when an
address is given, and the answer is always the same 202, whatever the reason.

Errors are JSON with Chinese messages: 400 a body that is not a JSON object or nests too deep,
401 no or expired token, 404 unknown round, 409 the person reserved from another phone, 413 body
too large, 422 {"detail": {field: [messages]}}, 429 too many codes or lookups (with Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from xiuhua.core.jsonbody import JsonBodyError, parse_json_body
from xiuhua.core.lookups import LookupThrottled
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.policy import POLICY_ATTR, public
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.sms.otp import OtpError, otp_request, otp_verify

from . import phone_tokens
from .codes import format_voucher_number
from .forms_public import ReservationForm
from .models import Channel, MaskRound, Reservation, ReservationStatus, RoundStatus, Voucher
from .services.reservations import reservation_submit_one_statement, reservation_submit_resident
from .views_public import OTP_PURPOSE, client_ip

MAX_BODY = 4096  # the largest reservation is a few hundred bytes
MAX_DEPTH = 4  # every request is one flat object
# The one answer for every entry that waits for verification, whether the number is not on the
# roster or the name or committee is not the roster's: nothing in it tells them apart.
VERIFYING_ANSWER = _lazy("已收到登记,需居委会核实后生效。请稍后用本手机号查询核实结果,如有疑问请联系居委会。")
TEXT_FIELDS = {"committee": 12, "name": 50, "id_type": 16, "id_number": 24, "building": 20, "room": 20}


class ApiError(Exception):
    def __init__(self, status: int, detail: Any):
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _handles_errors(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ApiError as exc:
            return _json({"detail": exc.detail}, status=exc.status)
        except ValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            return _json({"detail": detail}, status=422)
        except LookupThrottled as exc:
            response = _json({"detail": exc.message}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response

    return wrapped


def resident_token(view: Callable) -> Callable:
    """A bearer token for a proven phone (no staff login, no session)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        phone = phone_tokens.phone_of(token.strip()) if scheme.lower() == "bearer" else None
        if phone is None:
            response = _json({"detail": _("请先验证手机号码")}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="xiuhua-resident"'
            return response
        request.resident_phone = phone  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    setattr(wrapped, POLICY_ATTR, "resident_token")
    return wrapped


def _body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object sent, with text fields stripped and capped; raises ApiError."""
    try:
        data = parse_json_body(request, max_bytes=MAX_BODY, max_depth=MAX_DEPTH, empty={})
    except JsonBodyError as exc:
        raise ApiError(exc.status_code, exc.message) from None
    if not isinstance(data, dict):
        raise ApiError(400, _("请求体须为 JSON 对象"))
    errors: dict[str, list[str]] = {}
    for field, limit in TEXT_FIELDS.items():
        value = data.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[field] = [_("请填写文本")]
        elif len(value.strip()) > limit:
            errors[field] = [_("不能超过 %(limit)s 个字符") % {"limit": limit}]
        else:
            data[field] = value.strip()
    if errors:
        raise ApiError(422, errors)
    return data


def _integer(data: dict, field: str, *, required: bool) -> int | None:
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise ApiError(422, {field: [_("此项为必填项")]})
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ApiError(422, {field: [_("请填写整数")]})
    return value


def _phone(data: dict) -> str:
    raw = data.get("phone")
    try:
        phone = normalise_mobile(raw if isinstance(raw, str) else "")
    except PhoneError as exc:
        raise ApiError(422, {"phone": [str(exc)]}) from None
    if not phone:
        raise ApiError(422, {"phone": [_("请填写手机号码")]})
    return phone


def _reservation_out(r: Reservation, *, created: bool) -> dict[str, Any]:
    return {
        "number": r.number,
        "round": r.round_id,
        "status": r.status,
        "status_label": str(ReservationStatus(r.status).label),
        "order_at": timezone.localtime(r.order_at).isoformat(),
        "created": created,
    }


# --- one-time code and token ----------------------------------------------------------------


@csrf_exempt
@public
@require_POST
@_handles_errors
def code_send(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    phone = _phone(data)
    if not OrgUnit.objects.filter(kind=Kind.COMMITTEE, code=data.get("committee") or "").exists():
        raise ApiError(422, {"committee": [_("未找到该居委会")]})
    try:
        otp_request(phone=phone, purpose=OTP_PURPOSE, ip=client_ip(request))
    except OtpError as exc:
        status = 429 if exc.retry_after else 422
        response = _json({"detail": {"phone": exc.messages}}, status=status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    return _json({"detail": _("验证码已发送")}, status=202)


@csrf_exempt
@public
@require_POST
@_handles_errors
def token_issue(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    phone = _phone(data)
    code = data.get("code")
    try:
        otp_verify(phone=phone, purpose=OTP_PURPOSE, code=code if isinstance(code, str) else "")
    except OtpError as exc:
        raise ApiError(422, {"code": exc.messages}) from None
    expires_at = timezone.localtime() + phone_tokens.VALID_FOR
    return _json({"token": phone_tokens.issue(phone), "expires_at": expires_at.isoformat()})


# --- reservations ---------------------------------------------------------------------------


@csrf_exempt
@resident_token
@require_http_methods(["GET", "POST"])
@_handles_errors
def reservations(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _list(request.resident_phone)  # type: ignore[attr-defined]
    return _reserve(request, request.resident_phone)  # type: ignore[attr-defined]


def _reserve(request: HttpRequest, phone: str) -> HttpResponse:
    data = _body(request)
    round_id = _integer(data, "round", required=True)
    assert round_id is not None
    id_type = data.get("id_type") or "resident_id"
    now = timezone.now()
    ip = client_ip(request)
    with_address = any(data.get(f) for f in ("compound", "building", "room"))
    if not with_address:  # the busy day's common case: one statement, nothing else read
        made = reservation_submit_one_statement(
            round_id=round_id, committee_code=data.get("committee") or "", phone=phone, channel=Channel.ONLINE,
            name=data.get("name") or "", id_type=id_type, id_number=data.get("id_number") or "", now=now,
            client_ip=ip,
        )
        if made is not None:
            return _json(_reservation_out(made, created=True), status=201)
    mask_round = MaskRound.objects.exclude(status=RoundStatus.DRAFT).filter(pk=round_id).first()
    if mask_round is None:
        raise ApiError(404, _("未找到该预约轮次"))
    committee = OrgUnit.objects.filter(kind=Kind.COMMITTEE, code=data.get("committee") or "").first()
    if committee is None:
        raise ApiError(422, {"committee": [_("未找到该居委会")]})
    household, address_text = None, ""
    if with_address:
        form = ReservationForm(
            {
                "name": data.get("name") or "", "id_type": id_type, "id_number": data.get("id_number") or "",
                "compound": _integer(data, "compound", required=True), "building": data.get("building") or "",
                "room": data.get("room") or "",
            },
            committee=committee,
        )
        if not form.is_valid():
            raise ApiError(422, {field: [str(m) for m in messages] for field, messages in form.errors.items()})
        household, address_text = form.cleaned_data.get("household"), form.cleaned_data["address_text"]
    outcome = reservation_submit_resident(
        round=mask_round, phone=phone, channel=Channel.ONLINE, name=data.get("name") or "", id_type=id_type,
        id_number=data.get("id_number") or "", committee=committee, household=household,
        address_text=address_text, now=now, one_statement=with_address,  # not tried above
        client_ip=ip,
    )
    if outcome.reservation.status == ReservationStatus.VERIFYING:
        return _json({"status": ReservationStatus.VERIFYING.value, "detail": str(VERIFYING_ANSWER)}, status=202)
    if not outcome.own:
        raise ApiError(409, _("该证件本轮已由其他手机号预约,请用登记时的手机号查询,或联系居委会"))
    return _json(_reservation_out(outcome.reservation, created=outcome.created), status=201 if outcome.created else 200)


def _list(phone: str) -> HttpResponse:
    rows = list(
        Reservation.objects.filter(phone=phone).select_related("pharmacy").order_by("-order_at", "-pk")[:20]
    )
    vouchers: dict[int, Voucher] = {}
    for v in Voucher.objects.filter(reservation__in=rows).order_by("issued_at", "pk"):
        vouchers[v.reservation_id] = v  # the latest voucher of each reservation
    out = []
    for r in rows:
        item = _reservation_out(r, created=False)
        item.pop("created")
        item["status_reason"] = r.status_reason
        item["pharmacy"] = {"name": r.pharmacy.name, "address": r.pharmacy.address}
        v = vouchers.get(r.pk)
        item["voucher"] = None if v is None else {
            "number": format_voucher_number(v.number),
            "masks": v.masks,
            "status": v.status,
            "expires_at": timezone.localtime(v.expires_at).isoformat(),
        }
        out.append(item)
    return _json({"reservations": out})
