"""A task worker SIGKILLed in the middle of a batch, on PostgreSQL with real processes: restarted
(and the sweep run), every queued message ends sent exactly once at the provider, none queued.

The worker is caught with a chunk claimed ("sending"), some of its messages accepted and answered,
some requests held in flight by the fake provider, and the chunk's status write not done. The
held requests land after the worker is dead (as requests in flight do). Nothing here sleeps for
timing: every wait is for a condition, with a deadline.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F

from xiuhua.sms.models import OutboundSms
from xiuhua.sms.services import BulkMessage, reconcile_after, sms_send_many
from xiuhua.testing import wait_for

from .fake_provider import KEY_ID, KEY_SECRET, WEBHOOK_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = OutboundSms.Status
ROOT = Path(__file__).resolve().parents[3]
MESSAGES = 400
BATCH = 50


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(provider_url: str, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "XIUHUA_VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "SMS_BACKEND": "xiuhua.sms.backends.HttpProviderBackend",
        "SMS_PROVIDER_URL": provider_url,
        "SMS_ACCESS_KEY_ID": KEY_ID,
        "SMS_ACCESS_KEY_SECRET": KEY_SECRET,
        "SMS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SMS_SIGN_NAME": "绣花针",
        "SMS_BATCH_SIZE": str(BATCH),
        "SMS_SEND_CONCURRENCY": "4",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.1",
         "--worker-id", name],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def statuses() -> dict[str, int]:
    rows = OutboundSms.objects.values("status").annotate(n=Count("pk")).order_by()
    return {row["status"]: row["n"] for row in rows}


@pytest.fixture
def workers():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(provider, settings, workers):
    settings.SMS_BATCH_SIZE = BATCH
    with transaction.atomic():
        queued = sms_send_many(template="XH_REPLY", purpose="test", messages=[
            BulkMessage(to=f"139{i:08d}", params={"content": f"筛查通知{i}"}, idempotency_key=f"notice:{i}")
            for i in range(MESSAGES)])
    assert queued == MESSAGES

    # The provider takes 80 messages, then holds the requests that follow (the worker is then
    # waiting on them, its second chunk claimed and not recorded).
    provider.hold_after = 80
    first = start_worker(provider.url, "first")
    workers.append(first)
    wait_for(lambda: provider.holding >= 1, "a request held in flight")
    first.send_signal(signal.SIGKILL)
    first.wait()
    stuck = set(OutboundSms.objects.filter(status=Status.SENDING).values_list("pk", flat=True))
    assert len(stuck) == BATCH  # the chunk it was sending
    before = provider.stats()["distinct"]

    # The requests in flight land after their worker died.
    provider.release.set()
    wait_for(lambda: provider.holding == 0, "the held requests to land")
    provider.hold_after = None
    at_provider = {int(out_id.removeprefix("xh-")) for out_id in provider.sent}
    landed = len(stuck & at_provider)
    assert 0 < landed < BATCH and provider.stats()["distinct"] > before

    # Later (moved back rather than waited for), the sweep asks the provider about them.
    OutboundSms.objects.filter(pk__in=stuck).update(last_attempt_at=F("last_attempt_at") - reconcile_after())
    call_command("sms_sweep", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert OutboundSms.objects.filter(pk__in=stuck, status=Status.SENT).count() == landed
    assert OutboundSms.objects.filter(pk__in=stuck, status=Status.QUEUED).count() == BATCH - landed

    workers.append(start_worker(provider.url, "second"))
    wait_for(lambda: statuses() == {Status.SENT: MESSAGES}, "every message sent", timeout=120)

    rows = dict(OutboundSms.objects.values_list("pk", "provider_message_id"))
    assert provider.sent == {f"xh-{pk}": 1 for pk in rows}  # each sent once, nothing else sent
    assert all(rows.values())
    assert provider.stats()["sent_twice"] == 0
