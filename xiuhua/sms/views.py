"""The provider's webhooks (public, signed) and the staff outbox page."""

from __future__ import annotations

import datetime as dt
import json
import logging
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import has_cap
from xiuhua.core.policy import public, requires

from . import selectors, services
from .backends import is_dev_backend
from .models import OutboundSms
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_webhook
from .texts import mask_numbers, storable_text

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024
MAX_BATCH = 500
# The provider's clock reads Beijing time when it sends a time without an offset.
PROVIDER_ZONE = ZoneInfo("Asia/Shanghai")


class BadPayload(ValueError):
    pass


def _answer(status: int, msg: str, **extra) -> JsonResponse:
    return JsonResponse({"code": 0 if status == 200 else status, "msg": msg, **extra}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def _verified_items(request: HttpRequest) -> list[dict] | JsonResponse:
    """The signed JSON body as a list of objects, or the refusal to send back."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_WEBHOOK_BYTES:
        return _answer(413, "body too large")
    body = request.body
    if len(body) > MAX_WEBHOOK_BYTES:
        return _answer(413, "body too large")
    if not settings.SMS_WEBHOOK_SECRET:
        logger.error("SMS webhook called but SMS_WEBHOOK_SECRET is not set")
        return _answer(503, "webhook not configured")
    try:
        verify_webhook(
            settings.SMS_WEBHOOK_SECRET,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
        )
    except SignatureError as exc:
        logger.warning("SMS webhook %s refused: %s", request.path, exc)
        return _answer(401, "signature refused")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _answer(400, "body is not JSON")
    items = payload if isinstance(payload, list) else [payload]
    if not items or len(items) > MAX_BATCH or not all(isinstance(i, dict) for i in items):
        return _answer(400, "expected a JSON object or a list of 1-500 objects")
    return items


def parse_provider_time(raw: object) -> dt.datetime:
    """ISO 8601 with or without an offset ("2020-02-05T10:00:00.250+08:00", "2020-02-05
    10:00:00"); without one it is Beijing time. Fractions of a second are kept."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadPayload("missing time")
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadPayload(f"bad time {raw[:40]!r}") from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=PROVIDER_ZONE)
    return value.astimezone(dt.UTC)


def _text(item: dict, key: str, *, max_length: int, required: bool = True) -> str:
    """A text field of an item, cleaned so that it can be stored (storable_text): one message with
    a NUL in it must not fail the whole batch, which the provider would then send again and again."""
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None and not required:
        return ""
    if isinstance(value, str):
        value = storable_text(value)
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadPayload(f"{key} missing")
    if len(value) > max_length:
        raise BadPayload(f"{key} too long")
    return value.strip() if key != "content" else value


def _report(item: dict) -> services.DeliveryReport:
    success = item.get("success")
    if isinstance(success, str) and success.lower() in ("true", "false"):
        success = success.lower() == "true"
    if not isinstance(success, bool):
        raise BadPayload("success must be true or false")
    reported_raw = item.get("report_time")
    reported_at = parse_provider_time(reported_raw) if reported_raw else timezone.now()
    error = " ".join(
        p for p in (_text(item, "err_code", max_length=64, required=False),
                    _text(item, "err_msg", max_length=200, required=False)) if p
    )
    return services.DeliveryReport(
        provider_message_id=_text(item, "biz_id", max_length=64),
        out_id=_text(item, "out_id", max_length=64, required=False),
        success=success,
        reported_at=reported_at,
        error="" if success else error,
    )


def _incoming(item: dict) -> services.IncomingSms:
    raw_time = item.get("receive_time")
    return services.IncomingSms(
        phone=_text(item, "phone_number", max_length=32),
        text=_text(item, "content", max_length=1000),
        provider_message_id=_text(item, "message_id", max_length=64),
        received_at=parse_provider_time(raw_time),
        received_at_raw=str(raw_time),
    )


@public
@csrf_exempt
@require_POST
def webhook_report(request):
    """Delivery reports: [{"biz_id", "success", "err_code", "err_msg", "report_time", ...}]."""
    items = _verified_items(request)
    if isinstance(items, JsonResponse):
        return items
    try:
        reports = [_report(item) for item in items]
    except BadPayload as exc:
        return _answer(400, str(exc))
    try:
        applied, duplicates = services.sms_reports_apply(reports=reports)
    except services.UnknownMessage:
        return _answer(404, "unknown message id")
    if applied == 0:
        return _answer(409, "already recorded", duplicates=duplicates)
    return _answer(200, "成功", applied=applied, duplicates=duplicates)


@public
@csrf_exempt
@require_POST
def webhook_inbound(request):
    """Inbound messages: [{"message_id", "phone_number", "content", "receive_time"}]."""
    items = _verified_items(request)
    if isinstance(items, JsonResponse):
        return items
    try:
        incoming = [_incoming(item) for item in items]
    except BadPayload as exc:
        return _answer(400, str(exc))
    stored, duplicates = services.inbound_store(messages=incoming)
    if not stored:
        return _answer(409, "message id already received", duplicates=duplicates)
    for inbound in sorted(stored, key=lambda s: (s.received_at, s.pk)):
        services.inbound_dispatch(inbound_id=inbound.pk)
    return _answer(200, "成功", stored=len(stored), duplicates=duplicates)


# --- staff pages --------------------------------------------------------------------------


class SimulateForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("手机号码"), max_length=20)
    text = forms.CharField(label=gettext_lazy("短信内容"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


@requires(Cap.VIEW_SMS, Cap.SIMULATE_SMS)
def outbox(request):
    status_filter = request.GET.get("status", "")
    if status_filter not in OutboundSms.Status.values:
        status_filter = ""
    # With the dev backend nothing reaches a phone, so the system administrator reads here what
    # would have: one-time codes and follow-up links in full (demos, training). Never with a
    # real provider, and never for committee staff, who see every message masked.
    dev_handset = is_dev_backend() and has_cap(request.user, Cap.SIMULATE_SMS)
    context = {
        "outbound": selectors.outbox(request.user, status=status_filter),
        "inbound": selectors.inbox(request.user),
        "statuses": OutboundSms.Status.choices,
        "status_filter": status_filter,
        "dev_handset": selectors.dev_deliveries() if dev_handset else None,
        "staff_outbox": has_cap(request.user, Cap.VIEW_SMS),
    }
    return render(request, "sms/outbox.html", context)


def _simulate_page(request, form, *, status=200):
    dev = is_dev_backend()
    return render(request, "sms/simulate.html", {"dev_backend": dev, "form": form if dev else None}, status=status)


@requires(Cap.SIMULATE_SMS)
@require_http_methods(["GET", "POST"])
def simulate(request):
    """The dev backend's inbox: a resident's SMS typed by the system administrator, through the
    real path (demos and training). Committee staff may not: the message acts as its sender."""
    if request.method == "GET":
        return _simulate_page(request, SimulateForm())
    form = SimulateForm(request.POST)
    if not form.is_valid():
        return _simulate_page(request, form, status=400)
    try:
        inbound = services.inbound_simulate(
            actor=request.user, phone=form.cleaned_data["phone"], text=form.cleaned_data["text"]
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return _simulate_page(request, form, status=400)
    if inbound.reply:
        messages.success(request, _("已收到,回复:%(reply)s") % {"reply": mask_numbers(inbound.reply)})
    else:
        messages.info(request, _("已收到,无需回复"))
    return redirect("sms:simulate")
