"""Antigen reports over HTTP, against an empty endpoint of the same stack, and the coverage page of
a 40,000-resident compound.

    .venv/bin/python bench/antigen.py [--connections 32] [--threads 2] [--workers 2] [--worker-threads 16]
        [--runs 1] [--coverage-requests 60]

Goal (issue 14): 100,000 reports at least 1,000/s on the 2-core machine that also runs PostgreSQL and
the load generator, with the empty endpoint's rate beside it; the coverage page of a 40,000-resident
compound p95 under 300 ms. The server is started as bench/reservation_burst.py starts it (its
`Server`: `gunicorn config.wsgi`, gthread workers, DEBUG and HTTPS off, PostgreSQL, no access log),
admission control opened wide. Each run measures:

- empty (empty_per_s): GET /healthz, requests/s (the whole middleware stack, no database);
- reports (reports_per_s): POST /antigen/my/report.json, the phone page's JSON endpoint, by wrk:
  one request per household of three, from that household's proven phone (its own session,
  written as the SMS-code check writes it), reporting its three members; every household of the
  bench once, so 100,002 reports (less the one line wrk takes to check its script and never sends).
  reports/s = reports stored / the time from the first report stored to the last (server clock;
  wall_per_s beside it counts wrk's start-up, reading 33,334 prepared requests, too). wrk has no
  "send these and stop": its threads go on to GET /healthz when their lines are sent, and the
  script stops wrk (SIGINT: wrk then prints its figures) once the reports are all stored;
- coverage (coverage_p95_ms): GET /antigen/ as the staff of the committee whose compound holds
  40,002 residents living here, after the reports (so every count is full), sequentially, p95 of
  `--coverage-requests` requests.

After each run every answered household must hold exactly its three reports, and no report may
exist twice; anything else fails the script.

Set-up (not timed): the database is DATABASE_URL, else antigen_bench on localhost (created and
migrated). A district 抗原压测区 with one street, two committees: 抗原压测一居 with one compound of
286 buildings and 13,334 households of three (40,002 residents) and 抗原压测二居 with 20,000
households of three (60,000). Residents are made once (bulk) and kept; each run empties the
antigen reports, sessions and the audit log (the database is the bench's own). The last line is
the medians over `--runs` runs: `reports=… reports_per_s=… empty_per_s=… coverage_p95_ms=…`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _db import bench_unit, use_bench_database
from reservation_burst import BENCH_ENV, add_server_arguments, bench_server, find_wrk, medians, report, run_wrk

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/antigen_bench"
LUA = Path(__file__).resolve().parent / "reservation_burst.lua"
MEMBERS = 3
HOUSEHOLDS = {"抗原压测一居": 13_334, "抗原压测二居": 20_000}  # 100,002 residents, 40,002 in the first
BUILDINGS = 286  # the largest compound of the seeds (康城)
ENV = {**BENCH_ENV, "XIUHUA_VAR_DIR": str(Path(BENCH_ENV["XIUHUA_VAR_DIR"]).parent / "bench_antigen"),
       "XIUHUA_STAFF_SLOTS": "1000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_server_arguments(parser, connections=32, threads=2, worker_threads=16, runs=1)  # --duration: the empty run
    parser.add_argument("--coverage-requests", type=int, default=60)
    args = parser.parse_args()
    if min(args.connections, args.threads, args.workers, args.runs, args.coverage_requests) < 1 or \
            args.connections < args.threads:
        raise SystemExit("every count at least 1; at least one connection per wrk thread")
    wrk = find_wrk()

    os.environ.update(ENV)
    Path(ENV["XIUHUA_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db import connection

    t0 = time.perf_counter()
    world = build_world()
    print(f"world: {world['residents']} residents in {world['households']} households "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    connection.close()
    tmp = Path(tempfile.mkdtemp(prefix="antigen_bench_"))
    server = bench_server(args, tmp / "gunicorn.log")
    runs = []
    try:
        server.start()
        print(f"server: gunicorn on {server.url}, workers={args.workers} ({args.worker_class}, "
              f"{args.worker_threads} threads); wrk threads={args.threads} connections={args.connections}; "
              "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
        for k in range(args.runs):
            t0 = time.perf_counter()
            empty_tables()
            csrf = secrets.token_hex(16)
            lines = tmp / "lines.txt"
            total = write_lines(lines)
            staff_cookie = staff_session(world, csrf)
            print(f"run {k + 1}: {total} households' sessions and bodies in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            connection.close()
            empty = run_wrk(wrk, args, f"{server.url}/healthz")
            report(f"run {k + 1} empty", empty)
            started = time.perf_counter()
            reports = run_until_stored(wrk, args, f"{server.url}/antigen/my/report.json",
                                       [str(lines), str(total), str(args.threads), "field=cookie:sessionid",
                                        f"Cookie: csrftoken={csrf}", f"X-CSRFToken: {csrf}", "spare=/healthz"],
                                       expected=(total - 1) * MEMBERS)
            elapsed = time.perf_counter() - started
            report(f"run {k + 1} reports (wrk's figures include its /healthz once out of lines)", reports)
            stored, window = verify(reports)
            print(f"run {k + 1}: {stored} reports in {elapsed:.1f} s of wrk, {window:.1f} s from the first "
                  f"report stored to the last", file=sys.stderr)
            coverage = coverage_times(server.url, staff_cookie, args.coverage_requests)
            print(f"run {k + 1} coverage: p50 {statistics.median(coverage):.0f} ms, "
                  f"p95 {p95(coverage):.0f} ms, max {max(coverage):.0f} ms", file=sys.stderr)
            runs.append({"reports": stored, "reports_per_s": stored / window, "wall_per_s": stored / elapsed,
                         "empty_per_s": empty["rps"], "coverage_p95_ms": p95(coverage)})
    except (Exception, SystemExit):
        if server.process is not None and server.tail():
            print(f"gunicorn log (last lines):\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    med = medians(runs)
    print("  load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
    print(f"reports={med['reports']:.0f} reports_per_s={med['reports_per_s']:.0f} "
          f"empty_per_s={med['empty_per_s']:.0f} coverage_p95_ms={med['coverage_p95_ms']:.0f}")


def run_until_stored(wrk: str, args, url: str, script_args: list[str], *, expected: int) -> dict:
    """wrk with the Lua script, stopped by SIGINT once `expected` reports are stored (or after 20
    minutes), parsed as bench/reservation_burst.parse_wrk parses it."""
    import subprocess

    from django.db import connection
    from reservation_burst import parse_wrk

    command = [wrk, "--threads", str(args.threads), "--connections", str(args.connections), "--duration", "1200s",
               "--timeout", "10s", "--latency", "--script", str(LUA), url, "--", *script_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while process.poll() is None:
            time.sleep(0.25)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM antigen_antigenreport")
                if cursor.fetchone()[0] >= expected:
                    break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    connection.close()
    if process.returncode not in (0, -signal.SIGINT):
        raise SystemExit(f"wrk failed ({process.returncode}): {err.strip() or out.strip()}")
    return parse_wrk(out)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def build_world() -> dict:
    """The bench's places, its committee staff and its residents (made once, then found again)."""
    from django.db import transaction

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.core.idnumbers import make_resident_id
    from xiuhua.places.models import CompoundType, Kind, OrgUnit, natural_key
    from xiuhua.residents.identity import identity_fields
    from xiuhua.residents.models import Household, IdType, Relation, Resident

    unit = bench_unit
    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, "抗原压测区", city)
    street = unit(Kind.STREET, "抗原压测街道", district, code="310197001000")
    committees = {}
    person = 0
    for c, (name, households) in enumerate(HOUSEHOLDS.items(), start=1):
        committee = unit(Kind.COMMITTEE, name, street, code=f"31019700100{c}")
        compound = unit(Kind.COMPOUND, f"{name}小区", committee, compound_type=CompoundType.ENCLOSED)
        committees[name] = committee
        if Resident.objects.filter(committee=committee).count() == households * MEMBERS:
            person += households * MEMBERS
            continue
        buildings = [unit(Kind.BUILDING, f"{b}号", compound) for b in range(1, BUILDINGS + 1)]
        with transaction.atomic():
            Resident.objects.filter(committee=committee).delete()
            Household.objects.filter(committee=committee).delete()
            rows = []
            for h in range(households):
                building = buildings[h % BUILDINGS]
                room = f"{h // BUILDINGS // 6 + 1}{h // BUILDINGS % 6 + 1:02d}"
                rows.append(Household(building=building, room=room, room_sort=natural_key(room),
                                      committee_id=committee.pk, compound_id=compound.pk))
            made = Household.objects.bulk_create(rows, batch_size=5000)
            residents = []
            for h, household in enumerate(made):
                for m in range(MEMBERS):
                    birth = dt.date(1940, 1, 1) + dt.timedelta(days=person % 25_000)
                    number = make_resident_id("310110", birth, person // 25_000 * 2 + 1)
                    residents.append(Resident(
                        household=household, committee_id=committee.pk, name=f"压测{c}户{h}人{m}", sex="M",
                        birth_date=birth, relation=Relation.HEAD if m == 0 else Relation.CHILD,
                        mobile=f"13{c}{h:08d}" if m == 0 else "", **identity_fields(IdType.RESIDENT_ID, number)))
                    person += 1
                if len(residents) >= 15_000:
                    Resident.objects.bulk_create(residents, batch_size=5000)
                    residents = []
            Resident.objects.bulk_create(residents, batch_size=5000)
    staff, _ = User.objects.get_or_create(username="antigen_bench_staff")
    Membership.objects.get_or_create(user=staff, org_unit=committees["抗原压测一居"], role=Role.COMMITTEE_STAFF)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE residents_resident; ANALYZE residents_household")
    return {"committees": committees, "staff": staff, "residents": person,
            "households": sum(HOUSEHOLDS.values())}


def empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE antigen_antigenreport, django_session, core_auditevent CASCADE")


def write_lines(path: Path) -> int:
    """One line per household: a fresh session holding its proven phone (as mark_verified writes it)
    and the body reporting its three members (the order is shuffled across committees)."""
    import random

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from xiuhua.core.resident_phone import SESSION_PHONE
    from xiuhua.residents.models import Resident

    members: dict[str, list[int]] = {}
    for household_id, mobile, pk in (Resident.objects.filter(name__startswith="压测")
                                     .order_by("household_id", "relation", "pk")
                                     .values_list("household_id", "mobile", "pk").iterator(chunk_size=20_000)):
        key = str(household_id)
        members.setdefault(key, [])
        members[key].append(pk)
        if mobile:
            members[key].insert(0, mobile)  # the phone first
    until = (timezone.now() + dt.timedelta(minutes=30)).isoformat()
    expire = timezone.now() + dt.timedelta(hours=8)
    store = SessionStore()
    sessions, lines = [], []
    for phone_and_ids in members.values():
        phone, ids = phone_and_ids[0], phone_and_ids[1:]
        key = secrets.token_hex(16)
        sessions.append(Session(session_key=key, session_data=store.encode(
            {SESSION_PHONE: {"phone": phone, "until": until}}), expire_date=expire))
        body = {"reports": [{"member": pk, "result": "negative"} for pk in ids]}
        lines.append(f"{key}\t{json.dumps(body, separators=(',', ':'))}\n")
    Session.objects.bulk_create(sessions, batch_size=5000)
    random.Random(14).shuffle(lines)
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def staff_session(world: dict, csrf: str) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(world["staff"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}"


def verify(result: dict) -> tuple[int, float]:
    """Every household answered 2xx holds its three reports; nobody twice. Returns the reports
    stored and the seconds from the first to the last."""
    from django.db import connection

    answered = result["completed"] - result["non2xx"]
    with connection.cursor() as cursor:
        stored, steady, deadline = -1, 0, time.monotonic() + 30
        while time.monotonic() < deadline:  # the server finishes what wrk left on the wire
            cursor.execute("SELECT count(*) FROM antigen_antigenreport")
            count = cursor.fetchone()[0]
            steady, stored = (steady + 1 if count == stored else 0), count
            if steady >= 8:
                break
            time.sleep(0.25)
        cursor.execute("SELECT count(*) FROM (SELECT household_id FROM antigen_antigenreport GROUP BY household_id "
                       "HAVING count(*) <> %s) partial", [MEMBERS])
        partial = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) - count(DISTINCT (resident_id, day)) FROM antigen_antigenreport")
        doubled = cursor.fetchone()[0]
        cursor.execute("SELECT EXTRACT(EPOCH FROM max(reported_at) - min(reported_at)) FROM antigen_antigenreport")
        window = float(cursor.fetchone()[0] or 0)
    print(f"verify: reports={stored} answered_2xx={answered} partial_households={partial} doubled={doubled} "
          f"non2xx={result['non2xx']} socket_errors={result['socket_errors']}", file=sys.stderr)
    problems = []
    if result["non2xx"]:
        problems.append(f"{result['non2xx']} non-2xx answers")
    if stored < (answered - sum(t["out_of_lines"] for t in result["threads"])) * MEMBERS:
        problems.append(f"{stored} reports for {answered} answered requests")
    if partial or doubled:
        problems.append(f"{partial} households with a part of their reports, {doubled} doubled")
    if problems:
        print(result["text"], file=sys.stderr)
        raise SystemExit("verification failed: " + "; ".join(problems))
    return stored, window


def coverage_times(base: str, cookie: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        request = urllib.request.Request(f"{base}/antigen/", headers={"Cookie": cookie})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
            if response.status != 200 or "by-building" not in body:
                raise SystemExit(f"coverage page answered {response.status}")
        times.append((time.perf_counter() - started) * 1000)
    if "40002" not in body.replace(",", "").replace(" ", "") and "40,002" not in body:
        raise SystemExit("the coverage page does not show the 40,002 residents")
    return times


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
