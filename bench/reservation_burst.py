"""Mask reservations over HTTP at a round's opening burst, against an empty endpoint of the same stack.

    .venv/bin/python bench/reservation_burst.py [--duration 10] [--connections 64] [--threads 2] [--workers 2]
        [--worker-class gthread|sync] [--worker-threads 16] [--runs 3] [--max-requests 0]
        [--loaded [--after-allocation]] [--insert-clients 8]

Goal (the issue): at least 2,000 reservations/s, and at least half the machine's limit measured in
the same run (ratio_to_limit >= 0.5), fresh and --loaded, on a 2-core machine that also runs
PostgreSQL and the load generator. The limit is what one HTTP request plus one insert could
reach here: limit_per_s = 1 / (1/empty_per_s + 1/insert_per_s).

The app runs as in production: `gunicorn config.wsgi` with `--workers` workers (gthread, 16
threads each, by default) on 127.0.0.1 (no access log, DEBUG off, HTTPS off, PostgreSQL,
persistent connections as configured; admission control opened wide, since throughput and not
overload is measured here: bench/surge.py does that), started
here in its own process group and always stopped at the end. Load comes from wrk (apt install
wrk) with `--threads` threads and `--connections` connections for `--duration` seconds, latency
measured up to a 10 s timeout. Each run measures, on the same server and settings:

- empty: GET /healthz (the whole middleware stack, no database);
- inserts (insert_per_s): `--insert-clients` processes, each with its own psycopg connection,
  insert the same reservation-plus-audit-event rows in SQL (INSERT_SQL, prepared, autocommit)
  into a round of their own for `--duration` seconds: PostgreSQL's part of a reservation alone;
- reservations: POST /masks/api/reservations, each request a different resident of the roster
  from a different phone: `Authorization: Bearer <xiuhua.masks.phone_tokens.issue(phone)>` and
  {"round", "committee", "name", "id_type": "resident_id", "id_number"}. The server checks the
  token (an HMAC, no database read), checks the number, finds the person in the roster by keyed
  hash, takes a free per-phone slot, and inserts the reservation (queued for the household's
  pharmacy) with its audit event; the answer is 201 {"number", "status": "queued",
  "created": true, ...}. wrk reads the prepared requests from a file, one line each, every
  thread its own slice (bench/reservation_burst.lua); no line is sent twice.

After each reservation run the database must hold exactly one reservation per 2xx answer, plus
one per request wrk left on the wire when the time ran out (sent, then completed by the server,
but never counted by wrk: up to one per connection), one per person and per phone, all queued
with their household; and no answer may be non-2xx. Anything else ends the script with an error
and the counts.

Set-up (not timed): the database is `DATABASE_URL`, else xiuhua_bench_burst on localhost (created
and migrated by _db.use_bench_database). A district 预约压测区 with one street, four committees,
one compound each, buildings of 1,000 households with one resident each (every reservation needs
its own household), written with COPY; residents already there from an earlier run are reused
(reserving does not change them) and only missing ones are added. Each run empties the masks
tables and the audit log, then creates one pharmacy per committee and an open round over the
district. With --loaded the roster has 1,000,000 residents and a finished round holds one issued
reservation (and its audit event) for each of them, written once by INSERT ... SELECT from the
roster and reused by later runs; each run then deletes only the rows of other rounds and
vacuums (not timed), or with --after-allocation updates the finished round's rows once more as
issuing does and leaves them unvacuumed. SECRET_KEY and XIUHUA_DATA_KEY are fixed bench values
shared with the server, so the tokens and the roster's identity hashes made here are the
server's.

Details go to stderr (with p50/p99 latencies and the load average); the last line is the medians
over `--runs` runs: `reservations_per_s=… empty_per_s=… insert_per_s=… limit_per_s=…
ratio_to_limit=… loaded=0|1`.
"""

import argparse
import base64
import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from _db import REPO_ROOT, bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_burst"
BENCH_ENV = {
    "SECRET_KEY": "xiuhua-bench-burst-secret-key-not-for-production-0123456789",
    "XIUHUA_DATA_KEY": base64.urlsafe_b64encode(b"xiuhua-bench-burst-data-key-0001").decode(),
    "XIUHUA_VAR_DIR": str(REPO_ROOT / "var" / "bench_burst"),
    "DEBUG": "0",
    "HTTPS": "0",
    # Throughput, not overload, is measured here: admission control (core/admission.py) must
    # not refuse any of the closed loop's connections (bench/surge.py measures it).
    "XIUHUA_RESIDENT_SLOTS": "1000",
}
RATE_CEILING = 6000  # requests/s no 2-core machine reaches; prepared lines = ceiling x duration x 1.25
LUA = Path(__file__).resolve().parent / "reservation_burst.lua"
RESERVE_PATH = "/masks/api/reservations"

# The bench world. Resident i lives alone in room i % 1000 + 1 of building i // 1000 + 1, whose
# committee is (i // 1000) % COMMITTEES; their number is fixed by i, so a later run knows them.
DISTRICT_NAME = "预约压测区"
CODE_PREFIX = "310197001"  # street 310197001000, committees 310197001001..; a county Shanghai does not use
COMMITTEES = 4
PER_BUILDING = 1000
REGION = "310197"
FIRST_BIRTH = dt.date(1940, 1, 1)
SURNAMES = "王张陈李徐朱周沈陆顾吴杨黄赵钱孙"
GIVEN = ["秀英", "建国", "桂英", "志强", "丽华", "海燕", "国平", "美玲", "伟", "敏", "静", "磊", "芳", "军"]
PROBE_PHONE = "13800138000"  # the one request sent before the runs, to check the endpoint answers


def resident_number(i: int) -> str:
    from xiuhua.core.idnumbers import make_resident_id

    return make_resident_id(REGION, FIRST_BIRTH + dt.timedelta(days=i // PER_BUILDING), i % PER_BUILDING)


def resident_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES) % len(GIVEN)]


def phone_of_line(i: int) -> str:
    return f"139{i:08d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    # As in production (config/gunicorn.py): threaded workers, which keep connections alive and
    # wait on several commits at once. Measured on the shared 2-core machine, load 3-7 (noisy):
    # gthread 2x16 ~500-590/s, 3x8 ~430/s, 4x8 ~370/s, sync 6 ~340-390/s (and its empty endpoint
    # ~700-900/s against ~1,800-2,100/s: a sync worker opens a connection per request).
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync, gthread, "
                        "config.gunicorn_worker.DoorThreadWorker: the door never refuses here, the slots are open)")
    parser.add_argument("--worker-threads", type=int, default=16, help="threads per gthread worker")
    parser.add_argument("--runs", type=int, default=3, help="empty + reservation measurements; medians reported")
    parser.add_argument("--max-requests", type=int, default=0,
                        help="gunicorn --max-requests (the README suggests 2000 in production; 0: off)")
    parser.add_argument("--loaded", action="store_true",
                        help=f"{LOADED_RESIDENTS:,} residents and a finished round of as many reservations there "
                             "already (built once, then reused)")
    parser.add_argument("--after-allocation", action="store_true",
                        help="with --loaded: the finished round's reservations just updated by an allocation, "
                             "not vacuumed since")
    # 8: enough to fill the commit groups here (4: ~2,500/s, 8-16: ~3,500-4,000/s), and few
    # connections on a server whose max_connections (100) everyone's tests share.
    parser.add_argument("--insert-clients", type=int, default=8,
                        help="parallel connections inserting reservation + audit event for insert_per_s")
    args = parser.parse_args()
    if min(args.duration, args.connections, args.threads, args.workers, args.runs) < 1:
        raise SystemExit("--duration, --connections, --threads, --workers and --runs must be at least 1")
    if args.connections < args.threads:
        raise SystemExit("wrk needs at least one connection per thread")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt install wrk")

    os.environ.update(BENCH_ENV)  # before Django reads its settings: the server gets the same
    Path(BENCH_ENV["XIUHUA_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db import connection

    lines = math.ceil(RATE_CEILING * args.duration * 1.25)
    t_setup = time.perf_counter()
    world = build_roster(max(lines + 1, LOADED_RESIDENTS if args.loaded else 0))  # line `lines`: the probe's
    loaded = loaded_round(world) if args.loaded else None
    print(f"setup: roster ready in {time.perf_counter() - t_setup:.1f} s", file=sys.stderr)
    url = os.environ["DATABASE_URL"]
    connection.close()

    tmp = Path(tempfile.mkdtemp(prefix="xiuhua_bench_burst_"))  # the request file and the server's log
    server = Server(
        workers=args.workers, worker_class=args.worker_class, worker_threads=args.worker_threads,
        max_requests=args.max_requests, log=tmp / "gunicorn.log",
    )
    runs: list[dict[str, float]] = []

    def on_sigterm(signum, frame):
        sys.exit(128 + signum)  # so that `finally` stops the server

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.start()
        print(
            f"server: gunicorn on 127.0.0.1:{server.port}, workers={args.workers} ({args.worker_class}, "
            f"{args.worker_threads} thread(s) each), "
            f"max_requests={args.max_requests}; wrk threads={args.threads} connections={args.connections} "
            f"duration={args.duration}s; {lines} prepared requests per run; load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (anything else running skews the figures)",
            file=sys.stderr,
        )
        for k in range(args.runs):
            mask_round = new_round(world, loaded, args.after_allocation)
            probe(server, mask_round, world, lines)
            requests_file = tmp / "requests.txt"
            t0 = time.perf_counter()
            write_requests(requests_file, mask_round.pk, world, lines)
            print(f"run {k + 1}: round {mask_round.pk}, {lines} requests written in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            connection.close()  # nothing of ours stays open while the server is measured

            empty = run_wrk(wrk, args, f"{server.url}/healthz")
            report(f"run {k + 1} empty", empty)
            burst = run_wrk(wrk, args, server.url + RESERVE_PATH,
                            script_args=[str(requests_file), str(lines), str(args.threads)])
            report(f"run {k + 1} reservations", burst)
            verify(mask_round.pk, burst, args.threads)
            inserts = measure_inserts(url, side_round(world).pk, args.insert_clients, args.duration)
            print(f"run {k + 1} inserts: {inserts:.0f}/s ({args.insert_clients} clients)", file=sys.stderr)
            connection.close()
            runs.append({
                "reservations_per_s": burst["rps"], "p50_ms": burst["p50_ms"], "p99_ms": burst["p99_ms"],
                "empty_per_s": empty["rps"], "insert_per_s": inserts,
                "limit_per_s": 1 / (1 / empty["rps"] + 1 / inserts),
            })
    except (Exception, SystemExit):
        if server.process is not None and server.tail():
            print(f"gunicorn log (last lines):\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"workers={args.workers} connections={args.connections} threads={args.threads} "
          f"duration={args.duration}s runs={args.runs}", file=sys.stderr)
    med = medians(runs)
    ratios = [r["reservations_per_s"] / r["limit_per_s"] for r in runs]
    print("  ratio_to_limit: " + " ".join(f"{x:.2f}" for x in ratios), file=sys.stderr)
    print(f"  p50_ms: {med['p50_ms']:.1f} p99_ms: {med['p99_ms']:.1f} (medians); load average after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
    print(
        f"reservations_per_s={med['reservations_per_s']:.0f} empty_per_s={med['empty_per_s']:.0f} "
        f"insert_per_s={med['insert_per_s']:.0f} limit_per_s={med['limit_per_s']:.0f} "
        f"ratio_to_limit={statistics.median(ratios):.2f} loaded={int(args.loaded)}"
        + (" after_allocation=1" if args.after_allocation else "")
    )


# ---------------------------------------------------------------- the roster


class World:
    def __init__(self, district, street, committees):
        self.district = district
        self.street = street
        self.committees = committees  # index -> OrgUnit


def build_roster(needed: int) -> World:
    """The bench district with at least `needed` residents 0..needed-1 (see resident_number)."""
    from django.db import connection, transaction

    from xiuhua.core.idnumbers import IdType
    from xiuhua.places.models import CompoundType, Kind, OrgUnit
    from xiuhua.residents.identity import identity_hash
    from xiuhua.residents.models import Resident

    unit = bench_unit

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, DISTRICT_NAME, city)
    street = unit(Kind.STREET, "预约压测街道", district, code=f"{CODE_PREFIX}000")
    committees = [unit(Kind.COMMITTEE, f"预约压测第{c + 1}居委会", street, code=f"{CODE_PREFIX}{c + 1:03d}")
                  for c in range(COMMITTEES)]
    compounds = [unit(Kind.COMPOUND, f"预约压测{c + 1}村", committees[c], compound_type=CompoundType.ENCLOSED)
                 for c in range(COMMITTEES)]
    world = World(district, street, committees)

    ids = [c.pk for c in committees]
    have = Resident.objects.filter(committee_id__in=ids).count()
    # Reusable only if they are residents 0..have-1 as made here, hashed with this data key.
    probes = [identity_hash(IdType.RESIDENT_ID, resident_number(i)) for i in {0, have - 1}]
    if have and Resident.objects.filter(committee_id__in=ids, id_hash__in=probes).count() != len(probes):
        print(f"roster: the {have} residents there are not this bench's: replacing them", file=sys.stderr)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE masks_voucher, masks_reservation")
            cursor.execute("DELETE FROM residents_residenttag WHERE committee_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM residents_resident WHERE committee_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM residents_household WHERE committee_id = ANY(%s)", [ids])
        have = 0
    if have >= needed:
        print(f"roster: reusing {have} residents", file=sys.stderr)
        return world

    t0 = time.perf_counter()
    with transaction.atomic():
        buildings = {}
        for b in range(have // PER_BUILDING, math.ceil(needed / PER_BUILDING)):
            c = b % COMMITTEES
            buildings[b] = unit(Kind.BUILDING, f"{b + 1}号", compounds[c])
        copy_residents(range(have, needed), buildings)
    with connection.cursor() as cursor:  # planner statistics and visibility map, as autovacuum would leave them
        cursor.execute("VACUUM ANALYZE residents_household")
        cursor.execute("VACUUM ANALYZE residents_resident")
    print(f"roster: added residents {have}..{needed - 1} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return world


def copy_residents(indexes: range, buildings: dict) -> None:
    """Households and residents by COPY, with the identity columns the services would store."""
    from django.db import connection
    from django.utils import timezone

    from xiuhua.core.idnumbers import IdType
    from xiuhua.places.models import natural_key
    from xiuhua.residents.identity import identity_fields
    from xiuhua.residents.models import LivingStatus, Relation

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('residents_household', 'id')) FROM generate_series(1, %s)",
            [len(indexes)],
        )
        household_ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(
            "COPY residents_household (id, room, is_rental, landlord_name, landlord_phone, created_at, "
            "updated_at, building_id, committee_id, compound_id, room_sort) FROM STDIN"
        ) as copy:
            for hid, i in zip(household_ids, indexes, strict=True):
                building = buildings[i // PER_BUILDING]
                room = str(i % PER_BUILDING + 1)
                copy.write_row((hid, room, False, "", "", now, now, building.pk,
                                building.committee_id, building.parent_id, natural_key(room)[:40]))
        with cursor.cursor.copy(
            "COPY residents_resident (name, sex, birth_date, id_type, id_encrypted, id_hash, id_masked, "
            "id_last4, mobile, relation, living_status, away_until, language, specialty, skills, created_at, "
            "updated_at, committee_id, household_id) FROM STDIN"
        ) as copy:
            for hid, i in zip(household_ids, indexes, strict=True):
                number = resident_number(i)
                f = identity_fields(IdType.RESIDENT_ID, number)
                copy.write_row((
                    resident_name(i), "M" if int(number[16]) % 2 else "F",
                    FIRST_BIRTH + dt.timedelta(days=i // PER_BUILDING), f["id_type"], f["id_encrypted"],
                    f["id_hash"], f["id_masked"], f["id_last4"], "", Relation.HEAD, LivingStatus.HERE, None,
                    "", "", "", now, now, buildings[i // PER_BUILDING].committee_id, hid,
                ))


# ---------------------------------------------------------------- each run


def new_round(world: World, loaded: "LoadedRound | None" = None, after_allocation: bool = False):
    """An open round over the bench district, on a database as the last run found it.

    Fresh: the masks tables and the audit log emptied (TRUNCATE), one pharmacy per committee.
    Loaded: the finished round and its audit events kept, every other round's rows deleted and the
    two tables vacuumed (not timed), the pharmacies kept; `after_allocation`: then the finished
    round's million reservations updated once more as issuing updates them, and no vacuum after,
    as the tables are in the minutes after an allocation. Rate counters are emptied either way."""
    from django.db import connection
    from django.utils import timezone

    from xiuhua.masks.models import MaskRound, RoundStatus

    officer = bench_officer()
    with connection.cursor() as cursor:
        if loaded is None:
            cursor.execute(
                "TRUNCATE masks_voucher, masks_reservation, masks_pharmacystock, masks_stockdelivery, "
                "masks_paperformbook, masks_pharmacycommittee, masks_pharmacy_clerks, masks_pharmacy, "
                "masks_maskround, core_auditevent, core_ratecounter"
            )
        else:
            cursor.execute("DELETE FROM masks_voucher WHERE round_id <> %s", [loaded.round_id])
            cursor.execute("DELETE FROM masks_reservation WHERE round_id <> %s", [loaded.round_id])
            cursor.execute("DELETE FROM masks_maskround WHERE id <> %s", [loaded.round_id])
            cursor.execute("DELETE FROM core_auditevent WHERE id > %s", [loaded.last_audit_id])
            cursor.execute("TRUNCATE core_ratecounter")
            cursor.execute("VACUUM ANALYZE masks_reservation")
            cursor.execute("VACUUM ANALYZE core_auditevent")
            if after_allocation:
                cursor.execute("UPDATE masks_reservation SET status = 'issued' WHERE round_id = %s",
                               [loaded.round_id])
    if loaded is None:
        make_pharmacies(world)
    now = timezone.now()
    return MaskRound.objects.create(
        name=f"预约压测轮{now:%H%M%S%f}", scope=world.district, opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1), status=RoundStatus.OPEN, created_by=officer,
    )


def side_round(world: World):
    """A closed round of its own for the insert clients (their households are the burst's)."""
    from django.utils import timezone

    from xiuhua.masks.models import MaskRound, RoundStatus

    now = timezone.now()
    return MaskRound.objects.create(
        name=f"预约压测插入{now:%H%M%S%f}", scope=world.district, opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1), status=RoundStatus.CLOSED, created_by=bench_officer(),
    )


def bench_officer():
    from xiuhua.accounts.models import User

    return User.objects.filter(username="bench_burst").first() or User.objects.create_user(
        username="bench_burst", password=None
    )


def make_pharmacies(world: World) -> None:
    from xiuhua.masks.models import Pharmacy, PharmacyCommittee

    pharmacies = Pharmacy.objects.bulk_create(
        [Pharmacy(street=world.street, name=f"预约压测药店{c + 1}", address="压测路")
         for c in range(len(world.committees))]
    )
    PharmacyCommittee.objects.bulk_create(
        [PharmacyCommittee(pharmacy=p, committee=c) for p, c in zip(pharmacies, world.committees, strict=True)]
    )


# ---------------------------------------------------------------- --loaded: a finished round there already

LOADED_RESIDENTS = 1_000_000
LOADED_ROUND_NAME = "预约压测已结束轮"


class LoadedRound:
    def __init__(self, round_id: int, last_audit_id: int):
        self.round_id = round_id
        self.last_audit_id = last_audit_id


def loaded_round(world: World) -> LoadedRound:
    """A finished round with one reservation per resident 0..LOADED_RESIDENTS-1 (all issued, as
    after the allocation) and its audit events, built once and reused by later runs: the state of
    the database when a street opens its second round."""
    from django.db import connection
    from django.utils import timezone

    from xiuhua.masks.models import MaskRound

    found = MaskRound.objects.filter(name=LOADED_ROUND_NAME, scope=world.district).first()
    with connection.cursor() as cursor:
        if found is not None:
            cursor.execute("SELECT count(*) FROM masks_reservation WHERE round_id = %s", [found.pk])
            if cursor.fetchone()[0] == LOADED_RESIDENTS:
                cursor.execute("SELECT coalesce(max(id), 0) FROM core_auditevent")
                print(f"loaded: reusing the finished round {found.pk} of {LOADED_RESIDENTS} reservations",
                      file=sys.stderr)
                return LoadedRound(found.pk, cursor.fetchone()[0])
        t0 = time.perf_counter()
        cursor.execute(
            "TRUNCATE masks_voucher, masks_reservation, masks_pharmacystock, masks_stockdelivery, "
            "masks_paperformbook, masks_pharmacycommittee, masks_pharmacy_clerks, masks_pharmacy, "
            "masks_maskround, core_auditevent, core_ratecounter"
        )
        make_pharmacies(world)
        now = timezone.now()
        cursor.execute(
            "INSERT INTO masks_maskround (name, masks_per_household, opens_at, closes_at, allocation_mode, "
            "lottery_seed, special_share_percent, voucher_valid_days, status, created_at, created_by_id, scope_id) "
            "VALUES (%s, 5, %s, %s, 'first_come', '', 0, 3, 'open', %s, %s, %s) RETURNING id",
            [LOADED_ROUND_NAME, now - dt.timedelta(days=10), now - dt.timedelta(days=3), now,
             bench_officer().pk, world.district.pk],
        )
        round_id = cursor.fetchone()[0]
        ids = [c.pk for c in world.committees]
        # The round's reservations, one per resident with the resident's phone (the burst's own
        # phone of that line), written by one INSERT ... SELECT from the roster.
        cursor.execute(
            """
            INSERT INTO masks_reservation (round_id, committee_id, pharmacy_id, household_id, resident_id,
                person_hash, id_masked, id_last4, name, phone, phone_slot, address_text, channel, order_at,
                paper_serial, number, special, status, status_reason, created_by_id, created_at)
            SELECT %(round)s, h.committee_id, pc.pharmacy_id, h.id, p.id, p.id_hash, p.id_masked, p.id_last4,
                p.name, '139' || lpad((row_number() OVER (ORDER BY p.id) - 1)::text, 8, '0'), 1, '', 'online',
                %(opens)s + (p.id - m.first) * interval '1 millisecond', '',
                %(round)s || '-' || lpad(upper(to_hex(p.id)), 8, '0'), false, 'queued', '', NULL, %(opens)s
            FROM residents_resident p JOIN residents_household h ON h.id = p.household_id
            JOIN masks_pharmacycommittee pc ON pc.committee_id = h.committee_id
            CROSS JOIN (SELECT min(id) AS first FROM residents_resident WHERE committee_id = ANY(%(ids)s)) m
            WHERE p.committee_id = ANY(%(ids)s)
            ORDER BY p.id LIMIT %(n)s
            """,
            {"round": round_id, "opens": now - dt.timedelta(days=10), "ids": ids, "n": LOADED_RESIDENTS},
        )
        cursor.execute(
            "INSERT INTO core_auditevent (at, actor_id, actor_role, action, personal, object_type, object_id, "
            "committee_id, subject_label, reason, detail) SELECT r.created_at, NULL, '', 'reservation_submit', "
            "false, 'masks.reservation', r.id, r.committee_id, r.number, '', "
            "jsonb_build_object('channel', 'online', 'status', 'queued', 'special', false) "
            "FROM masks_reservation r WHERE r.round_id = %s ORDER BY r.id",
            [round_id],
        )
        # The allocation: every reservation issued (as the issuing UPDATE leaves the table), one
        # audit event for the batch, then the round finished.
        cursor.execute("UPDATE masks_reservation SET status = 'issued' WHERE round_id = %s", [round_id])
        cursor.execute(
            "INSERT INTO core_auditevent (at, actor_id, actor_role, action, personal, object_type, object_id, "
            "committee_id, subject_label, reason, detail) VALUES (%s, NULL, '', 'reservation_issue', false, "
            "'masks.maskround', %s, NULL, '', '', '{}'::jsonb)",
            [now - dt.timedelta(days=3), round_id],
        )
        cursor.execute("UPDATE masks_maskround SET status = 'finished' WHERE id = %s", [round_id])
        cursor.execute("SELECT coalesce(max(id), 0) FROM core_auditevent")
        last_audit = cursor.fetchone()[0]
    print(f"loaded: finished round {round_id} with {LOADED_RESIDENTS} reservations written in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return LoadedRound(round_id, last_audit)


def body(round_id: int, world: World, i: int) -> str:
    return json.dumps({
        "round": round_id, "committee": world.committees[i // PER_BUILDING % COMMITTEES].code,
        "name": resident_name(i), "id_type": "resident_id", "id_number": resident_number(i),
    }, ensure_ascii=False)


def write_requests(path: Path, round_id: int, world: World, lines: int) -> None:
    """Line i: the token of phone 139<i> and resident i's reservation. Tokens live 30 minutes, so
    each run writes its own."""
    from xiuhua.masks.phone_tokens import issue

    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(f"{issue(phone_of_line(i))}\t{body(round_id, world, i)}\n")


def probe(server: "Server", mask_round, world: World, lines: int) -> None:
    """One reservation (the spare resident, another phone) before the load: the endpoint must answer
    201 with a new queued reservation, else there is nothing to measure."""
    from xiuhua.masks.phone_tokens import issue

    request = urllib.request.Request(
        server.url + RESERVE_PATH, data=body(mask_round.pk, world, lines).encode(), method="POST",
        headers={"Authorization": f"Bearer {issue(PROBE_PHONE)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    answer = None
    with contextlib.suppress(ValueError):
        answer = json.loads(text)
    if status != 201 or not isinstance(answer, dict) or answer.get("created") is not True \
            or answer.get("status") != "queued":
        raise SystemExit(f"POST {RESERVE_PATH} answered {status} {text[:300]!r}; expected 201 with a new "
                         "queued reservation")


# ---------------------------------------------------------------- the database's own limit

# The reservation and its audit event, as the one statement inserts them, with everything the
# statement reads given: what PostgreSQL alone does for a reservation, over a socket, prepared.
INSERT_SQL = """
WITH created AS (
    INSERT INTO masks_reservation (
        round_id, committee_id, pharmacy_id, household_id, resident_id, person_hash, id_masked, id_last4,
        name, phone, phone_slot, address_text, channel, order_at, paper_serial, number, special, status,
        status_reason, created_by_id, created_at)
    VALUES (%(round)s, %(committee)s, %(pharmacy)s, %(household)s, %(resident)s, %(person_hash)s, %(id_masked)s,
        %(id_last4)s, %(name)s, %(phone)s, 1, '', 'online', now(), '', %(number)s, false, 'queued', '', NULL, now())
    ON CONFLICT DO NOTHING
    RETURNING id, committee_id, number, channel, status, special, created_at
)
INSERT INTO core_auditevent (at, actor_id, actor_role, action, personal, object_type, object_id, committee_id,
    subject_label, reason, detail)
SELECT created_at, NULL, '', 'reservation_submit', false, 'masks.reservation', id, committee_id, number, '',
    jsonb_build_object('channel', channel, 'status', status, 'special', special)
FROM created
"""


def insert_rows(round_id: int, count: int) -> list[dict]:
    """What the insert needs for residents 0..count-1 (read once, not timed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.household_id, h.committee_id, pc.pharmacy_id, p.id_hash, p.id_masked, p.id_last4, p.name "
            "FROM residents_resident p JOIN residents_household h ON h.id = p.household_id "
            "JOIN masks_pharmacycommittee pc ON pc.committee_id = h.committee_id "
            "JOIN places_orgunit c ON c.id = h.committee_id AND c.parent_id IN "
            "(SELECT id FROM places_orgunit WHERE code = %s) ORDER BY p.id LIMIT %s",
            [f"{CODE_PREFIX}000", count],
        )
        return [
            {"round": round_id, "resident": rid, "household": hid, "committee": cid, "pharmacy": pid,
             "person_hash": ph, "id_masked": masked, "id_last4": last4, "name": name,
             "phone": f"138{k:08d}", "number": f"{round_id}-I{k:07d}"}
            for k, (rid, hid, cid, pid, ph, masked, last4, name) in enumerate(cursor.fetchall())
        ]


def _insert_client(url: str, rows: list[dict], start, seconds: float, out) -> None:
    import psycopg

    done = 0
    try:
        with psycopg.connect(url, autocommit=True, prepare_threshold=0) as conn:
            start.wait()
            deadline = time.perf_counter() + seconds
            for row in rows:
                if time.perf_counter() >= deadline:
                    break
                conn.execute(INSERT_SQL, row)
                done += 1
    except psycopg.Error as exc:  # e.g. the server's max_connections, shared with everyone
        out.put(f"{type(exc).__name__}: {exc}")
        return
    out.put(done)


def measure_inserts(url: str, round_id: int, clients: int, seconds: float) -> float:
    """insert_per_s: `clients` processes, each on its own connection, insert reservations with
    their audit events (INSERT_SQL) into a round of their own for `seconds`, autocommit."""
    import multiprocessing

    rows = insert_rows(round_id, math.ceil(RATE_CEILING * 2 * seconds))
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_insert_client, args=(url, rows[k::clients], start, seconds, out))
             for k in range(clients)]
    for proc in procs:
        proc.start()
    time.sleep(1)  # every client connected
    t0 = time.perf_counter()
    start.set()
    answers = [out.get(timeout=seconds + 60) for _ in procs]
    elapsed = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    failures = [a for a in answers if isinstance(a, str)]
    if failures:
        raise SystemExit(f"an insert client failed: {failures[0]}")
    total = sum(answers)
    if total >= len(rows):
        raise SystemExit("the insert clients ran out of rows (raise RATE_CEILING)")
    return total / elapsed


# ---------------------------------------------------------------- load and figures


def run_wrk(wrk: str, args, url: str, script_args: list[str] | None = None, *, lua: Path = LUA) -> dict:
    """wrk on `url` (with the Lua script `lua` and its arguments when given), parsed."""
    command = [wrk, "--threads", str(args.threads), "--connections", str(args.connections),
               "--duration", f"{args.duration}s", "--timeout", "10s", "--latency"]
    if script_args is not None:
        command += ["--script", str(lua), url, "--", *script_args]
    else:
        command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk(done.stdout)


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(text: str) -> dict:
    def number(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, text, re.MULTILINE)
        if found is None:
            if default is None:
                raise SystemExit(f"unexpected wrk output (no {pattern!r}):\n{text}")
            return default
        return found.group(1)

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
        if found is None:
            raise SystemExit(f"unexpected wrk output (no {percent}% latency):\n{text}")
        return float(found.group(1)) * UNITS_MS[found.group(2)]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    threads = [
        {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
        for line in re.findall(r"^burst-thread (\d+ .*)$", text, re.MULTILINE)
    ]
    for thread, index in zip(threads, re.findall(r"^burst-thread (\d+) ", text, re.MULTILINE), strict=True):
        thread["index"] = int(index)
    return {
        "rps": float(number(r"^Requests/sec:\s+([\d.]+)")),
        "completed": int(number(r"^\s*(\d+) requests in ")),
        "non2xx": int(number(r"Non-2xx or 3xx responses:\s+(\d+)", "0")),
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "socket_detail": errors.group(0) if errors else "Socket errors: none",
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "threads": threads,
        "text": text,
    }


def medians(runs: list[dict]) -> dict:
    """Each figure's runs and their median on stderr; returns the medians by key."""
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    for key in med:
        print(f"  {key}: " + " ".join(f"{r[key]:.1f}" for r in runs) + f" (median {med[key]:.1f})", file=sys.stderr)
    return med


def report(label: str, result: dict) -> None:
    print(
        f"{label}: {result['rps']:.0f}/s, {result['completed']} completed, non-2xx {result['non2xx']}, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; {result['socket_detail']}",
        file=sys.stderr,
    )


def verify(round_id: int, burst: dict, threads: int) -> None:
    """One reservation per 2xx answer, per person and per phone, all from lines that were sent."""
    from django.db import connection

    answered = burst["completed"] - burst["non2xx"]
    sent = sum(t["used"] for t in burst["threads"])
    out_of_lines = sum(t["out_of_lines"] for t in burst["threads"])
    # wrk (4.1) calls request() once before the run to check what it returns: thread 0's first line
    # is taken but never sent. Requests still on the wire when the time is up were sent and are
    # completed by the server, but wrk never counts their answers: each must have made its
    # reservation too (exactly so when there were no socket errors).
    left_on_wire = max(0, sent - 1 - burst["completed"])
    expected = answered + left_on_wire
    with connection.cursor() as cursor:
        # Wait for the server to finish the requests wrk left behind.
        rows, steady, deadline = -1, 0, time.monotonic() + 30
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM masks_reservation WHERE round_id = %s AND phone <> %s",
                           [round_id, PROBE_PHONE])
            count = cursor.fetchone()[0]
            steady, rows = (steady + 1 if count == rows else 0), count
            if rows >= expected or steady >= 8:
                break
            time.sleep(0.25)
        cursor.execute(
            "SELECT count(*), count(DISTINCT person_hash), count(DISTINCT phone), "
            "count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE household_id IS NULL) "
            "FROM masks_reservation WHERE round_id = %s AND phone <> %s",
            [round_id, PROBE_PHONE],
        )
        rows, persons, phones, queued, no_household = cursor.fetchone()
        cursor.execute("SELECT phone FROM masks_reservation WHERE round_id = %s AND phone <> %s",
                       [round_id, PROBE_PHONE])
        indexes = [int(phone[3:]) for (phone,) in cursor.fetchall()]
    slices = [(t["first"], t["first"] + t["used"]) for t in burst["threads"]]
    stray = sum(1 for i in indexes if not any(a <= i < b for a, b in slices))
    print(
        f"verify: reservations={rows} answered_2xx={answered} left_on_wire={left_on_wire} "
        f"(sent {sent} - 1 checked by wrk - {burst['completed']} answered) persons={persons} phones={phones} "
        f"queued={queued} without_household={no_household} from_unsent_lines={stray} non2xx={burst['non2xx']} "
        f"socket_errors={burst['socket_errors']} out_of_lines={out_of_lines} wrk_threads={len(burst['threads'])}",
        file=sys.stderr,
    )
    problems = []
    if len(burst["threads"]) != threads:
        problems.append("the wrk script did not report every thread")
    if burst["non2xx"]:
        problems.append(f"{burst['non2xx']} non-2xx answers")
    if out_of_lines:
        problems.append(f"{out_of_lines} requests found no prepared line left (raise RATE_CEILING)")
    if rows != expected and not (burst["socket_errors"] and answered <= rows <= expected):
        problems.append(f"{rows} reservations for {answered} 2xx answers and {left_on_wire} requests left on the wire")
    if persons != rows or phones != rows:
        problems.append("a person or a phone holds more than one reservation")
    if queued != rows or no_household:
        problems.append(f"{rows - queued} reservations not queued, {no_household} without a household")
    if stray:
        problems.append(f"{stray} reservations from lines never sent")
    if problems:
        print(burst["text"], file=sys.stderr)
        raise SystemExit("verification failed: " + "; ".join(problems))


# ---------------------------------------------------------------- the server


def add_server_arguments(parser: argparse.ArgumentParser, *, connections: int, threads: int, worker_threads: int,
                         runs: int, duration: int = 10) -> None:
    """The load and server options every HTTP bench shares: wrk's, and gunicorn's as `Server` starts it."""
    parser.add_argument("--duration", type=int, default=duration, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, default=connections)
    parser.add_argument("--threads", type=int, default=threads, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--worker-threads", type=int, default=worker_threads, help="threads per gthread worker")
    parser.add_argument("--runs", type=int, default=runs, help="measurements; medians reported")


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt install wrk")
    return wrk


def bench_server(args: argparse.Namespace, log: Path) -> "Server":
    """The server the arguments describe (no --max-requests); SIGTERM becomes an exit, so that the
    caller's `finally` stops it."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return Server(workers=args.workers, worker_class=args.worker_class, worker_threads=args.worker_threads,
                  max_requests=0, log=log)


class Server:
    """gunicorn config.wsgi on a free port of 127.0.0.1, in its own process group."""

    def __init__(self, *, workers: int, worker_class: str, worker_threads: int, max_requests: int, log: Path):
        self.workers = workers
        self.worker_class = worker_class
        self.worker_threads = worker_threads
        self.max_requests = max_requests
        self.log = log
        self.process: subprocess.Popen | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--worker-class", self.worker_class, "--threads", str(self.worker_threads),
            "--max-requests", str(self.max_requests),
            "--no-control-socket",  # gunicorn 27's ~/.gunicorn/gunicorn.ctl: not needed, and shared by every gunicorn
        ]  # no --access-logfile: gunicorn writes no access log
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # env: ours, with DATABASE_URL and BENCH_ENV set above
                command, cwd=REPO_ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, process_group=0,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer /healthz within 60 s:\n{self.tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the server was stopped on the way out
        raise SystemExit(130) from None
