"""A street-wide notice: 100,000 SMS queued at once and sent by two task workers, one of them
killed half way.

    .venv/bin/python bench/sms_fanout.py [--messages 100000] [--workers 2] [--kill-at 0.5]
        [--sweep-every 10] [--concurrency 8] [--batch 100] [--timeout 900] [--database-url URL]

Goal (issue 12): under 300 s from the first INSERT to the last message handed to the provider,
each message sent once, none lost, with one worker SIGKILLed half way and restarted.

What runs, all on this machine:

- the fake provider (xiuhua/sms/tests/fake_provider.py) in a child process on loopback: it checks
  every SendSms request's signature, nonce and timestamp as the real one would, counts accepted
  messages by OutId (xh-<row id>: a count above 1 is a message sent twice) and answers
  QuerySendDetails from what it accepted;
- `--workers` task workers, `manage.py db_worker` as in production (real processes, the
  database task backend, the HTTP provider backend pointed at the fake provider, its settings
  from the environment: SMS_BACKEND, SMS_PROVIDER_URL, keys, SMS_SEND_CONCURRENCY, SMS_BATCH_SIZE);
- the queueing, in this process, through the real path: `sms.services.sms_send_many` of
  `--messages` notices (XH_REPLY, one per mobile, spread over the street's committees) in one
  transaction, which enqueues the batch delivery tasks once it commits. The clock starts before
  the first row is built, so queueing is part of the measured time;
- when the provider has accepted `--kill-at` of the messages and both workers hold a claimed
  chunk, worker 1 gets SIGKILL (mid-batch: rows claimed, some requests made, no status written;
  `killed_mid_batch` says how many it left "sending") and is started again at once; from then
  on `manage.py sms_sweep` runs every `--sweep-every` seconds, as cron or run_periodic would
  (every minute in production): it asks the provider about messages left "sending" by the dead
  worker (once they are older than services.reconcile_after(), 40 s with the default 10 s provider
  timeout), marks sent those it has and queues the others again.

The run ends when no bench message is queued or sending (or after `--timeout` seconds). Then:
sent_twice = OutIds the provider accepted more than once; lost = bench messages the provider never
accepted; the database must hold every message "sent" with a provider id (else it says so).

Set-up (not timed): the database is `--database-url`, else xh_fanout_bench on localhost (created
and migrated by _db.use_bench_database). One street with 20 committees. Each run first deletes the
previous run's bench messages, the task rows and the SMS audit events, so it can be run again on
the same database.

Details go to stderr; the last line is
`messages=… queue_seconds=… per_s=… killed_mid_batch=… seconds=… sent_twice=… lost=…`.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _db import REPO_ROOT, bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xh_fanout_bench"
PURPOSE = "bench_fanout"
COMMITTEES = 20
CODE_PREFIX = "310109777"


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the fake provider, in its own process


def _provider_main(conn) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from xiuhua.sms.tests.fake_provider import FakeProvider

    provider = FakeProvider(keep_requests=False).start()
    conn.send(provider.url)
    while True:
        command = conn.recv()
        if command == "stats":
            conn.send(provider.stats())
        elif command == "sent":
            conn.send(dict(provider.sent))
        else:
            provider.stop()
            conn.send("stopped")
            return


class Provider:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_provider_main, args=(child,), daemon=True)
        self.process.start()
        self.url = self.conn.recv()

    def ask(self, command: str):
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop")
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


# ---------------------------------------------------------------- workers


class Workers:
    def __init__(self, count: int, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.logdir = logdir
        self.processes: list[subprocess.Popen | None] = [None] * count
        self.starts = [0] * count
        self.dead_cpu = 0.0
        for i in range(count):
            self.start(i)

    def start(self, i: int) -> None:
        self.starts[i] += 1
        out = open(self.logdir / f"worker{i + 1}-{self.starts[i]}.log", "wb")  # noqa: SIM115 (kept open)
        self.processes[i] = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.2",
             "--worker-id", f"bench-{i + 1}-{self.starts[i]}"],
            cwd=REPO_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes if p is not None and p.poll() is None)

    def kill(self, i: int) -> None:
        process = self.processes[i]
        assert process is not None
        self.dead_cpu += cpu_seconds(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def alive(self) -> int:
        return sum(1 for p in self.processes if p is not None and p.poll() is None)

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_sweep(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "manage.py", "sms_sweep"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return (done.stdout.strip() or done.stderr.strip()[-300:]).replace("\n", " ")


# ---------------------------------------------------------------- the street


def street_committees() -> list[int]:
    from xiuhua.places.models import Kind, OrgUnit

    unit = bench_unit

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, "短信压测区", city)
    street = unit(Kind.STREET, "短信压测街道", district, code=f"{CODE_PREFIX}000")
    return [unit(Kind.COMMITTEE, f"短信压测第{c + 1}居委会", street, code=f"{CODE_PREFIX}{c + 1:03d}").pk
            for c in range(COMMITTEES)]


def clean_previous_run() -> None:
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from xiuhua.core.models import AuditEvent
    from xiuhua.sms.models import OutboundSms

    t = time.perf_counter()
    deleted, _ = OutboundSms.objects.filter(purpose=PURPOSE).delete()
    AuditEvent.objects.filter(action__startswith="sms_").delete()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {DBTaskResult._meta.db_table}")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {OutboundSms._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {DBTaskResult._meta.db_table}")
    log(f"cleaned the previous run ({deleted} rows) in {time.perf_counter() - t:.1f} s")


def armed(provider: Provider, queued: int, args) -> bool:
    return bool(args.kill_at) and provider.ask("stats")["distinct"] >= args.kill_at * queued


def sending(before=None) -> int:
    from xiuhua.sms.models import OutboundSms

    rows = OutboundSms.objects.filter(purpose=PURPOSE, status=OutboundSms.Status.SENDING)
    if before is not None:
        rows = rows.filter(last_attempt_at__lt=before)
    return rows.count()


def status_counts() -> dict[str, int]:
    from django.db.models import Count

    from xiuhua.sms.models import OutboundSms

    rows = OutboundSms.objects.filter(purpose=PURPOSE).values("status").annotate(n=Count("pk")).order_by()
    return {row["status"]: row["n"] for row in rows}


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction sent when worker 1 is killed; 0: never")
    parser.add_argument("--sweep-every", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8, help="SMS_SEND_CONCURRENCY of each worker")
    parser.add_argument("--batch", type=int, default=100, help="SMS_BATCH_SIZE: messages claimed at a time")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()

    url = use_bench_database(args.database_url)
    from django.db import transaction
    from django.utils import timezone

    from xiuhua.sms.services import BulkMessage, reconcile_after, sms_send_many
    from xiuhua.sms.tests.fake_provider import KEY_ID, KEY_SECRET, WEBHOOK_SECRET

    committees = street_committees()
    clean_previous_run()
    provider = Provider()
    logdir = Path(tempfile.mkdtemp(prefix="sms_fanout-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "SMS_BACKEND": "xiuhua.sms.backends.HttpProviderBackend",
        "SMS_PROVIDER_URL": provider.url,
        "SMS_ACCESS_KEY_ID": KEY_ID,
        "SMS_ACCESS_KEY_SECRET": KEY_SECRET,
        "SMS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SMS_SIGN_NAME": "绣花针",
        "SMS_SEND_CONCURRENCY": str(args.concurrency),
        "SMS_BATCH_SIZE": str(args.batch),
    }
    # This process queues (sms_send_many enqueues SMS_DELIVERY_TASKS batch tasks) with the same settings.
    from django.conf import settings

    settings.SMS_BATCH_SIZE = args.batch
    log(f"provider {provider.url}; worker logs in {logdir}; {args.workers} workers, {args.concurrency} requests "
        f"at a time each, {args.batch} messages a claim; lost sends reconciled after "
        f"{reconcile_after().total_seconds():.0f} s")
    workers = Workers(args.workers, env, logdir)
    try:
        time.sleep(2)  # the workers are up and polling (not timed)
        if workers.alive() != args.workers:
            raise SystemExit(f"a worker did not start: see {logdir}")
        run = time.time_ns()
        text = "{street}核酸筛查通知:请于{day}按时段到{place}排队采样,携带身份证,全程佩戴口罩。"  # one SMS part
        messages = [
            BulkMessage(
                to=f"139{i:08d}",
                params={"content": text.format(street="短信压测街道", day="12月7日", place=f"第{i % 40 + 1}采样点")},
                idempotency_key=f"{PURPOSE}:{run}:{i}",
                committee_id=committees[i % len(committees)],
            )
            for i in range(args.messages)
        ]
        t0 = time.perf_counter()
        with transaction.atomic():
            queued = sms_send_many(template="XH_REPLY", purpose=PURPOSE, messages=messages)
        queue_seconds = time.perf_counter() - t0
        log(f"queued {queued} in {queue_seconds:.1f} s")

        killed_at = None
        stuck = None
        next_sweep = None
        last_report = 0.0
        while True:
            time.sleep(0.02 if killed_at is None and armed(provider, queued, args) else 0.5)
            now = time.perf_counter()
            stats = provider.ask("stats")
            if killed_at is None and armed(provider, queued, args) and sending() >= 2 * args.batch:
                # Both workers hold a claimed chunk: worker 1 dies mid-batch.
                workers.kill(0)
                killed_at, kill_time = now, timezone.now()
                log(f"{now - t0:6.1f} s  SIGKILL worker 1 with {stats['distinct']} accepted, both workers "
                    f"mid-batch; started again")
                workers.start(0)
                next_sweep = now
            if killed_at is not None and stuck is None and now - killed_at > 3:
                stuck = sending(before=kill_time)
                log(f"{now - t0:6.1f} s  the killed worker left {stuck} messages 'sending'")
            if next_sweep is not None and now >= next_sweep:
                log(f"{now - t0:6.1f} s  sms_sweep: {run_sweep(env)}")
                next_sweep = time.perf_counter() + args.sweep_every
            counts = status_counts()
            if now - last_report >= 10:
                last_report = now
                log(f"{now - t0:6.1f} s  provider accepted {stats['accepted']} ({stats['distinct']} distinct); "
                    f"database {counts}; workers alive {workers.alive()}")
            if not counts.get("queued") and not counts.get("sending"):
                break
            if now - t0 > args.timeout:
                log(f"timed out after {args.timeout:.0f} s: {counts}")
                break
        seconds = time.perf_counter() - t0
        stats = provider.ask("stats")
        counts = status_counts()
        log(f"CPU seconds: workers {workers.cpu() + workers.dead_cpu:.0f}, provider "
            f"{cpu_seconds(provider.process.pid):.0f}, this process {time.process_time():.0f} "
            f"(queueing and polling); load average now {os.getloadavg()[0]:.2f}")
    finally:
        workers.stop()

    from xiuhua.sms.models import OutboundSms

    sent = provider.ask("sent")
    provider.stop()
    rows = dict(OutboundSms.objects.filter(purpose=PURPOSE).values_list("pk", "status"))
    sent_twice = sum(1 for pk in rows if sent.get(f"xh-{pk}", 0) > 1)
    lost = sum(1 for pk in rows if not sent.get(f"xh-{pk}"))
    not_ours = sum(1 for out_id in sent if int(out_id.removeprefix("xh-")) not in rows)
    marked_sent = sum(1 for status in rows.values() if status == OutboundSms.Status.SENT)
    log(f"database {counts}; provider {stats}; accepted but not a bench message: {not_ours}")
    if marked_sent != len(rows):
        log(f"WARNING: {len(rows) - marked_sent} bench messages are not marked sent")
    per_s = queued / seconds if seconds else 0
    print(f"messages={queued} queue_seconds={queue_seconds:.1f} per_s={per_s:.0f} killed_mid_batch={stuck or 0} "
          f"seconds={seconds:.1f} sent_twice={sent_twice} lost={lost}")


if __name__ == "__main__":
    main()
