"""Through the real task worker (`db_worker --batch`), and end to end with the fake provider
pushing delivery reports and inbound messages to the live server's webhooks."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from xiuhua.sms.models import InboundSms, OutboundSms
from xiuhua.sms.otp import otp_request, otp_verify
from xiuhua.sms.services import sms_send

from .fake_provider import FakeProvider

Status = OutboundSms.Status


def queue(key="w1", **kwargs):
    values = {"to": "13812345678", "template": "XH_REPLY", "params": {"content": "您好"}, "purpose": "test",
              "idempotency_key": key}
    values.update(kwargs)
    return sms_send(**values)


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_queued_messages(provider, worker):
    sms = queue()
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert "13812345678" not in str(DBTaskResult.objects.values_list("args_kwargs", flat=True)[0])
    worker()
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_message_id) == (Status.SENT, 1, "biz-1^0")
    assert len(provider.accepted) == 1
    assert list(DBTaskResult.objects.values_list("status", "return_value")) == [("SUCCESSFUL", "sent")]


@pytest.mark.django_db(transaction=True)
def test_the_worker_retries_later_not_now(provider, worker):
    provider.script.append("rate")
    sms = queue()
    worker()  # one attempt; the retry task waits for its time, so the batch worker stops
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (Status.QUEUED, 1)
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after == sms.next_attempt_at
    assert dt.timedelta(seconds=55) < sms.next_attempt_at - timezone.now() <= dt.timedelta(minutes=1)
    assert len(provider.accepted) == 1

    # A minute later (moved back rather than waited for):
    past = timezone.now() - dt.timedelta(seconds=1)
    OutboundSms.objects.filter(pk=sms.pk).update(next_attempt_at=past)
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=past)
    worker()
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (Status.SENT, 2)
    assert len(provider.accepted) == 2


@pytest.mark.django_db(transaction=True)
def test_an_otp_goes_out_through_the_worker_and_logs_in_once(provider, worker):
    otp = otp_request(phone="13812345678", purpose="login", ip="10.1.1.1")
    worker()
    (params,) = provider.accepted
    code = json.loads(params["TemplateParam"])["code"]
    sms = OutboundSms.objects.get(pk=otp.sms_id)
    assert sms.status == Status.SENT and code not in sms.text + str(sms.params)
    assert otp_verify(phone="13812345678", purpose="login", code=code)


@pytest.mark.django_db(transaction=True)
def test_end_to_end_with_the_provider_pushing_to_the_live_server(provider, worker, live_server):
    report_url = live_server.url + reverse("sms:webhook_report")
    inbound_url = live_server.url + reverse("sms:webhook_inbound")

    # A resident texts "帮 助" to the service number; the provider pushes it to us.
    status, answer = FakeProvider.push(inbound_url, [{
        "message_id": "up-1", "phone_number": "13812345678", "content": "帮 助",
        "receive_time": "2020-02-05T10:00:00.250+08:00"}])
    assert (status, answer["stored"]) == (200, 1)
    inbound = InboundSms.objects.get()
    assert inbound.received_at == dt.datetime(2020, 2, 5, 2, 0, 0, 250000, tzinfo=dt.UTC)

    # The reply is queued; the worker sends it through the provider.
    worker()
    (params,) = provider.accepted
    assert (params["PhoneNumbers"], params["TemplateCode"]) == ("13812345678", "XH_REPLY")
    assert "帮助" in params["TemplateParam"]
    reply = OutboundSms.objects.get()
    assert reply.status == Status.SENT

    # The provider reports delivery.
    status, _ = FakeProvider.push(report_url, [{"biz_id": reply.provider_message_id, "success": True,
                                                "err_code": "DELIVERED", "report_time": "2020-02-05 10:00:03"}])
    assert status == 200
    reply.refresh_from_db()
    assert reply.status == Status.DELIVERED

    # Replays and forgeries are refused and change nothing.
    status, _ = FakeProvider.push(inbound_url, [{"message_id": "up-1", "phone_number": "13812345678",
                                                 "content": "帮助", "receive_time": "2020-02-05 10:00:09"}])
    assert status == 409
    status, _ = FakeProvider.push(inbound_url, [{"message_id": "up-2", "phone_number": "13812345678",
                                                 "content": "帮助", "receive_time": "2020-02-05 10:00:09"}],
                                  secret="forged")
    assert status == 401
    assert (InboundSms.objects.count(), OutboundSms.objects.count()) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_sms_receive_goes_the_same_way_and_prints_the_reply(dev_backend, worker):
    out = io.StringIO()
    call_command("sms_receive", "138 1234 5678", "ＨＥＬＰ", stdout=out)
    assert out.getvalue().strip() == "【绣花针】可发送以下关键字:帮助、口罩、求助、抗原。其他事项请联系居委会。"
    inbound = InboundSms.objects.get()
    assert (inbound.phone, inbound.text, inbound.status, inbound.source) == (
        "13812345678", "ＨＥＬＰ", "handled", "simulated")
    reply = OutboundSms.objects.get()
    assert (reply.idempotency_key, reply.status) == (f"reply:{inbound.pk}", Status.QUEUED)
    worker()
    reply.refresh_from_db()
    assert reply.status == Status.SENT


@pytest.mark.django_db
def test_sms_receive_refuses_a_bad_number():
    with pytest.raises(CommandError, match="手机号码格式不正确"):
        call_command("sms_receive", "12345", "帮助", stdout=io.StringIO())
    assert not InboundSms.objects.exists()


@pytest.mark.django_db
def test_sms_sweep_command_prints_counts():
    out = io.StringIO()
    call_command("sms_sweep", stdout=out)
    assert out.getvalue().strip() == (
        "overdue=0 recovered_sent=0 recovered_requeued=0 stale_failed=0 dispatched=0 otp_pruned=0")
