"""One-time codes by SMS, for residents' phone login and confirmations.

    otp = otp_request(phone="13812345678", purpose="login", ip=client_ip)   # sends the SMS
    otp_verify(phone="13812345678", purpose="login", code="123456")          # True, or raises

A code is 6 digits from `secrets`, valid 5 minutes, usable once, dead after 5 wrong tries, and
replaced when a new one is requested. Only an HMAC of it is stored (key derived from
DATA_KEY with HKDF, as xiuhua.core.crypto derives its keys), with a random salt; the phone and
the client address are stored only as keyed hashes too. The code itself is in the queued SMS
until it is sent, and scrubbed from that row afterwards.

Limits: one code per phone per 60 seconds, 5 per phone per hour, 10 per client address per
hour. They hold under concurrency: the per-phone and per-address lock rows (core.locks) are locked
(SELECT ... FOR UPDATE) while counting and issuing. Errors are ValidationErrors with Chinese
messages the page can show as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from functools import lru_cache, partial

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.core.locks import lock_keys, lock_rows_prune
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.workflow import move, move_many

from .models import OtpCode
from .services import sms_send
from .texts import OTP, normalise_text

CODE_DIGITS = 6
TTL = dt.timedelta(minutes=5)
MAX_WRONG = 5
PHONE_INTERVAL = dt.timedelta(seconds=60)
PHONE_PER_HOUR = 5
IP_PER_HOUR = 10
HOUR = dt.timedelta(hours=1)


class OtpError(ValidationError):
    """A refusal with a message for the user; `retry_after` in seconds where waiting helps."""

    def __init__(self, message, *, code: str, retry_after: int | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


@lru_cache(maxsize=4)
def _key(data_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"xiuhua sms otp v1").derive(data_key.encode())


def _mac(*parts: str) -> str:
    return hmac.new(_key(settings.DATA_KEY), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _phone_hash(phone: str) -> str:
    return _mac("phone", phone)


def _ip_hash(ip: str) -> str:
    return _mac("ip", ip)


def _code_hash(salt: str, phone: str, purpose: str, code: str) -> str:
    return _mac("code", salt, phone, purpose, code)


def _phone(raw: str) -> str:
    try:
        phone = normalise_mobile(raw)
    except PhoneError as exc:
        raise OtpError(str(exc), code="phone") from None
    if not phone:
        raise OtpError(_("请填写手机号码"), code="phone")
    return phone


def _seconds(delta: dt.timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def otp_request(*, phone: str, purpose: str, ip: str | None = None, now: dt.datetime | None = None) -> OtpCode:
    """Issue a code and queue its SMS; raises OtpError when a limit is reached."""
    phone = _phone(phone)
    if not purpose or len(purpose) > 32:
        raise ValueError("purpose must be 1-32 characters")
    now = now or timezone.now()
    phone_hash = _phone_hash(phone)
    ip_hash = _ip_hash(ip) if ip else ""
    with transaction.atomic():
        lock_keys(f"p:{phone_hash}", *([f"i:{ip_hash}"] if ip_hash else []))
        recent = OtpCode.objects.filter(phone_hash=phone_hash, created_at__gt=now - HOUR)
        last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
        if last is not None and now - last < PHONE_INTERVAL:
            wait = _seconds(PHONE_INTERVAL - (now - last))
            raise OtpError(
                _("验证码已发送,请%(seconds)s秒后再获取") % {"seconds": wait}, code="too_soon", retry_after=wait
            )
        if recent.count() >= PHONE_PER_HOUR:
            oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
            assert oldest is not None
            raise OtpError(
                _("该手机号获取验证码次数过多,请1小时后再试"), code="phone_hourly",
                retry_after=_seconds(oldest + HOUR - now),
            )
        if ip_hash:
            from_ip = OtpCode.objects.filter(ip_hash=ip_hash, created_at__gt=now - HOUR)
            if from_ip.count() >= IP_PER_HOUR:
                oldest = from_ip.order_by("created_at").values_list("created_at", flat=True).first()
                assert oldest is not None
                raise OtpError(
                    _("当前网络获取验证码过于频繁,请稍后再试"), code="ip_hourly",
                    retry_after=_seconds(oldest + HOUR - now),
                )
        move_many(OtpCode.objects.filter(phone_hash=phone_hash, purpose=purpose), "supersede", actor=None,
                  subject_label=purpose)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        salt = secrets.token_hex(16)
        otp = OtpCode.objects.create(
            phone_hash=phone_hash,
            ip_hash=ip_hash,
            purpose=purpose,
            salt=salt,
            code_hash=_code_hash(salt, phone, purpose, code),
            created_at=now,
            expires_at=now + TTL,
        )
        otp.sms = sms_send(
            to=phone, template=OTP.code, params={"code": code}, purpose=f"otp_{purpose}"[:32],
            idempotency_key=f"otp:{otp.pk}",
        )
        otp.save(update_fields=["sms"])
    return otp


def otp_verify(*, phone: str, purpose: str, code: str, now: dt.datetime | None = None) -> bool:
    """True if the code is right; the code is then used up. Raises OtpError otherwise.

    A wrong code counts against the code (committed even though this raises); the fifth wrong
    try kills it, and so does using it once.
    """
    phone = _phone(phone)
    now = now or timezone.now()
    entered = normalise_text(code).replace(" ", "")
    error: OtpError | None = None
    with transaction.atomic():
        otp = (
            OtpCode.objects.select_for_update()
            .filter(phone_hash=_phone_hash(phone), purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        if otp is None or otp.status in (OtpCode.Status.SUPERSEDED, OtpCode.Status.USED):
            error = OtpError(_("请先获取验证码"), code="no_code")
        elif otp.status == OtpCode.Status.DEAD:
            error = OtpError(_("验证码错误次数过多,请重新获取"), code="dead")
        elif now >= otp.expires_at:
            error = OtpError(_("验证码已过期,请重新获取"), code="expired")
        elif not hmac.compare_digest(_code_hash(otp.salt, phone, purpose, entered), otp.code_hash):
            left = MAX_WRONG - otp.wrong_attempts - 1
            if left <= 0:
                move(otp, "exhaust", actor=None, change=_count_wrong, now=now)
                error = OtpError(_("验证码错误次数过多,请重新获取"), code="dead")
            else:
                otp.wrong_attempts += 1
                otp.save(update_fields=["wrong_attempts"])
                error = OtpError(_("验证码错误,还可以再试%(left)s次") % {"left": left}, code="wrong")
        else:
            move(otp, "use", actor=None, change=partial(_use, now=now), now=now)
    if error is not None:
        raise error
    return True


def _count_wrong(otp: OtpCode) -> None:
    otp.wrong_attempts += 1


def _use(otp: OtpCode, *, now: dt.datetime) -> None:
    otp.used_at = now


def otp_prune(*, now: dt.datetime | None = None) -> int:
    """Delete codes and throttle rows older than a day (every limit looks back one hour)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    deleted, _rows = OtpCode.objects.filter(created_at__lt=cutoff).delete()
    lock_rows_prune(now=now)
    return deleted
