"""SMS backends: how a queued message leaves the system.

A backend has one method, ``send(sms) -> provider message id``. It raises
``SmsTemporaryError`` when trying again later may work (the task retries with backoff) and
``SmsPermanentError`` when it never will (the message fails at once). settings.SMS_BACKEND names
the class by dotted path.

Two more methods serve the batch worker and the sweep (services.sms_deliver_due, sms_sweep):
``send_many(messages, deadline)`` sends a claimed batch and returns each message's provider id or
error, in order, starting no request after ``deadline`` (time.monotonic()); ``lookup(sms)`` asks
whether the provider has a message whose worker died between the request and the status write:
its provider id if it has, None if it has not, SmsTemporaryError if it cannot tell, and
NotImplementedError when the backend cannot be asked (the message is then never resent).

DevBackend
    Sends nothing. The OutboundSms row is the outbox (shown on the staff page); the id returned
    is ``dev-<row id>``. It logs the masked phone, and the text with codes only when DEBUG.

HttpProviderBackend
    Speaks an API shaped like Alibaba Cloud SMS (dysmsapi ``SendSms``, RPC style)::

        POST {SMS_PROVIDER_URL}
        Content-Type: application/x-www-form-urlencoded; charset=utf-8

        Action=SendSms  Version=2017-05-25  Format=JSON
        AccessKeyId={SMS_ACCESS_KEY_ID}
        SignatureMethod=HMAC-SHA256  SignatureVersion=1.0
        SignatureNonce={uuid4 hex, new for every request}
        Timestamp={UTC, ISO 8601 to the second: 2020-02-05T02:00:00Z}
        PhoneNumbers={11-digit mainland mobile, or country code + number without "+"}
        SignName={SMS_SIGN_NAME}
        TemplateCode={template code, e.g. XH_OTP}
        TemplateParam={JSON object of the parameters, keys sorted, compact, UTF-8, e.g.
                       {"code":"123456"}}
        OutId=xh-{OutboundSms id}   (echoed in delivery reports; lets both sides reconcile)
        Signature={see below}

    Signature (Alibaba's signature version 1.0, with SHA-256 instead of SHA-1):

    1. percent-encode every name and value as UTF-8 per RFC 3986: A-Z a-z 0-9 - _ . ~ stay,
       every other byte becomes %XX with upper-case hex (space is %20, ``*`` is %2A);
    2. sort the encoded pairs by encoded name (byte order) and join them as
       ``name=value`` with ``&``: the canonical query string (Signature itself excluded);
    3. StringToSign = ``POST&%2F&`` + percent-encode(canonical query string);
    4. Signature = base64(HMAC-SHA256(key = SMS_ACCESS_KEY_SECRET + "&", StringToSign)).

    The body is the same pairs plus Signature, percent-encoded the same way. The provider
    answers JSON: ``{"RequestId": "...", "Code": "OK", "Message": "OK", "BizId": "..."}``;
    BizId becomes the row's provider message id, which delivery reports refer to.

    Outcomes: Code "OK" with a BizId -> sent. Rate limiting (isv.BUSINESS_LIMIT_CONTROL,
    isv.DAY_LIMIT_CONTROL, Throttling*) -> temporary, retried later. An invalid or refused
    number, a bad template, sign or parameter (see PERMANENT_CODES) -> permanent, no retry. Any
    other code, an HTTP error without a JSON code, a body that is not JSON, a timeout or a
    connection failure -> temporary. A timed-out request may still have been delivered: the
    retry can then send the message a second time; OutId lets the provider's records show it.

    Connections are kept alive, one per sending thread (a TLS handshake per message would cost
    more than the message); send_many sends SMS_SEND_CONCURRENCY requests at a time.

    lookup() uses the provider's QuerySendDetails (same signing, RPC style)::

        Action=QuerySendDetails  PhoneNumber={as PhoneNumbers above}  SendDate={yyyyMMdd, China time}
        PageSize=50  CurrentPage={1, 2, ...}

    answered ``{"Code": "OK", "TotalCount": n, "SmsSendDetailDTOs": {"SmsSendDetailDTO": [{"OutId":
    "xh-17", "PhoneNum": "...", "SendStatus": 1|2|3, ...}]}}``: the message is there when a record
    carries its OutId. The records hold no BizId, so a message found this way keeps its OutId as
    its provider message id.

Webhooks (delivery reports and inbound messages) are signed differently; see signing.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
import urllib.parse
import uuid
import zoneinfo
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from xiuhua.core.crypto import mask_phone

if TYPE_CHECKING:
    from .models import OutboundSms

logger = logging.getLogger(__name__)

API_VERSION = "2017-05-25"
MAX_RESPONSE_BYTES = 64 * 1024
# A kept-alive connection idle longer than this is closed rather than reused: a server that has
# closed it meanwhile would fail the next request.
KEEPALIVE_IDLE_SECONDS = 4.0
PROVIDER_TIMEZONE = zoneinfo.ZoneInfo("Asia/Shanghai")

RATE_LIMIT_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "Throttling",
     "Throttling.User", "Throttling.Api"}
)
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.INVALID_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
    }
)


class SmsError(Exception):
    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


class SmsTemporaryError(SmsError):
    """Try again later (rate limited, provider down, timeout, unreadable answer)."""


class SmsPermanentError(SmsError):
    """Never going to work for this message (invalid number, refused template)."""


class SmsBackend:
    name = "base"

    def send(self, sms: OutboundSms) -> str:
        raise NotImplementedError

    def send_many(self, messages: Sequence[OutboundSms], *, deadline: float) -> list[str | Exception]:
        """Each message's provider id, or the exception its send raised, in order. A message whose
        turn comes after `deadline` (time.monotonic()) is not sent: SmsTemporaryError "late"."""
        outcomes: list[str | Exception] = []
        for sms in messages:
            outcomes.append(_send_before(self, sms, deadline))
        return outcomes

    def lookup(self, sms: OutboundSms) -> str | None:
        """The provider id of a message the provider has, None if it has not (see above)."""
        raise NotImplementedError


def _send_before(backend: SmsBackend, sms: OutboundSms, deadline: float) -> str | Exception:
    if time.monotonic() > deadline:
        return SmsTemporaryError("not sent: its claim is too old", code="late")
    try:
        return backend.send(sms)
    except Exception as exc:  # recorded per message by the caller
        return exc


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def is_dev_backend() -> bool:
    return isinstance(get_backend(), DevBackend)


class DevBackend(SmsBackend):
    name = "dev"

    def send(self, sms: OutboundSms) -> str:
        if settings.DEBUG:
            # Lets a developer log in with a code; never in production.
            logger.info("dev SMS #%s to %s: %s", sms.pk, mask_phone(sms.phone), sms.text)
        else:
            logger.info("dev SMS #%s to %s: %s", sms.pk, mask_phone(sms.phone), sms.display_text)
        from .models import DevDelivery

        # The stand-in handset: the full text, before the outbox scrubs its secrets.
        now = timezone.now()
        DevDelivery.objects.filter(delivered_at__lt=now - DevDelivery.KEEP).delete()
        DevDelivery.objects.update_or_create(
            sms_id=sms.pk, defaults={"phone": sms.phone, "text": sms.text, "delivered_at": now}
        )
        return f"dev-{sms.pk}"

    def lookup(self, sms: OutboundSms) -> str | None:
        from .models import DevDelivery

        return f"dev-{sms.pk}" if DevDelivery.objects.filter(sms_id=sms.pk).exists() else None


# --- the provider's signature -------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 (A-Z a-z 0-9 - _ . ~ unescaped, upper-case hex)."""
    return urllib.parse.quote(str(value), safe="~")


def canonical_query(params: dict[str, str]) -> str:
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params.items() if k != "Signature")
    return "&".join(f"{k}={v}" for k, v in pairs)


def string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def provider_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def provider_phone(phone: str) -> str:
    """11 digits for the mainland; country code and number without "+" for others."""
    return phone[1:] if phone.startswith("+") else phone


def template_param(params: dict) -> str:
    return json.dumps({k: str(v) for k, v in params.items()}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class HttpProviderBackend(SmsBackend):
    name = "http"

    def __init__(self) -> None:
        self.url = settings.SMS_PROVIDER_URL
        self.key_id = settings.SMS_ACCESS_KEY_ID
        self.secret = settings.SMS_ACCESS_KEY_SECRET
        self.sign_name = settings.SMS_SIGN_NAME
        self.timeout = float(getattr(settings, "SMS_PROVIDER_TIMEOUT", 10))

    def request_params(self, sms: OutboundSms, *, now: dt.datetime | None = None) -> dict:
        return self.signed({
            "Action": "SendSms",
            "PhoneNumbers": provider_phone(sms.phone),
            "SignName": self.sign_name,
            "TemplateCode": sms.template,
            "TemplateParam": template_param(sms.params),
            "OutId": f"xh-{sms.pk}",
        }, now=now)

    def _configured(self) -> None:
        if not (self.url and self.key_id and self.secret and self.sign_name):
            raise SmsTemporaryError("SMS provider not configured (SMS_PROVIDER_URL, keys, sign name)")

    def send(self, sms: OutboundSms) -> str:
        self._configured()
        status, raw = self._post(self.request_params(sms))
        return self.parse_answer(status, raw)

    def send_many(self, messages: Sequence[OutboundSms], *, deadline: float) -> list[str | Exception]:
        if len(messages) <= 1:
            return super().send_many(messages, deadline=deadline)
        return list(_pool().map(lambda sms: _send_before(self, sms, deadline), messages))

    def signed(self, params: dict[str, str], *, now: dt.datetime | None = None) -> dict[str, str]:
        now = now or dt.datetime.now(dt.UTC)
        params = {
            "Version": API_VERSION,
            "Format": "JSON",
            "AccessKeyId": self.key_id,
            "SignatureMethod": "HMAC-SHA256",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **params,
        }
        params["Signature"] = provider_signature(params, self.secret)
        return params

    def lookup(self, sms: OutboundSms) -> str | None:
        self._configured()
        out_id = f"xh-{sms.pk}"
        attempted = sms.last_attempt_at or sms.created_at or dt.datetime.now(dt.UTC)
        days = {attempted.astimezone(PROVIDER_TIMEZONE).date(), dt.datetime.now(PROVIDER_TIMEZONE).date()}
        for day in sorted(days):
            page, seen = 1, 0
            while page <= 20:
                status, raw = self._post(self.signed({
                    "Action": "QuerySendDetails", "PhoneNumber": provider_phone(sms.phone),
                    "SendDate": day.strftime("%Y%m%d"), "PageSize": "50", "CurrentPage": str(page),
                }))
                answer = self.parse_query(status, raw)
                records = ((answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO")) or []
                if any(isinstance(r, dict) and r.get("OutId") == out_id for r in records):
                    return out_id
                seen += len(records)
                if not records or seen >= int(answer.get("TotalCount") or 0):
                    break
                page += 1
        return None

    def _post(self, params: dict[str, str]) -> tuple[int, bytes]:
        """POST the signed pairs on this thread's kept-alive connection; (status, body)."""
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode()
        target = urllib.parse.urlsplit(self.url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        connection = _connection(target, self.timeout)
        try:
            connection.request("POST", path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"})
            response = connection.getresponse()
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES)
            if response.will_close or not response.isclosed():
                _drop_connection()  # closing, or a body longer than we read: not reusable
            else:
                _connections.used_at = time.monotonic()
        except TimeoutError:
            _drop_connection()
            raise SmsTemporaryError("provider timed out", code="timeout") from None
        except (OSError, http.client.HTTPException) as exc:
            _drop_connection()
            raise SmsTemporaryError(f"provider connection failed: {type(exc).__name__}", code="connection") from None
        return status, raw

    @staticmethod
    def parse_query(status: int, raw: bytes) -> dict:
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SmsTemporaryError(f"provider answered HTTP {status} with a body that is not JSON",
                                    code="not_json") from None
        if not isinstance(answer, dict) or answer.get("Code") != "OK" or not 200 <= status < 300:
            code = str(answer.get("Code") or "") if isinstance(answer, dict) else ""
            raise SmsTemporaryError(f"provider could not say whether it has the message: {code or status}",
                                    code=code or f"http_{status}")
        return answer

    @staticmethod
    def parse_answer(status: int, raw: bytes) -> str:
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SmsTemporaryError(f"provider answered HTTP {status} with a body that is not JSON",
                                    code="not_json") from None
        if not isinstance(answer, dict):
            raise SmsTemporaryError(f"provider answered HTTP {status} with unexpected JSON", code="not_json")
        code = str(answer.get("Code") or "")
        message = str(answer.get("Message") or "")[:200]
        if code == "OK" and 200 <= status < 300:
            biz_id = str(answer.get("BizId") or "")
            if not biz_id:
                raise SmsTemporaryError("provider said OK without a BizId", code="no_biz_id")
            return biz_id[:64]
        if not code:
            raise SmsTemporaryError(f"provider answered HTTP {status} without a code", code=f"http_{status}")
        if code in PERMANENT_CODES:
            raise SmsPermanentError(f"{code}: {message}", code=code)
        if code in RATE_LIMIT_CODES or code.startswith("Throttling"):
            raise SmsTemporaryError(f"rate limited: {code}: {message}", code=code)
        raise SmsTemporaryError(f"{code}: {message}", code=code)


# --- connections and the sending threads --------------------------------------------------


class _Connections(threading.local):
    connection: http.client.HTTPConnection | None = None
    key: tuple = ()
    used_at: float = 0.0


_connections = _Connections()


def _connection(target: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
    """This thread's connection to the provider, reused while it is fresh."""
    key = (target.scheme, target.hostname, target.port, timeout)
    current = _connections.connection
    if current is not None and (
            _connections.key != key or time.monotonic() - _connections.used_at > KEEPALIVE_IDLE_SECONDS):
        _drop_connection()
        current = None
    if current is None:
        kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        current = kind(target.hostname or "", target.port, timeout=timeout)
        _connections.connection, _connections.key = current, key
    return current


def _drop_connection() -> None:
    if _connections.connection is not None:
        _connections.connection.close()
    _connections.connection = None


_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """The sending threads of this process (kept, so that their connections are kept)."""
    size = max(1, int(getattr(settings, "SMS_SEND_CONCURRENCY", 8)))
    with _pool_lock:
        pool = _pools.get(size)
        if pool is None:
            pool = _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="sms-send")
        return pool
