"""Races on PostgreSQL with real threads: one send per message, one row per key, limits hold."""

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from xiuhua.sms import services
from xiuhua.sms.models import InboundSms, OtpCode, OutboundSms
from xiuhua.sms.otp import OtpError, otp_request, otp_verify
from xiuhua.sms.services import sms_deliver, sms_send

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 16


def race(work: Callable[[int], object], n: int = THREADS) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def queue(key="race"):
    return sms_send(to="13812345678", template="XH_REPLY", params={"content": "您好"}, purpose="test",
                    idempotency_key=key)


def test_racing_deliveries_of_one_message_send_it_once(provider):
    sms = queue()
    results = race(lambda i: sms_deliver(sms_id=sms.pk))
    assert len(provider.accepted) == 1
    assert all(r in (OutboundSms.Status.SENDING, OutboundSms.Status.SENT) for r in results), results
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (OutboundSms.Status.SENT, 1)


def test_racing_retries_after_a_failure_send_once_more(provider):
    provider.script.append("rate")
    sms = queue()
    now = timezone.now()
    assert sms_deliver(sms_id=sms.pk, now=now) == OutboundSms.Status.QUEUED
    later = now + dt.timedelta(minutes=1)
    race(lambda i: sms_deliver(sms_id=sms.pk, now=later))
    assert len(provider.accepted) == 2
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (OutboundSms.Status.SENT, 2)


def test_racing_sends_with_one_key_queue_one_message(dev_backend):
    results = race(lambda i: queue(key="voucher:1").pk)
    assert len(set(results)) == 1 and OutboundSms.objects.count() == 1


def test_racing_code_requests_for_one_phone_issue_one_code(dev_backend):
    now = timezone.now()
    results = race(lambda i: otp_request(phone="13812345678", purpose="login", now=now))
    issued = [r for r in results if isinstance(r, OtpCode)]
    refused = [r for r in results if isinstance(r, OtpError)]
    assert (len(issued), len(refused)) == (1, THREADS - 1), results
    assert OtpCode.objects.count() == 1 and OutboundSms.objects.count() == 1


def test_racing_code_requests_from_one_address_stay_within_ten(dev_backend):
    now = timezone.now()
    results = race(lambda i: otp_request(phone=f"1381234{i:04d}", purpose="login", ip="198.51.100.7", now=now))
    assert sum(isinstance(r, OtpCode) for r in results) == 10
    assert all(isinstance(r, OtpCode | OtpError) for r in results), results
    assert OtpCode.objects.count() == 10


def test_racing_checks_of_one_code_let_it_in_once(dev_backend):
    otp = otp_request(phone="13812345678", purpose="login")
    code = OutboundSms.objects.get(pk=otp.sms_id).params["code"]
    results = race(lambda i: otp_verify(phone="13812345678", purpose="login", code=code))
    assert results.count(True) == 1 and all(isinstance(r, OtpError) for r in results if r is not True)


def test_racing_deliveries_of_one_inbound_message_store_and_answer_it_once(dev_backend):
    received = timezone.now()

    def push(i):
        return services.inbound_receive(phone="13812345678", text="帮助", provider_message_id="up-race",
                                        received_at=received)

    results = race(push)
    assert sum(isinstance(r, InboundSms) for r in results) == 1
    assert results.count(None) == THREADS - 1
    assert InboundSms.objects.count() == 1 and OutboundSms.objects.count() == 1


def test_racing_batch_workers_claim_disjoint_chunks_and_send_each_message_once(provider, settings):
    settings.SMS_BATCH_SIZE = 20
    services.sms_send_many(template="XH_REPLY", purpose="test", messages=[
        services.BulkMessage(to=f"139{i:08d}", params={"content": "通知"}, idempotency_key=f"n:{i}")
        for i in range(300)])
    results = race(lambda i: services.sms_deliver_due(), n=8)
    assert sum(results) == 300, results  # every message claimed by exactly one of them
    assert sorted(provider.sent.values()) == [1] * 300
    assert OutboundSms.objects.filter(status=OutboundSms.Status.SENT).count() == 300
