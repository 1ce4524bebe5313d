"""The HTTP provider backend against the fake provider on loopback."""

import json
import socket

import pytest

from xiuhua.sms.backends import (
    DevBackend,
    HttpProviderBackend,
    SmsPermanentError,
    SmsTemporaryError,
    percent_encode,
)
from xiuhua.sms.models import DevDelivery, OutboundSms

from .fake_provider import KEY_ID, expected_signature


def message(pk=7, phone="13812345678", template="XH_OTP", params=None):
    sms = OutboundSms(phone=phone, template=template, params=params or {"code": "042917"},
                      text="【绣花针】验证码042917,5分钟内有效,请勿告诉他人。", purpose="otp_login",
                      idempotency_key=f"k{pk}")
    sms.pk = pk
    return sms


def test_percent_encoding_follows_rfc_3986():
    assert percent_encode("a b*c~d/é绣") == "a%20b%2Ac~d%2F%C3%A9%E7%BB%A3"
    assert percent_encode("-_.~AZaz09") == "-_.~AZaz09"


def test_a_send_is_signed_the_way_the_provider_checks_it(provider):
    biz_id = HttpProviderBackend().send(message())
    assert biz_id == "biz-1^0"
    assert provider.refused == []
    (params,) = provider.accepted
    assert params["AccessKeyId"] == KEY_ID
    assert params["PhoneNumbers"] == "13812345678"
    assert params["SignName"] == "绣花针"
    assert params["TemplateCode"] == "XH_OTP"
    assert json.loads(params["TemplateParam"]) == {"code": "042917"}
    assert params["OutId"] == "xh-7"
    assert params["Timestamp"].endswith("Z") and len(params["SignatureNonce"]) == 32
    assert params["Signature"] == expected_signature(params, "test-secret-不要外传")


def test_international_numbers_go_without_plus(provider):
    HttpProviderBackend().send(message(phone="+85261234567"))
    assert provider.accepted[0]["PhoneNumbers"] == "85261234567"


def test_every_request_has_a_fresh_nonce(provider):
    backend = HttpProviderBackend()
    backend.send(message(pk=1))
    backend.send(message(pk=2))
    assert len({p["SignatureNonce"] for p in provider.accepted}) == 2 and provider.refused == []


def test_a_wrong_secret_is_refused_by_the_provider_and_retried_later(provider, settings):
    settings.SMS_ACCESS_KEY_SECRET = "wrong"
    with pytest.raises(SmsTemporaryError, match="SignatureDoesNotMatch"):
        HttpProviderBackend().send(message())
    assert provider.refused == ["signature"] and provider.accepted == []


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        ("rate", SmsTemporaryError, "isv.BUSINESS_LIMIT_CONTROL"),
        ("invalid", SmsPermanentError, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("server_error", SmsTemporaryError, "isp.SYSTEM_ERROR"),
        ("not_json", SmsTemporaryError, "not_json"),
    ],
)
def test_provider_answers_are_classified(provider, mode, error, code):
    provider.script.append(mode)
    with pytest.raises(error) as caught:
        HttpProviderBackend().send(message())
    assert type(caught.value) is error and caught.value.code == code


def test_a_provider_that_does_not_answer_times_out(provider, settings):
    settings.SMS_PROVIDER_TIMEOUT = 0.3
    provider.script.append("hang")
    with pytest.raises(SmsTemporaryError) as caught:
        HttpProviderBackend().send(message())
    assert caught.value.code == "timeout"


def test_an_unreachable_provider_is_a_temporary_error(provider, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.SMS_PROVIDER_URL = f"http://127.0.0.1:{port}/"
    with pytest.raises(SmsTemporaryError) as caught:
        HttpProviderBackend().send(message())
    assert caught.value.code == "connection"


def test_an_unconfigured_provider_is_a_temporary_error(settings):
    settings.SMS_PROVIDER_URL = ""
    with pytest.raises(SmsTemporaryError, match="not configured"):
        HttpProviderBackend().send(message())


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, b'{"Code": "OK"}', "no_biz_id"),
        (200, b"[1, 2]", "not_json"),
        (503, b"", "not_json"),
        (403, b'{"Message": "no"}', "http_403"),
        (200, b'{"Code": "isv.AMOUNT_NOT_ENOUGH", "Message": "\xe4\xbd\x99\xe9\xa2\x9d\xe4\xb8\x8d\xe8\xb6\xb3"}',
         "isv.AMOUNT_NOT_ENOUGH"),
    ],
)
def test_odd_answers_are_temporary(status, body, code):
    with pytest.raises(SmsTemporaryError) as caught:
        HttpProviderBackend.parse_answer(status, body)
    assert caught.value.code == code


@pytest.mark.django_db
def test_dev_backend_logs_codes_only_in_debug(settings, caplog):
    caplog.set_level("INFO", logger="xiuhua.sms.backends")
    settings.DEBUG = False
    sms = message()
    sms.save()
    assert DevBackend().send(sms) == "dev-7"
    assert "042917" not in caplog.text and "13812345678" not in caplog.text and "138****5678" in caplog.text
    caplog.clear()
    settings.DEBUG = True
    DevBackend().send(sms)
    assert "042917" in caplog.text and "13812345678" not in caplog.text
    # The stand-in handset holds the full text once, however often the message is handed over.
    assert list(DevDelivery.objects.values_list("sms_id", "phone", "text")) == [(7, "13812345678", sms.text)]
