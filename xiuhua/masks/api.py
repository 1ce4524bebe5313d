"""The residents' JSON API for mask reservations, for apps and mini-programs (and the load test).

    POST /masks/api/code          {"committee": "<code>", "phone": "139..."}      -> 202, SMS sent
    POST /masks/api/token         {"phone": "139...", "code": "123456"}           -> 200 {"token", "expires_at"}
    POST /masks/api/reservations  {"round": 7, "committee": "<code>", "name", "id_type", "id_number",
                                   optional "compound" (id), "building", "room"}  -> 201 new / 200 the same again
                                                                                  / 202 awaiting verification
    GET  /masks/api/reservations  -> 200 {"reservations": [...]} of the phone, with their vouchers

A Django Ninja router, served by `xiuhua.api.resident_api` at /masks/api/ (where apps call it) and
documented in the one spec at /api/openapi.json; errors have the API's one shape, see xiuhua/api.py.
The reservation calls carry `Authorization: Bearer <token>` (xiuhua.masks.phone_tokens): a phone
proven by a one-time code in the last 30 minutes, checked without a database read. No cookies are
involved, so there is no CSRF check. Rules are the phone pages' (the same services): one
reservation per person and household per round, PHONE_ROUND_LIMIT per phone. The person takes
their household's place only when the name and committee are the roster's for the number;
otherwise (or not on the roster) the entry goes to the committee's verification queue when an
address is given, and the answer is always the same 202, whatever the reason.

Errors are JSON with Chinese messages: 400 a body that is not a JSON object or nests too deep,
401 no or expired token, 404 unknown round, 409 the person reserved from another phone, 413 body
too large, 422 {"detail": {field: [messages]}}, 429 too many codes or lookups (with Retry-After),
503 the server is past capacity (with Retry-After; core/admission.py answers it before anything
is read or done).

Retrying. The reservation's idempotency key is the request itself: one place per person and
round, and one waiting entry per person and phone, enforced by unique indexes. So a client that
got 503, 500, a timeout or a dropped connection sends the same body with the same token again,
waiting at least Retry-After and then exponentially longer with full jitter (e.g. a random time
up to 1, 2, 4 … 30 s): the retry either makes the reservation (201) or finds the one an earlier
try made (200, `"created": false`, the same number), never a second one. 429 is a refusal of the
caller, not of the server: retrying it early counts against the limit again.
"""

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from ninja import Router, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import core_schema

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


# ---------------------------------------------------------------- who is calling


class PhoneNotVerified(AuthenticationError):
    """No token, or one that is not (or no longer) valid: the app must prove the phone again."""

    realm = "xiuhua-resident"

    def __init__(self) -> None:
        super().__init__(message=_("请先验证手机号码"))


class ResidentTokenAuth(HttpBearer):
    """`Authorization: Bearer <phone token>`; `request.auth` is then the proven phone."""

    def __call__(self, request: HttpRequest) -> str:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        phone = self.authenticate(request, token.strip()) if scheme.lower() == "bearer" else None
        if phone is None:
            raise PhoneNotVerified  # Ninja's own refusal would say "Unauthorized", for staff tokens
        return phone

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return phone_tokens.phone_of(token)


def resident_token(view: Any) -> Any:
    """Marks an operation for a proven phone (ResidentTokenAuth), as `public` marks an open one."""
    setattr(view, POLICY_ATTR, "resident_token")
    return view


phone_token = ResidentTokenAuth()


# ---------------------------------------------------------------- input
#
# The fields are read as the apps have always sent them: any other key is ignored, text is
# stripped and capped, and each field answers with its own message in the one error shape.
# Plain pydantic models, not ninja.Schema: nothing here is read from a Django object, and
# Schema's attribute getter cost a third of the API's handling of a reservation (~40 µs).


@dataclass(frozen=True)
class CappedText:
    """`Annotated[str | None, CappedText(50)]`: text, stripped, at most `limit` characters; null
    is as good as absent."""

    limit: int

    def check(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(_("请填写文本"))
        value = value.strip()
        if len(value) > self.limit:
            raise ValueError(_("不能超过 %(limit)s 个字符") % {"limit": self.limit})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.limit}


def positive_integer(value: Any) -> int:
    """A JSON integer above zero: "7", 7.0 and true are not."""
    if value is None or value == "":
        raise ValueError(_("此项为必填项"))
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(_("请填写整数"))
    return value


def _mobile(value: Any) -> str:
    try:
        phone = normalise_mobile(value if isinstance(value, str) else "")
    except PhoneError as exc:
        raise ValueError(str(exc)) from None
    if not phone:
        raise ValueError(_("请填写手机号码"))
    return phone


PositiveInteger = Annotated[int, PlainValidator(positive_integer), WithJsonSchema({"type": "integer", "minimum": 1})]
Mobile = Annotated[str, PlainValidator(_mobile), WithJsonSchema({"type": "string", "example": "13900001234"})]
# Anything but text is an empty (so wrong) code.
OtpCode = Annotated[str, PlainValidator(lambda value: value if isinstance(value, str) else ""),
                    WithJsonSchema({"type": "string", "example": "123456"})]


class CodeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["committee", "phone"]})

    committee: Annotated[str | None, CappedText(12)] = Field(None, description="居委会12位统计代码")
    phone: Mobile = Field(None, validate_default=True)  # a missing phone is asked for like an empty one


class TokenIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["phone", "code"]})

    phone: Mobile = Field(None, validate_default=True)
    code: OtpCode = Field("", description="短信验证码")


class ReservationIn(BaseModel):
    round: PositiveInteger = Field(description="预约轮次编号")
    committee: Annotated[str | None, CappedText(12)] = Field(None, description="居委会12位统计代码")
    name: Annotated[str | None, CappedText(50)] = None
    id_type: Annotated[str | None, CappedText(16)] = Field(None, description="证件类型,默认居民身份证 resident_id")
    id_number: Annotated[str | None, CappedText(24)] = None
    # Read only with an address (a building or room given, or this): so checked in the view.
    compound: Any = Field(None, description="小区编号;不在花名册上的居民填写小区、楼号和室号",
                          json_schema_extra={"type": "integer", "minimum": 1})
    building: Annotated[str | None, CappedText(20)] = None
    room: Annotated[str | None, CappedText(20)] = None


# ---------------------------------------------------------------- output


class DetailOut(BaseModel):
    """The API's one error shape: a message, or messages by field."""

    detail: str | dict[str, list[str]]


class TokenOut(BaseModel):
    token: str
    expires_at: str = Field(description="北京时间,ISO 8601")


class ReservationOut(BaseModel):
    number: str
    round: int
    status: str
    status_label: str
    order_at: str = Field(description="北京时间,ISO 8601")
    created: bool = Field(description="false:同一登记再次提交,返回原预约")


class VerifyingOut(BaseModel):
    status: Literal["verifying"]
    detail: str


class PharmacyOut(BaseModel):
    name: str
    address: str


class VoucherOut(BaseModel):
    number: str
    masks: int
    status: str
    expires_at: str


class ListedReservationOut(BaseModel):
    number: str
    round: int
    status: str
    status_label: str
    order_at: str
    status_reason: str
    pharmacy: PharmacyOut
    voucher: VoucherOut | None


class ReservationsOut(BaseModel):
    reservations: list[ListedReservationOut]


# The error answers each operation may give, all in the one shape (DetailOut).
BODY_ERRORS = frozenset({400, 413, 422})

router = Router(tags=["masks"])


def _reservation_fields(r: Reservation) -> dict[str, Any]:
    return {
        "number": r.number,
        "round": r.round_id,
        "status": r.status,
        "status_label": str(ReservationStatus(r.status).label),
        "order_at": timezone.localtime(r.order_at).isoformat(),
    }


def _reservation_out(r: Reservation, *, created: bool) -> ReservationOut:
    # Returned as the model itself, Ninja serialises it without validating it a second time
    # through its own wrapper (a few µs on every reservation of the burst).
    return ReservationOut(**_reservation_fields(r), created=created)


# ---------------------------------------------------------------- one-time code and token


@router.post("/code", url_name="public_api_code", auth=None, response={202: DetailOut, BODY_ERRORS | {429}: DetailOut})
@public
def code_send(request: HttpRequest, payload: CodeIn, response: HttpResponse) -> Status:
    """Sends a one-time code by SMS to a phone, for a committee's residents."""
    if not OrgUnit.objects.filter(kind=Kind.COMMITTEE, code=payload.committee or "").exists():
        raise ValidationError({"committee": [_("未找到该居委会")]})
    try:
        otp_request(phone=payload.phone, purpose=OTP_PURPOSE, ip=client_ip(request))
    except OtpError as exc:
        if not exc.retry_after:
            raise ValidationError({"phone": exc.messages}) from None
        response["Retry-After"] = str(exc.retry_after)
        return Status(429, {"detail": {"phone": exc.messages}})
    return Status(202, {"detail": _("验证码已发送")})


@router.post("/token", url_name="public_api_token", auth=None, response={200: TokenOut, BODY_ERRORS: DetailOut})
@public
def token_issue(request: HttpRequest, payload: TokenIn) -> dict[str, str]:
    """The code sent to the phone buys a bearer token for it, valid for 30 minutes."""
    try:
        otp_verify(phone=payload.phone, purpose=OTP_PURPOSE, code=payload.code)
    except OtpError as exc:
        raise ValidationError({"code": exc.messages}) from None
    expires_at = timezone.localtime() + phone_tokens.VALID_FOR
    return {"token": phone_tokens.issue(payload.phone), "expires_at": expires_at.isoformat()}


# ---------------------------------------------------------------- reservations


@router.post(
    "/reservations", url_name="public_api_reservations", auth=phone_token,
    response={
        201: ReservationOut, 200: ReservationOut, 202: VerifyingOut, BODY_ERRORS | {401, 404, 409, 429}: DetailOut,
    },
)
@resident_token
def reservation_submit(request: HttpRequest, payload: ReservationIn) -> Status:
    """Reserves masks for one person in a round, on the proven phone: 201 new, 200 the same again,
    202 waiting for the committee's check (one answer, whatever the reason)."""
    phone: str = request.auth  # type: ignore[attr-defined]
    id_type = payload.id_type or "resident_id"
    now = timezone.now()
    ip = client_ip(request)
    with_address = any((payload.compound, payload.building, payload.room))
    if not with_address:  # the busy day's common case: one statement, nothing else read
        made = reservation_submit_one_statement(
            round_id=payload.round, committee_code=payload.committee or "", phone=phone, channel=Channel.ONLINE,
            name=payload.name or "", id_type=id_type, id_number=payload.id_number or "", now=now, client_ip=ip,
        )
        if made is not None:
            return Status(201, _reservation_out(made, created=True))
    mask_round = MaskRound.objects.exclude(status=RoundStatus.DRAFT).filter(pk=payload.round).first()
    if mask_round is None:
        raise HttpError(404, _("未找到该预约轮次"))
    committee = OrgUnit.objects.filter(kind=Kind.COMMITTEE, code=payload.committee or "").first()
    if committee is None:
        raise ValidationError({"committee": [_("未找到该居委会")]})
    household, address_text = None, ""
    if with_address:
        try:
            compound = positive_integer(payload.compound)
        except ValueError as exc:
            raise ValidationError({"compound": [str(exc)]}) from None
        form = ReservationForm(
            {
                "name": payload.name or "", "id_type": id_type, "id_number": payload.id_number or "",
                "compound": compound, "building": payload.building or "", "room": payload.room or "",
            },
            committee=committee,
        )
        if not form.is_valid():
            raise ValidationError({field: [str(m) for m in messages] for field, messages in form.errors.items()})
        household, address_text = form.cleaned_data.get("household"), form.cleaned_data["address_text"]
    outcome = reservation_submit_resident(
        round=mask_round, phone=phone, channel=Channel.ONLINE, name=payload.name or "", id_type=id_type,
        id_number=payload.id_number or "", committee=committee, household=household,
        address_text=address_text, now=now, one_statement=with_address,  # not tried above
        client_ip=ip,
    )
    if outcome.reservation.status == ReservationStatus.VERIFYING:
        return Status(202, {"status": ReservationStatus.VERIFYING.value, "detail": str(VERIFYING_ANSWER)})
    if not outcome.own:
        raise HttpError(409, _("该证件本轮已由其他手机号预约,请用登记时的手机号查询,或联系居委会"))
    return Status(201 if outcome.created else 200, _reservation_out(outcome.reservation, created=outcome.created))


@router.get(
    "/reservations", url_name="public_api_reservations", auth=phone_token,
    response={200: ReservationsOut, 401: DetailOut},
)
@resident_token
def reservations_list(request: HttpRequest) -> dict[str, Any]:
    """The proven phone's last 20 reservations, newest first, each with its latest voucher."""
    phone: str = request.auth  # type: ignore[attr-defined]
    rows = list(
        Reservation.objects.filter(phone=phone).select_related("pharmacy").order_by("-order_at", "-pk")[:20]
    )
    vouchers: dict[int, Voucher] = {}
    for v in Voucher.objects.filter(reservation__in=rows).order_by("issued_at", "pk"):
        vouchers[v.reservation_id] = v  # the latest voucher of each reservation
    out = []
    for r in rows:
        item = _reservation_fields(r)
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
    return {"reservations": out}
