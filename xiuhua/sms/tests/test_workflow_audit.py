"""Every declared action of the SMS gateway's state tables, driven through the service that takes
it (the delivery worker, the delivery reports, the inbound dispatcher, the sweep, one-time
codes), lands in its target state with exactly one audit event that names no phone, code or text."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.sms import services
from xiuhua.sms.backends import SmsPermanentError, SmsTemporaryError
from xiuhua.sms.models import InboundSms, OtpCode, OutboundSms
from xiuhua.sms.otp import OtpError, otp_request, otp_verify
from xiuhua.sms.workflows import INBOUND_SMS, OTP, SMS

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
SECRET = "314159"
SEEN_WHILE_SENDING: list[str] = []


class WatchingBackend:
    """Notes the row's status as the provider is called: the state the claim left it in."""

    def send(self, sms):
        SEEN_WHILE_SENDING.append(OutboundSms.objects.get(pk=sms.pk).status)
        return f"watch-{sms.pk}"


class BusyBackend:
    def send(self, sms):
        raise SmsTemporaryError("rate limited")


class RefusingBackend:
    def send(self, sms):
        raise SmsPermanentError("invalid number")


def queued(key="k1") -> OutboundSms:
    return services.sms_send(to=PHONE, template="XH_OTP", params={"code": SECRET}, purpose="otp_login",
                             idempotency_key=key)


def delivered_with(settings, backend: str) -> OutboundSms:
    settings.SMS_BACKEND = f"xiuhua.sms.tests.test_workflow_audit.{backend}"
    sms = queued()
    services.sms_deliver(sms_id=sms.pk)
    sms.refresh_from_db()
    return sms


def claim(settings) -> str:
    SEEN_WHILE_SENDING.clear()
    delivered_with(settings, "WatchingBackend")
    (status,) = SEEN_WHILE_SENDING
    return status


def abandon(settings) -> str:
    settings.SMS_BACKEND = "xiuhua.sms.tests.test_workflow_audit.WatchingBackend"  # cannot be asked
    sms = queued()
    OutboundSms.objects.filter(pk=sms.pk).update(
        status=OutboundSms.Status.SENDING, attempts=1, last_attempt_at=timezone.now() - dt.timedelta(minutes=11))
    services.sms_sweep()
    sms.refresh_from_db()
    return sms.status


def report(settings, success: bool) -> str:
    sms = delivered_with(settings, "WatchingBackend")
    services.sms_reports_apply(reports=[services.DeliveryReport(sms.provider_message_id, success, timezone.now())])
    sms.refresh_from_db()
    return sms.status


SMS_DRIVERS = {
    "claim": claim,
    "hand_over": lambda settings: delivered_with(settings, "WatchingBackend").status,
    "retry": lambda settings: delivered_with(settings, "BusyBackend").status,
    "fail": lambda settings: delivered_with(settings, "RefusingBackend").status,
    "abandon": abandon,
    "report_delivered": lambda settings: report(settings, True),
    "report_failed": lambda settings: report(settings, False),
}


def received(text: str) -> str:
    inbound = services.inbound_receive(phone=PHONE, text=text, provider_message_id=f"m-{text}",
                                       received_at=timezone.now())
    assert inbound is not None
    return inbound.status


def failing_handler(inbound_handler) -> str:
    def broken(message):
        raise RuntimeError("handler bug")

    inbound_handler("坏", broken, name="broken")
    return received("坏")


INBOUND_DRIVERS = {
    "handle": lambda inbound_handler: received("帮助"),
    "mark_unrecognised": lambda inbound_handler: received("随便说说"),
    "fail": failing_handler,
}


def code_of(otp: OtpCode) -> str:
    assert otp.sms is not None
    return otp.sms.params["code"]


def use() -> str:
    otp = otp_request(phone=PHONE, purpose="login")
    otp_verify(phone=PHONE, purpose="login", code=code_of(otp))
    otp.refresh_from_db()
    return otp.status


def exhaust() -> str:
    otp = otp_request(phone=PHONE, purpose="login")
    wrong = "000000" if code_of(otp) != "000000" else "111111"
    for _try in range(5):
        with pytest.raises(OtpError):
            otp_verify(phone=PHONE, purpose="login", code=wrong)
    otp.refresh_from_db()
    return otp.status


def supersede() -> str:
    now = timezone.now()
    first = otp_request(phone=PHONE, purpose="login", now=now - dt.timedelta(minutes=2))
    otp_request(phone=PHONE, purpose="login", now=now)
    first.refresh_from_db()
    return first.status


OTP_DRIVERS = {"use": use, "exhaust": exhaust, "supersede": supersede}


def assert_one_neutral_event(action_name: str, since: int) -> None:
    events = AuditEvent.objects.filter(pk__gt=since, action=action_name)
    assert events.count() == 1
    event = events.get()
    said = event.subject_label + json.dumps(event.detail, ensure_ascii=False)
    assert PHONE not in said and SECRET not in said and "138****5678" not in said


def last_event() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("action", sorted(SMS.actions))
def test_each_outbound_action_is_audited_once(settings, action):
    since = last_event()
    assert SMS_DRIVERS[action](settings) == SMS.actions[action].target
    assert_one_neutral_event(f"{SMS.name}_{action}", since)


@pytest.mark.parametrize("action", sorted(INBOUND_SMS.actions))
def test_each_inbound_action_is_audited_once(settings, inbound_handler, action):
    settings.SMS_BACKEND = "xiuhua.sms.backends.DevBackend"
    since = last_event()
    assert INBOUND_DRIVERS[action](inbound_handler) == INBOUND_SMS.actions[action].target
    assert_one_neutral_event(f"{INBOUND_SMS.name}_{action}", since)
    assert InboundSms.objects.count() == 1


@pytest.mark.parametrize("action", sorted(OTP.actions))
def test_each_code_action_is_audited_once(action):
    since = last_event()
    assert OTP_DRIVERS[action]() == OTP.actions[action].target
    assert_one_neutral_event(f"{OTP.name}_{action}", since)
