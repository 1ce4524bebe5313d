"""Queueing, delivery, retries with backoff, giving up, and the state machine."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from xiuhua.core.phones import PhoneError
from xiuhua.core.workflow import move
from xiuhua.sms import services
from xiuhua.sms.backends import DevBackend, SmsTemporaryError
from xiuhua.sms.models import DevDelivery, InboundSms, OutboundSms
from xiuhua.sms.services import sms_deliver, sms_send
from xiuhua.sms.workflows import SMS

Status = OutboundSms.Status
pytestmark = pytest.mark.django_db


def send(key="k1", to="138 1234 5678", **kwargs):
    values = {"template": "XH_REPLY", "params": {"content": "您好"}, "purpose": "test", "idempotency_key": key}
    values.update(kwargs)
    return sms_send(to=to, **values)


def tasks():
    return list(DBTaskResult.objects.order_by("enqueued_at").values_list("args_kwargs", "run_after"))


def test_send_only_queues_and_the_task_carries_the_id_only(django_capture_on_commit_callbacks, dev_backend):
    with django_capture_on_commit_callbacks(execute=True):
        sms = send(to="１３８１２３４５６７８")
    sms.refresh_from_db()
    assert (sms.phone, sms.status, sms.attempts, sms.text) == ("13812345678", Status.QUEUED, 0, "【绣花针】您好")
    assert sms.next_attempt_at is not None and sms.provider_message_id == ""
    ((args, _run_after),) = tasks()
    assert args == {"args": [sms.pk], "kwargs": {}}


def test_the_same_idempotency_key_queues_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = send(key="voucher:17")
        again = send(key="voucher:17", params={"content": "别的"})
    assert again.pk == first.pk and OutboundSms.objects.count() == 1 and len(tasks()) == 1


@pytest.mark.parametrize(("to", "error"), [("12345", PhoneError), ("021-65551234", PhoneError), ("", PhoneError)])
def test_a_bad_number_is_refused_and_nothing_is_written(to, error):
    with pytest.raises(error):
        send(to=to)
    assert not OutboundSms.objects.exists() and not DBTaskResult.objects.exists()


def test_an_unknown_template_or_missing_parameter_is_refused():
    with pytest.raises(ValueError):
        send(template="NOPE")
    with pytest.raises(ValueError):
        send(params={})
    assert not OutboundSms.objects.exists()


def test_dev_backend_marks_sent(dev_backend):
    sms = send()
    assert sms_deliver(sms_id=sms.pk) == Status.SENT
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_message_id) == (Status.SENT, 1, f"dev-{sms.pk}")
    assert sms.sent_at is not None and sms.last_error == ""


def test_delivering_twice_sends_once(provider):
    sms = send()
    assert sms_deliver(sms_id=sms.pk) == Status.SENT
    assert sms_deliver(sms_id=sms.pk) == Status.SENT
    assert len(provider.accepted) == 1


def test_a_missing_row_is_nothing_to_do():
    assert sms_deliver(sms_id=999999) == "missing"


def test_rate_limited_sends_are_retried_after_1_then_5_minutes(provider, django_capture_on_commit_callbacks):
    provider.script += ["rate", "server_error"]
    sms = send()
    t0 = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert sms_deliver(sms_id=sms.pk, now=t0) == Status.QUEUED
    sms.refresh_from_db()
    assert (sms.attempts, sms.next_attempt_at, sms.last_error[:12]) == (1, t0 + dt.timedelta(minutes=1), "rate limited")
    assert tasks()[-1] == ({"args": [sms.pk], "kwargs": {}}, t0 + dt.timedelta(minutes=1))

    # Not due yet: the provider is not called.
    assert sms_deliver(sms_id=sms.pk, now=t0 + dt.timedelta(seconds=59)) == Status.QUEUED
    assert len(provider.accepted) == 1

    t1 = t0 + dt.timedelta(minutes=1)
    assert sms_deliver(sms_id=sms.pk, now=t1) == Status.QUEUED
    sms.refresh_from_db()
    assert (sms.attempts, sms.next_attempt_at) == (2, t1 + dt.timedelta(minutes=5))

    t2 = t1 + dt.timedelta(minutes=5)
    assert sms_deliver(sms_id=sms.pk, now=t2) == Status.SENT
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.sent_at, sms.provider_message_id, sms.last_error) == (
        Status.SENT, 3, t2, "biz-1^0", "")
    assert len(provider.accepted) == 3


def test_after_five_failed_attempts_the_message_fails(provider):
    provider.script += ["rate"] * 5
    sms = send()
    now = timezone.now()
    waits = []
    for _attempt in range(5):
        status = sms_deliver(sms_id=sms.pk, now=now)
        sms.refresh_from_db()
        if status == Status.QUEUED:
            waits.append(sms.next_attempt_at - now)
            now = sms.next_attempt_at
    assert waits == [dt.timedelta(minutes=m) for m in (1, 5, 30, 30)]
    assert (sms.status, sms.attempts, sms.failed_at) == (Status.FAILED, 5, now)
    assert "isv.BUSINESS_LIMIT_CONTROL" in sms.last_error
    assert sms_deliver(sms_id=sms.pk, now=now + dt.timedelta(hours=1)) == Status.FAILED
    assert len(provider.accepted) == 5


def test_an_invalid_number_fails_at_once_without_retry(provider, django_capture_on_commit_callbacks):
    provider.script.append("invalid")
    sms = send()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sms_deliver(sms_id=sms.pk) == Status.FAILED
    assert callbacks == []
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (Status.FAILED, 1) and "MOBILE_NUMBER_ILLEGAL" in sms.last_error


def test_a_crashing_backend_leaves_the_message_queued_for_retry(settings):
    settings.SMS_BACKEND = "xiuhua.sms.tests.test_delivery.BrokenBackend"
    sms = send()
    assert sms_deliver(sms_id=sms.pk) == Status.QUEUED
    sms.refresh_from_db()
    assert (sms.attempts, sms.last_error) == (1, "ZeroDivisionError")


class BrokenBackend:
    def send(self, sms):
        return 1 / 0


def test_otp_codes_are_scrubbed_from_the_row_once_sent(dev_backend):
    sms = send(template="XH_OTP", params={"code": "271828"}, purpose="otp_login")
    assert sms.params == {"code": "271828"} and "271828" in sms.text  # needed until it is sent
    assert "271828" not in sms.display_text
    sms_deliver(sms_id=sms.pk)
    sms.refresh_from_db()
    assert sms.params == {"code": "******"} and "271828" not in sms.text


def test_otp_codes_are_scrubbed_when_the_message_fails(provider):
    provider.script.append("invalid")
    sms = send(template="XH_OTP", params={"code": "271828"}, purpose="otp_login")
    sms_deliver(sms_id=sms.pk)
    sms.refresh_from_db()
    assert sms.status == Status.FAILED and "271828" not in sms.text + str(sms.params)


def test_the_state_machine_refuses_other_moves():
    sms = send()
    with pytest.raises(ValidationError):
        move(sms, "report_delivered", actor=None)
    OutboundSms.objects.filter(pk=sms.pk).update(status=Status.DELIVERED)
    for action in SMS.actions:
        with pytest.raises(ValidationError):
            move(sms, action, actor=None)


def test_sweep_requeues_lost_tasks_recovers_stuck_sends_and_dispatches_stranded_inbound(
    django_capture_on_commit_callbacks, dev_backend,
):
    now = timezone.now()
    lost = send(key="lost")
    OutboundSms.objects.filter(pk=lost.pk).update(next_attempt_at=now - dt.timedelta(minutes=2))
    fresh = send(key="fresh")
    # Two workers died between the claim and the status write, 41 seconds ago: the provider (the
    # dev backend's handset) has the first message, not the second.
    handed = send(key="handed", template="XH_OTP", params={"code": "111111"})
    DevBackend().send(handed)
    not_handed = send(key="not-handed")
    died_at = now - services.reconcile_after() - dt.timedelta(seconds=1)
    OutboundSms.objects.filter(pk__in=[handed.pk, not_handed.pk]).update(
        status=Status.SENDING, attempts=1, last_attempt_at=died_at)
    sending = send(key="sending")
    OutboundSms.objects.filter(pk=sending.pk).update(
        status=Status.SENDING, attempts=1, last_attempt_at=now - dt.timedelta(seconds=20))
    stranded, _ = services.inbound_store(messages=[services.IncomingSms("13812345678", "帮助", "m1", now)])
    InboundSms.objects.filter(pk=stranded[0].pk).update(stored_at=now - dt.timedelta(minutes=2))
    DBTaskResult.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        counts = services.sms_sweep(now=now)
    assert counts == {"overdue": 1, "recovered_sent": 1, "recovered_requeued": 1, "stale_failed": 0,
                      "dispatched": 1}
    reply = OutboundSms.objects.get(idempotency_key=f"reply:{stranded[0].pk}")
    queued_tasks = DBTaskResult.objects.order_by("enqueued_at").values_list("task_path", "args_kwargs")
    assert [(path.rsplit(".", 1)[1], args["args"]) for path, args in queued_tasks] == [
        ("deliver_due_sms", []), ("deliver_due_sms", []), ("deliver_sms", [reply.pk])]
    handed.refresh_from_db()
    assert (handed.status, handed.provider_message_id, handed.sent_at, handed.attempts) == (
        Status.SENT, f"dev-{handed.pk}", died_at, 1)
    assert "111111" not in handed.text
    not_handed.refresh_from_db()
    assert (not_handed.status, not_handed.next_attempt_at, not_handed.attempts) == (Status.QUEUED, now, 1)
    assert "sent again" in not_handed.last_error
    assert OutboundSms.objects.get(pk=sending.pk).status == Status.SENDING  # its worker may still send it
    assert OutboundSms.objects.get(pk=fresh.pk).status == Status.QUEUED
    assert InboundSms.objects.get(pk=stranded[0].pk).status == InboundSms.Status.HANDLED

    # The requeued message goes out once; the one the provider had is not sent again.
    assert services.sms_deliver_due() == 4  # lost, fresh, not_handed and the reply
    assert set(DevDelivery.objects.values_list("sms_id", flat=True)) == {
        handed.pk, not_handed.pk, lost.pk, fresh.pk, reply.pk}


class SendOnlyBackend:
    """A backend that cannot be asked what the provider has."""

    def send(self, sms):
        return f"only-{sms.pk}"


class SilentProvider(SendOnlyBackend):
    def lookup(self, sms):
        raise SmsTemporaryError("query failed")


@pytest.mark.parametrize("backend", ["SendOnlyBackend", "SilentProvider"])
def test_a_stuck_send_the_provider_cannot_tell_about_is_failed_after_ten_minutes_not_resent(settings, backend):
    settings.SMS_BACKEND = f"xiuhua.sms.tests.test_delivery.{backend}"
    now = timezone.now()
    stuck = send(key="stuck", template="XH_OTP", params={"code": "111111"})
    recent = send(key="recent")
    OutboundSms.objects.filter(pk=stuck.pk).update(
        status=Status.SENDING, attempts=1, last_attempt_at=now - dt.timedelta(minutes=10, seconds=1))
    OutboundSms.objects.filter(pk=recent.pk).update(
        status=Status.SENDING, attempts=1, last_attempt_at=now - dt.timedelta(minutes=9))
    counts = services.sms_sweep(now=now)
    assert (counts["stale_failed"], counts["recovered_sent"], counts["recovered_requeued"]) == (1, 0, 0)
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED and "not resent" in stuck.last_error and "111111" not in stuck.text
    assert OutboundSms.objects.get(pk=recent.pk).status == Status.SENDING
