"""Batch delivery (a street's notices): sms_send_many enqueues a few batch tasks, each claims due
messages a chunk at a time, sends them and records the chunk's outcomes with one move per outcome
and one audit event each (naming ids, never a phone or a text)."""

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from xiuhua.core.models import AuditEvent
from xiuhua.sms import services
from xiuhua.sms.models import OutboundSms
from xiuhua.sms.services import BulkMessage, sms_deliver_batch, sms_deliver_due, sms_send_many

Status = OutboundSms.Status
pytestmark = pytest.mark.django_db


def notices(n: int, *, template="XH_REPLY", params=None, start=0) -> int:
    return sms_send_many(template=template, purpose="test", messages=[
        BulkMessage(to=f"139{i:08d}", params=params or {"content": f"通知{i}"}, idempotency_key=f"n:{i}")
        for i in range(start, start + n)])


def queued_tasks() -> list[tuple[str, list, dt.datetime]]:
    return [(path.rsplit(".", 1)[1], args["args"], run_after) for path, args, run_after in
            DBTaskResult.objects.filter(status="READY").order_by("enqueued_at")
            .values_list("task_path", "args_kwargs", "run_after")]


def test_a_fan_out_enqueues_a_few_batch_tasks_not_one_per_message(settings, django_capture_on_commit_callbacks):
    settings.SMS_BATCH_SIZE, settings.SMS_DELIVERY_TASKS = 100, 4
    with django_capture_on_commit_callbacks(execute=True):
        assert notices(1000) == 1000
    assert [(name, args) for name, args, _ in queued_tasks()] == [("deliver_due_sms", [])] * 4
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert notices(150, start=1000) == 150
    assert len(queued_tasks()) == 2  # two chunks' worth: two tasks


def test_a_chunk_is_sent_and_recorded_with_one_event_per_outcome(provider, settings):
    settings.SMS_BATCH_SIZE = 10
    notices(12)
    since = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    assert sms_deliver_batch() == 10
    rows = list(OutboundSms.objects.order_by("pk"))
    first, rest = rows[:10], rows[10:]
    assert {sms.status for sms in first} == {Status.SENT} and {sms.status for sms in rest} == {Status.QUEUED}
    ids = [sms.pk for sms in first]
    # The provider's ids land on their own rows.
    by_out_id = {p["OutId"]: p for p in provider.accepted}
    assert sorted(by_out_id) == sorted(f"xh-{pk}" for pk in ids)
    assert len({sms.provider_message_id for sms in first}) == 10
    assert all(sms.attempts == 1 and sms.sent_at and sms.last_error == "" for sms in first)
    events = list(AuditEvent.objects.filter(pk__gt=since).order_by("pk").values_list("action", "detail"))
    assert set(AuditEvent.objects.filter(pk__gt=since).values_list("subject_label", flat=True)) == {"XH_REPLY ×10"}
    assert [(action, detail["count"], detail["sms_ids"]) for action, detail in events] == [
        ("sms_claim", 10, ids), ("sms_hand_over", 10, ids)]
    assert "139" not in json.dumps([d for _, d in events]).replace(str(ids), "")
    assert sms_deliver_batch() == 2 and sms_deliver_batch() == 0
    assert OutboundSms.objects.filter(status=Status.SENT).count() == 12 and len(provider.accepted) == 12


def test_mixed_outcomes_in_one_chunk(provider, settings, django_capture_on_commit_callbacks):
    settings.SMS_BATCH_SIZE = 3
    settings.SMS_SEND_CONCURRENCY = 1  # the provider's answers in order
    provider.script += ["ok", "rate", "invalid"]
    notices(3, template="XH_OTP", params={"code": "271828"})
    DBTaskResult.objects.all().delete()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert sms_deliver_batch(now=now) == 3
    sent, later, refused = OutboundSms.objects.order_by("pk")
    assert (sent.status, later.status, refused.status) == (Status.SENT, Status.QUEUED, Status.FAILED)
    assert later.next_attempt_at == now + dt.timedelta(minutes=1) and "rate limited" in later.last_error
    assert refused.failed_at == now and "MOBILE_NUMBER_ILLEGAL" in refused.last_error
    # The code is kept only while it may still be sent.
    assert "271828" not in sent.text + str(sent.params) + refused.text + str(refused.params)
    assert later.params == {"code": "271828"}
    # One batch task for the retry, at its time.
    assert queued_tasks() == [("deliver_due_sms", [], now + dt.timedelta(minutes=1))]
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"sms_hand_over", "sms_retry", "sms_fail"}


def test_a_claim_too_old_to_send_goes_back_to_the_queue_unsent(provider, monkeypatch):
    monkeypatch.setattr(services, "CLAIM_SEND_WINDOW", dt.timedelta(seconds=-1))
    notices(3)
    assert sms_deliver_batch() == 3
    assert provider.accepted == []
    assert set(OutboundSms.objects.values_list("status", "last_error")) == {
        (Status.QUEUED, "not sent: its claim is too old")}


def test_the_batch_task_hands_over_to_a_successor_when_its_time_is_up(provider, settings):
    settings.SMS_BATCH_SIZE = 5
    notices(12)
    DBTaskResult.objects.all().delete()
    assert sms_deliver_due(budget_seconds=0) == 5  # one chunk, then a successor
    assert [name for name, _, _ in queued_tasks()] == ["deliver_due_sms"]
    assert sms_deliver_due() == 7
    assert OutboundSms.objects.filter(status=Status.SENT).count() == 12 and len(provider.accepted) == 12


def test_messages_not_yet_due_are_not_claimed(provider):
    notices(2)
    OutboundSms.objects.filter(phone="13900000001").update(next_attempt_at=timezone.now() + dt.timedelta(minutes=1))
    assert sms_deliver_batch() == 1
    assert [p["PhoneNumbers"] for p in provider.accepted] == ["13900000000"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_a_fan_out(provider, worker, settings):
    settings.SMS_BATCH_SIZE = 20
    notices(90)
    worker()
    assert OutboundSms.objects.filter(status=Status.SENT).count() == 90
    assert sorted(provider.sent.values()) == [1] * 90


def test_a_code_requested_during_a_fan_out_is_taken_before_the_batch_tasks(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notices(300)
        code = services.sms_send(to="13812345678", template="XH_OTP", params={"code": "271828"},
                                 purpose="otp_login", idempotency_key="otp:1")
    # The order in which a worker takes ready tasks (django_tasks_db: priority first).
    taken = [(path.rsplit(".", 1)[1], args["args"]) for path, args in
             DBTaskResult.objects.ready().values_list("task_path", "args_kwargs")]
    assert taken[0] == ("deliver_sms", [code.pk])
    assert taken[1:] == [("deliver_due_sms", [])] * 3


def test_a_message_timed_for_later_waits_until_its_time_and_the_sweep_sends_it(provider, settings,
                                                                              django_capture_on_commit_callbacks):
    now = timezone.now()
    later = now + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        sms_send_many(template="XH_REPLY", purpose="test", messages=[
            BulkMessage(to="13900000001", params={"content": "现在"}, idempotency_key="t:now"),
            BulkMessage(to="13900000002", params={"content": "稍后"}, idempotency_key="t:later", send_at=later),
            BulkMessage(to="13900000003", params={"content": "已过"}, idempotency_key="t:past",
                        send_at=now - dt.timedelta(hours=1)),  # a time already past: at once
        ])
    rows = {sms.phone: sms for sms in OutboundSms.objects.all()}
    assert rows["13900000002"].next_attempt_at == later
    assert rows["13900000003"].next_attempt_at >= now
    assert sms_deliver_due() == 2
    assert sorted(p["PhoneNumbers"] for p in provider.accepted) == ["13900000001", "13900000003"]
    # Not due yet: the sweep leaves it; once due, the sweep hands it to a delivery task.
    assert services.sms_sweep(now=later - dt.timedelta(minutes=5))["overdue"] == 0
    assert services.sms_sweep(now=later + dt.timedelta(minutes=2))["overdue"] == 1
