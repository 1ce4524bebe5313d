"""Sampling stations sending their batches over HTTP, against an empty endpoint of the same stack.

    .venv/bin/python bench/screening_scan.py [--duration 10] [--connections 16] [--threads 2] [--workers 2]
        [--worker-threads 16] [--runs 3] [--batch 50] [--insert-clients 8]

Goal (issue 13): at least 2,000 person-scans/s on the 2-core machine that also runs PostgreSQL and
the load generator, with the same run's limit beside it. The server is started as
bench/reservation_burst.py starts it (its `Server`: `gunicorn config.wsgi`, gthread workers, DEBUG
and HTTPS off, PostgreSQL, no access log), admission control opened wide. Each run measures:

- empty (empty_per_s): GET /healthz, requests/s (the whole middleware stack, no database);
- scans (scans_per_s): POST /screening/station/<site>/batch by wrk, each request a prepared batch of
  its own (a new key) from a logged-in volunteer (session cookie and CSRF header): `--batch` person
  scans in tubes of 10, each tube started by its barcode (batch/10 tube events), so every tenth scan
  fills and closes a tube through the workflow. Person-scans/s = 2xx answers/s x `--batch`;
- inserts (insert_per_s): `--insert-clients` processes, each on its own psycopg connection, insert
  what a batch writes in SQL (the batch row with its answer, its tubes, its members, the audit
  events of the batch and of the closed tubes), one transaction per batch, for `--duration`
  seconds: PostgreSQL's part alone, in person-scans/s.

limit_per_s = 1 / (1/(empty_per_s x batch) + 1/insert_per_s), in person-scans/s: what one request of
the stack that carries a batch, plus the database's writes of that batch, could reach here; the
brief's `1/(1/empty_per_s + 1/insert_per_s)` with the empty request counted per scan it carries.

After each run every 2xx answer must have stored its batch once with all its events accepted, and
the round must hold exactly `--batch` samples per stored batch; anything else fails the script.

Set-up (not timed): the database is DATABASE_URL, else xiuhua_bench_scan on localhost (created and
migrated). A district 采样压测区 with one street, one committee, one compound and building, a
volunteer; each run empties the screening tables and the audit log (this database is the bench's
own), then opens a new round with one site of four lines and as many walk-in sampling codes
as the run could use (written with COPY). The last line is the medians over `--runs` runs:
`scans_per_s=… empty_per_s=… limit_per_s=… insert_per_s=… batch=… p99_ms=…`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _db import bench_unit, use_bench_database
from reservation_burst import BENCH_ENV, add_server_arguments, bench_server, find_wrk, medians, report, run_wrk

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_scan"
SCAN_CEILING = 8000  # person-scans/s no 2-core machine reaches; prepared batches = ceiling x duration x 1.25 / batch
# Codes made for the insert clients, used again under each of INSERT_ROUNDS more rounds (their
# samples are unique per round and code): enough for ~60,000 scans/s for 10 s.
INSERT_CODES = 40000
INSERT_ROUNDS = 15
ENV = {**BENCH_ENV, "XIUHUA_VAR_DIR": str(Path(BENCH_ENV["XIUHUA_VAR_DIR"]).parent / "bench_scan"),
       "XIUHUA_STAFF_SLOTS": "1000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_server_arguments(parser, connections=16, threads=2, worker_threads=16, runs=3)
    parser.add_argument("--batch", type=int, default=50, help="person scans per batch (a multiple of 10)")
    parser.add_argument("--insert-clients", type=int, default=8)
    args = parser.parse_args()
    if args.batch < 10 or args.batch % 10 or args.batch > 400:
        raise SystemExit("--batch must be a multiple of 10, at most 400")
    if min(args.duration, args.connections, args.threads, args.workers, args.runs) < 1 or \
            args.connections < args.threads:
        raise SystemExit("--duration, --workers, --runs at least 1; at least one connection per wrk thread")
    wrk = find_wrk()

    os.environ.update(ENV)
    Path(ENV["XIUHUA_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    url = use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db import connection

    world = build_world()
    cookie, csrf = login(world["volunteer"])
    batches = math.ceil(SCAN_CEILING * args.duration * 1.25 / args.batch)
    connection.close()
    tmp = Path(tempfile.mkdtemp(prefix="xiuhua_bench_scan_"))
    server = bench_server(args, tmp / "gunicorn.log")
    runs = []
    try:
        server.start()
        print(f"server: gunicorn on {server.url}, workers={args.workers} ({args.worker_class}, "
              f"{args.worker_threads} threads); wrk threads={args.threads} connections={args.connections} "
              f"duration={args.duration}s; {batches} batches of {args.batch} per run; load average "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
        for k in range(args.runs):
            t0 = time.perf_counter()
            empty_screening()
            site, codes = new_round(world, batches * args.batch, k)
            bodies = tmp / "bodies.txt"
            write_bodies(bodies, site, codes, args.batch)
            print(f"run {k + 1}: site {site.pk}, {len(codes)} codes and {batches} bodies in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            connection.close()
            empty = run_wrk(wrk, args, f"{server.url}/healthz")
            report(f"run {k + 1} empty", empty)
            scans = run_wrk(wrk, args, f"{server.url}/screening/station/{site.pk}/batch",
                            [str(bodies), str(batches), str(args.threads), f"Cookie: {cookie}",
                             f"X-CSRFToken: {csrf}"])
            report(f"run {k + 1} batches", scans)
            verify(site, scans, args.batch)
            inserts = measure_inserts(url, world, args.batch, args.insert_clients, args.duration, k)
            print(f"run {k + 1} inserts: {inserts:.0f} scans/s ({args.insert_clients} clients)", file=sys.stderr)
            connection.close()
            scans_per_s = scans["rps"] * args.batch
            runs.append({"scans_per_s": scans_per_s, "empty_per_s": empty["rps"], "insert_per_s": inserts,
                         "limit_per_s": 1 / (1 / (empty["rps"] * args.batch) + 1 / inserts),
                         "p99_ms": scans["p99_ms"]})
    except (Exception, SystemExit):
        if server.process is not None and server.tail():
            print(f"gunicorn log (last lines):\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    med = medians(runs)
    print("  load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
    print(f"scans_per_s={med['scans_per_s']:.0f} empty_per_s={med['empty_per_s']:.0f} "
          f"limit_per_s={med['limit_per_s']:.0f} insert_per_s={med['insert_per_s']:.0f} batch={args.batch} "
          f"p99_ms={med['p99_ms']:.0f}")


def build_world() -> dict:
    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import CompoundType, Kind, OrgUnit

    unit = bench_unit

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, "采样压测区", city)
    street = unit(Kind.STREET, "采样压测街道", district, code="310198001000")
    committee = unit(Kind.COMMITTEE, "采样压测居委会", street, code="310198001001")
    compound = unit(Kind.COMPOUND, "采样压测村", committee, compound_type=CompoundType.OPEN)
    building = unit(Kind.BUILDING, "1号", compound)
    officer, _ = User.objects.get_or_create(username="bench_scan_officer")
    Membership.objects.get_or_create(user=officer, org_unit=street, role=Role.STREET_OFFICER)
    volunteer, _ = User.objects.get_or_create(username="bench_scan_volunteer")
    Membership.objects.get_or_create(user=volunteer, org_unit=committee, role=Role.VOLUNTEER)
    return {"street": street, "committee": committee, "compound": compound, "building": building,
            "officer": officer, "volunteer": volunteer}


def login(user) -> tuple[str, str]:
    """A session for the volunteer, as the login page would make it, and a CSRF secret for the
    cookie and the header (Django takes the unmasked secret as the header's token)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    csrf = "".join(secrets.choice(alphabet) for _ in range(32))
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}", csrf


def empty_screening() -> None:
    """The bench database's screening rows and audit events gone (it is the bench's own), so
    that every run starts from the same tables: an insert measurement alone adds a million."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE screening_tubemember, screening_tube, screening_box, screening_stationbatch, "
                       "screening_samplingcode, screening_line, screening_site, screening_roundcompound, "
                       "screening_screeninground, core_auditevent CASCADE")


def new_round(world: dict, codes_needed: int, run: int):
    """An open round with one site of four lines and `codes_needed` walk-in codes (COPY)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from xiuhua.screening.models import Line, PoolRule, RoundCompound, RoundStatus, ScreeningRound, Site

    today = timezone.localdate()
    with transaction.atomic():
        screening_round = ScreeningRound.objects.create(
            name=f"压测轮次 {timezone.now():%H%M%S} {run}", scope=world["street"], first_day=today,
            last_day=today, status=RoundStatus.OPEN, created_by=world["officer"])
        RoundCompound.objects.create(round=screening_round, compound=world["compound"], pool_rule=PoolRule.TEN)
        site = Site.objects.create(round=screening_round, committee=world["committee"], name="压测采样点")
        for n in range(1, 5):
            Line.objects.create(site=site, number=n, rate_per_hour=200)
        now = timezone.now()
        prefix = f"B{screening_round.pk:05d}"
        codes = [f"{prefix}{i:07d}" for i in range(codes_needed)]
        with connection.cursor() as cursor, cursor.cursor.copy(
            "COPY screening_samplingcode (round_id, reference, committee_id, building_id, name_masked, room, phone, "
            "walk_in, walk_in_name, created_at) FROM STDIN"
        ) as copy:
            for i, reference in enumerate(codes):
                copy.write_row((screening_round.pk, reference, world["committee"].pk, world["building"].pk,
                                f"访*{i % 100}", "", "", True, f"访客{i}", now))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE screening_samplingcode")
    return site, codes


def write_bodies(path: Path, site, codes: list[str], batch: int) -> None:
    at = dt.datetime.now(dt.UTC).isoformat()
    with path.open("w", encoding="utf-8") as out:
        for b in range(len(codes) // batch):
            events = []
            for t in range(batch // 10):
                barcode = f"S{site.pk}B{b:06d}T{t:02d}"
                events.append({"kind": "tube", "barcode": barcode, "line": 1 + b % 4, "at": at})
                for code in codes[b * batch + t * 10: b * batch + t * 10 + 10]:
                    events.append({"kind": "person", "tube": barcode, "code": code, "at": at})
            # No bearer token before the tab: the session cookie and CSRF header go with every request.
            out.write("\t" + json.dumps({"key": f"bench-{site.pk}-{b:07d}", "events": events}, separators=(",", ":")))
            out.write("\n")


def verify(site, result: dict, batch: int) -> None:
    """Every answered batch stored once with all its events accepted; `batch` samples per stored batch."""
    from django.db import connection

    answered = result["completed"] - result["non2xx"]
    sent = sum(t["used"] for t in result["threads"])
    left_on_wire = max(0, sent - 1 - result["completed"])  # as in reservation_burst.verify
    with connection.cursor() as cursor:
        stored, steady, deadline = -1, 0, time.monotonic() + 30
        while time.monotonic() < deadline:  # the server finishes what wrk left on the wire
            cursor.execute("SELECT count(*) FROM screening_stationbatch WHERE site_id = %s", [site.pk])
            count = cursor.fetchone()[0]
            steady, stored = (steady + 1 if count == stored else 0), count
            if stored >= answered + left_on_wire or steady >= 8:
                break
            time.sleep(0.25)
        cursor.execute("SELECT count(*) FROM screening_stationbatch WHERE site_id = %s "
                       "AND (answer->>'refused')::int <> 0", [site.pk])
        with_refusals = cursor.fetchone()[0]
        cursor.execute("SELECT count(*), count(DISTINCT code_id) FROM screening_tubemember m "
                       "JOIN screening_tube t ON t.id = m.tube_id WHERE t.site_id = %s", [site.pk])
        samples, people = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM screening_tube WHERE site_id = %s AND status <> 'closed'", [site.pk])
        not_closed = cursor.fetchone()[0]
    print(f"verify: batches={stored} answered_2xx={answered} left_on_wire={left_on_wire} samples={samples} "
          f"people={people} with_refusals={with_refusals} tubes_not_closed={not_closed} "
          f"non2xx={result['non2xx']} socket_errors={result['socket_errors']}", file=sys.stderr)
    problems = []
    if result["non2xx"]:
        problems.append(f"{result['non2xx']} non-2xx answers")
    if sum(t["out_of_lines"] for t in result["threads"]):
        problems.append("wrk ran out of prepared batches (raise SCAN_CEILING)")
    if not answered <= stored <= answered + left_on_wire:
        problems.append(f"{stored} batches stored for {answered} answers and {left_on_wire} left on the wire")
    if samples != stored * batch or people != samples:
        problems.append(f"{samples} samples of {people} people for {stored} batches of {batch}")
    if with_refusals or not_closed:
        problems.append(f"{with_refusals} batches with refusals, {not_closed} tubes not closed")
    if problems:
        print(result["text"], file=sys.stderr)
        raise SystemExit("verification failed: " + "; ".join(problems))


# ---------------------------------------------------------------- the database's own part


def _insert_client(url: str, job: dict, start, seconds: float, out) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    done = 0
    batch, site, committee, user = job["batch"], job["site"], job["committee"], job["user"]
    rounds = iter(job["rounds"])  # the codes again under the next round once they are used up
    round_id = next(rounds)
    tubes_per = batch // 10
    answer = Jsonb({"results": [{"ok": True, "message": "x" * 20}] * (batch + tubes_per), "accepted": batch})
    try:
        with psycopg.connect(url, prepare_threshold=0) as conn:
            start.wait()
            deadline = time.perf_counter() + seconds
            n = b = 0
            while time.perf_counter() < deadline:
                key = f"{job['prefix']}-{n:07d}"
                with conn.transaction():
                    batch_id = conn.execute(
                        "INSERT INTO screening_stationbatch (key, round_id, site_id, sent_by_id, received_at, events, "
                        "answer) VALUES (%s, %s, %s, %s, now(), %s, %s) RETURNING id",
                        [key, round_id, site, user, batch + tubes_per, answer]).fetchone()[0]
                    tube_ids = [row[0] for row in conn.execute(
                        "INSERT INTO screening_tube (round_id, site_id, line_id, committee_id, barcode, pool_rule, "
                        "capacity, retest, status, opened_at, closed_at, recorded_at, result) "
                        "SELECT %s, %s, NULL, %s, %s || '-' || g, '10', 10, false, 'closed', now(), now(), now(), '' "
                        "FROM generate_series(1, %s) g RETURNING id",
                        [round_id, site, committee, key, tubes_per]).fetchall()]
                    codes = job["codes"][b * batch:(b + 1) * batch]
                    conn.execute(
                                "INSERT INTO screening_tubemember (tube_id, code_id, round_id, retest, scanned_at, "
                        "recorded_at) SELECT (%s::bigint[])[(g - 1) / 10 + 1], c, %s, false, now(), now() "
                        "FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(c, g)",
                        [tube_ids, round_id, codes])
                    conn.execute(
                        "INSERT INTO core_auditevent (at, actor_id, actor_role, action, personal, object_type, "
                        "object_id, committee_id, subject_label, reason, detail) "
                        "SELECT now(), %s, 'volunteer', a, false, 'screening.tube', o, %s, 'x', '', '{}'::jsonb "
                        "FROM unnest(%s::text[], %s::bigint[]) AS u(a, o)",
                        [user, committee, ["screening_station_batch"] + ["screening_tube_close"] * tubes_per,
                         [batch_id, *tube_ids]])
                n += 1
                b += 1
                done += batch
                if (b + 1) * batch > len(job["codes"]):
                    b, round_id = 0, next(rounds, None)
                    if round_id is None:
                        out.put("ran out of codes (raise INSERT_ROUNDS)")
                        return
    except psycopg.Error as exc:
        out.put(f"{type(exc).__name__}: {exc}")
        return
    out.put(done)


def measure_inserts(url: str, world: dict, batch: int, clients: int, seconds: float, run: int) -> float:
    """insert_per_s: what the batches write, in SQL, by `clients` connections for `seconds`, in scans/s."""
    import multiprocessing

    from django.db import connection

    from xiuhua.screening.models import ScreeningRound

    site, codes = new_round(world, INSERT_CODES, run)
    rounds = [site.round_id] + [
        ScreeningRound.objects.create(name=f"压测写入 {site.pk}-{r}", scope=world["street"],
                                      first_day=site.round.first_day, last_day=site.round.first_day,
                                      created_by=world["officer"]).pk
        for r in range(INSERT_ROUNDS)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM screening_samplingcode WHERE round_id = %s ORDER BY id", [site.round_id])
        code_ids = [row[0] for row in cursor.fetchall()]
    connection.close()
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    share = len(code_ids) // clients
    procs = [ctx.Process(target=_insert_client, args=(url, {
        "batch": batch, "site": site.pk, "rounds": rounds, "committee": world["committee"].pk,
        "user": world["volunteer"].pk, "prefix": f"ins-{site.pk}-{k}", "codes": code_ids[k * share:(k + 1) * share],
    }, start, seconds, out)) for k in range(clients)]
    for proc in procs:
        proc.start()
    time.sleep(1)
    t0 = time.perf_counter()
    start.set()
    answers = [out.get(timeout=seconds + 60) for _ in procs]
    elapsed = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    failures = [a for a in answers if isinstance(a, str)]
    if failures:
        raise SystemExit(f"an insert client failed: {failures[0]}")
    return sum(answers) / elapsed


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
