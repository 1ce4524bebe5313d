"""One-time codes: hashing, expiry, single use, wrong tries, rate limits."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.core.models import LockRow
from xiuhua.sms.models import OtpCode, OutboundSms
from xiuhua.sms.otp import OtpError, otp_prune, otp_request, otp_verify

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def code_of(otp: OtpCode) -> str:
    """The code, read from the queued SMS (the only place it exists until it is sent)."""
    assert otp.sms is not None
    return otp.sms.params["code"]


def refused(expected: str, call, *args, **kwargs) -> OtpError:
    with pytest.raises(OtpError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == expected
    return caught.value


def test_a_code_is_six_digits_sent_by_sms_and_stored_only_as_a_hash():
    now = timezone.now()
    otp = otp_request(phone="138-1234-5678", purpose="login", ip="10.0.0.1", now=now)
    code = code_of(otp)
    assert len(code) == 6 and code.isdigit()
    sms = OutboundSms.objects.get()
    assert (sms.phone, sms.template, sms.purpose, sms.idempotency_key, sms.committee) == (
        PHONE, "XH_OTP", "otp_login", f"otp:{otp.pk}", None)
    assert sms.text == f"【绣花针】验证码{code},5分钟内有效,请勿告诉他人。"
    stored = OtpCode.objects.filter(pk=otp.pk).values().get()
    assert code not in str(stored) and PHONE not in str(stored) and "10.0.0.1" not in str(stored)
    assert (otp.expires_at - otp.created_at) == dt.timedelta(minutes=5)


def test_the_right_code_works_once():
    otp = otp_request(phone=PHONE, purpose="login")
    code = code_of(otp)
    assert otp_verify(phone=PHONE, purpose="login", code=code) is True
    refused("no_code", otp_verify, phone=PHONE, purpose="login", code=code)


def test_full_width_digits_and_spaces_are_accepted():
    code = code_of(otp_request(phone=PHONE, purpose="login"))
    wide = " ".join(chr(0xFF10 + int(d)) for d in code)
    assert otp_verify(phone="１３８１２３４５６７８", purpose="login", code=wide)


def test_a_code_is_for_its_purpose_only():
    code = code_of(otp_request(phone=PHONE, purpose="login"))
    refused("no_code", otp_verify, phone=PHONE, purpose="reservation", code=code)
    assert otp_verify(phone=PHONE, purpose="login", code=code)


def test_a_code_expires_after_five_minutes():
    now = timezone.now()
    code = code_of(otp_request(phone=PHONE, purpose="login", now=now))
    error = refused("expired", otp_verify, phone=PHONE, purpose="login", code=code, now=now + dt.timedelta(minutes=5))
    assert error.messages == ["验证码已过期,请重新获取"]
    code = code_of(otp_request(phone=PHONE, purpose="login", now=now + dt.timedelta(minutes=6)))
    assert otp_verify(phone=PHONE, purpose="login", code=code, now=now + dt.timedelta(minutes=10, seconds=59))


def test_five_wrong_tries_kill_the_code():
    code = code_of(otp_request(phone=PHONE, purpose="login"))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    messages = [refused("wrong", otp_verify, phone=PHONE, purpose="login", code=wrong).messages[0] for _ in range(4)]
    assert messages == [f"验证码错误,还可以再试{n}次" for n in (4, 3, 2, 1)]
    refused("dead", otp_verify, phone=PHONE, purpose="login", code=wrong)
    error = refused("dead", otp_verify, phone=PHONE, purpose="login", code=code)
    assert error.messages == ["验证码错误次数过多,请重新获取"]
    assert OtpCode.objects.get().wrong_attempts == 5


def test_a_new_code_replaces_the_old_one():
    now = timezone.now()
    old = code_of(otp_request(phone=PHONE, purpose="login", now=now))
    new = code_of(otp_request(phone=PHONE, purpose="login", now=now + dt.timedelta(seconds=61)))
    if old != new:
        refused("wrong", otp_verify, phone=PHONE, purpose="login", code=old, now=now + dt.timedelta(seconds=62))
    assert otp_verify(phone=PHONE, purpose="login", code=new, now=now + dt.timedelta(seconds=62))
    assert list(OtpCode.objects.order_by("pk").values_list("status", flat=True)) == ["superseded", "used"]


def test_one_code_per_phone_per_minute():
    now = timezone.now()
    otp_request(phone=PHONE, purpose="login", now=now)
    error = refused("too_soon", otp_request, phone=PHONE, purpose="reservation", now=now + dt.timedelta(seconds=45))
    assert error.messages == ["验证码已发送,请15秒后再获取"] and error.retry_after == 15
    assert OtpCode.objects.count() == 1 and OutboundSms.objects.count() == 1
    otp_request(phone=PHONE, purpose="login", now=now + dt.timedelta(seconds=60))
    assert OtpCode.objects.count() == 2


def test_five_codes_per_phone_per_hour():
    start = timezone.now()
    for n in range(5):
        otp_request(phone=PHONE, purpose="login", now=start + dt.timedelta(minutes=2 * n))
    error = refused("phone_hourly", otp_request, phone=PHONE, purpose="login", now=start + dt.timedelta(minutes=10))
    assert error.messages == ["该手机号获取验证码次数过多,请1小时后再试"] and error.retry_after == 50 * 60
    assert OtpCode.objects.count() == 5
    otp_request(phone=PHONE, purpose="login", now=start + dt.timedelta(minutes=60, seconds=1))
    assert OtpCode.objects.count() == 6


def test_ten_codes_per_address_per_hour():
    start = timezone.now()
    for n in range(10):
        otp_request(phone=f"1381234{n:04d}", purpose="login", ip="203.0.113.9", now=start + dt.timedelta(seconds=n))
    error = refused("ip_hourly", otp_request, phone="13900000000", purpose="login", ip="203.0.113.9",
                    now=start + dt.timedelta(minutes=1))
    assert error.messages == ["当前网络获取验证码过于频繁,请稍后再试"]
    otp_request(phone="13900000000", purpose="login", ip="203.0.113.10", now=start + dt.timedelta(minutes=1))
    otp_request(phone="13900000001", purpose="login", now=start + dt.timedelta(minutes=1))
    assert OtpCode.objects.count() == 12


def test_a_bad_phone_is_refused_in_chinese():
    error = refused("phone", otp_request, phone="12345", purpose="login")
    assert error.messages == ["手机号码格式不正确"]
    assert not OtpCode.objects.exists()


def test_verifying_without_a_code_is_refused():
    refused("no_code", otp_verify, phone=PHONE, purpose="login", code="123456")


def test_old_codes_are_pruned():
    now = timezone.now()
    otp_request(phone=PHONE, purpose="login", now=now - dt.timedelta(days=2))
    otp_request(phone=PHONE, purpose="login", now=now)
    assert otp_prune(now=now) == 1
    assert OtpCode.objects.count() == 1 and LockRow.objects.count() == 1
