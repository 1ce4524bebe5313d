"""Group-buy orders over HTTP, against an empty endpoint of the same stack: one offer to a compound of
40,000 households in 286 buildings.

    .venv/bin/python bench/supply.py [--connections 32] [--threads 1] [--workers 2] [--worker-threads 4]
        [--runs 3] [--orders 20000]

Goal (issue 15): 20,000 orders from 20,000 distinct signed-in households at least 1,000/s on the
2-core machine that also runs PostgreSQL and the load generator, with the empty endpoint's rate
beside it. The server is started as bench/reservation_burst.py starts it (its `Server`: `gunicorn
config.wsgi`, gthread workers, DEBUG and HTTPS off, PostgreSQL, no access log), admission control
opened wide. Each run measures:

- empty (empty_per_s): GET /healthz, requests/s (the whole middleware stack, no database);
- orders (orders_per_s): POST /supply/buy/order.json, the phone page's JSON endpoint, by wrk: one
  request per household, from that household's proven phone (its own session, written as the
  SMS-code check writes it), ordering one to two packs of each of the offer's two items; 20,000
  households of the 40,000 once each (less the one line wrk takes to check its script and never
  sends). orders/s = orders stored / the time from the first order stored to the last (server
  clock; wall_per_s beside it counts wrk's start-up too). wrk's threads go on to GET /healthz when
  their lines are sent, and the script stops wrk once the orders are all stored.

After each run: every answered household holds exactly one order; each item's packs ordered (the
sum over its stripes) equal the sum of its order lines and are at most `available` (nothing
oversold); the audit log holds one event per order. Anything else fails the script.

Set-up (not timed): the database is DATABASE_URL, else supply_bench on localhost (created and
migrated). A district 团购压测区 with one street and committee 团购压测居委 whose compound of 286
buildings holds 40,000 households of one resident with a mobile each (made once, kept); the
compound's approved leader, filing and offer (made once through the services, found again). Each
run empties the orders, their lines, sessions and the audit log (the database is the bench's own)
and sets the offer's packs back to none ordered, so the bench runs twice in a row on one database.
After the runs, the last run's orders are taken as delivered in full and the pick lists of all
286 buildings are built in one PDF (supply_picklists.picklist_seconds), timed once. The last line
is the medians over `--runs` runs and that time: `orders=… orders_per_s=… empty_per_s=…
picklist_seconds=…`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _db import bench_unit, use_bench_database
from reservation_burst import (
    BENCH_ENV,
    add_server_arguments,
    bench_server,
    find_wrk,
    medians,
    parse_wrk,
    report,
    run_wrk,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supply_bench"
LUA = Path(__file__).resolve().parent / "reservation_burst.lua"
HOUSEHOLDS = 40_000
BUILDINGS = 286
ORDER_PATH = "/supply/buy/order.json"
ENV = {**BENCH_ENV, "XIUHUA_VAR_DIR": str(Path(BENCH_ENV["XIUHUA_VAR_DIR"]).parent / "bench_supply"),
       "XIUHUA_STAFF_SLOTS": "1000"}
# The offer: (name, unit, pack, price, packs available, cap per household).
ITEMS = (("大米", "kg", "10", "65", 40_000, 2), ("蔬菜套餐", "份", "1", "68", 45_000, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # One wrk thread: with two, the one that runs out of lines first floods the server with its
    # spare requests while the other still sends orders (wrk needs far less than a core here).
    # Eight threads a worker: orders that arrive while a statement runs share the next one
    # (supply/fast_orders.py), and more threads in flight give fuller statements (alternating runs:
    # 2 x 8 ahead of 2 x 4 in each of three rounds, medians 911 and 787 orders/s; 2 x 16 no better
    # than 2 x 8). Before orders were gathered, 2 x 4 was best: 2 x 16 ~640 orders/s, 2 x 8 ~730,
    # 2 x 4 ~790. Three runs: one run's rate moves with the machine's speed (the last line is the
    # medians). --duration is the empty endpoint's run.
    add_server_arguments(parser, connections=32, threads=1, worker_threads=8, runs=3)
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    if min(args.connections, args.threads, args.workers, args.runs, args.orders) < 1 or \
            args.connections < args.threads or args.orders > HOUSEHOLDS:
        raise SystemExit("every count at least 1; at least one connection per wrk thread; orders <= households")
    wrk = find_wrk()

    os.environ.update(ENV)
    Path(ENV["XIUHUA_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db import connection

    t0 = time.perf_counter()
    world = build_world()
    print(f"world: {world['households']} households in {BUILDINGS} buildings, offer {world['offer']} "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    connection.close()
    tmp = Path(tempfile.mkdtemp(prefix="supply_bench_"))
    server = bench_server(args, tmp / "gunicorn.log")
    runs = []
    try:
        server.start()
        print(f"server: gunicorn on {server.url}, workers={args.workers} ({args.worker_class}, "
              f"{args.worker_threads} threads); wrk threads={args.threads} connections={args.connections}; "
              "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
        for k in range(args.runs):
            t0 = time.perf_counter()
            reset(world)
            csrf = secrets.token_hex(16)
            lines = tmp / "lines.txt"
            total = write_lines(lines, world, args.orders, seed=k)
            print(f"run {k + 1}: {total} households' sessions and bodies in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            connection.close()
            empty = run_wrk(wrk, args, f"{server.url}/healthz")
            report(f"run {k + 1} empty", empty)
            started = time.perf_counter()
            result = run_until_stored(wrk, args, f"{server.url}{ORDER_PATH}",
                                      [str(lines), str(total), str(args.threads), "field=cookie:sessionid",
                                       f"Cookie: csrftoken={csrf}", f"X-CSRFToken: {csrf}", "spare=/healthz"],
                                      expected=total - 1)
            elapsed = time.perf_counter() - started
            report(f"run {k + 1} orders (wrk's figures include its /healthz once out of lines)", result)
            stored, window = verify(world, result)
            print(f"run {k + 1}: {stored} orders in {elapsed:.1f} s of wrk, {window:.1f} s from the first "
                  f"order stored to the last; load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()),
                  file=sys.stderr)
            runs.append({"orders": stored, "orders_per_s": stored / window, "wall_per_s": stored / elapsed,
                         "empty_per_s": empty["rps"]})
    except (Exception, SystemExit):
        if server.process is not None and server.tail():
            print(f"gunicorn log (last lines):\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    picklist = picklists_after_delivery(world)
    med = medians(runs)
    print("  load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
    print(f"  wall_per_s (median) {med['wall_per_s']:.0f}", file=sys.stderr)
    print(f"orders={med['orders']:.0f} orders_per_s={med['orders_per_s']:.0f} empty_per_s={med['empty_per_s']:.0f} "
          f"picklist_seconds={picklist:.2f}")


def picklists_after_delivery(world: dict) -> float:
    """The last run's orders as if all had arrived (every line allotted in full), then the pick
    lists of all 286 buildings in one PDF, timed as the committee's page builds them."""
    from django.db import connection
    from supply_picklists import picklist_seconds

    from xiuhua.supply.models import Offer

    with connection.cursor() as cursor:
        cursor.execute("UPDATE supply_orderline SET allotted = quantity")
    seconds = picklist_seconds(Offer.objects.get(pk=world["offer"]))
    print(f"pick lists: {len(world['items'])} items, all buildings, {seconds:.2f} s", file=sys.stderr)
    return seconds


def run_until_stored(wrk: str, args, url: str, script_args: list[str], *, expected: int) -> dict:
    """wrk with the Lua script, stopped by SIGINT once `expected` orders are stored (or after 20
    minutes), parsed as bench/reservation_burst.parse_wrk parses it."""
    from django.db import connection

    command = [wrk, "--threads", str(args.threads), "--connections", str(args.connections), "--duration", "1200s",
               "--timeout", "10s", "--latency", "--script", str(LUA), url, "--", *script_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while process.poll() is None:
            time.sleep(0.25)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM supply_order")
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


def build_world() -> dict:
    """The bench's places, residents, staff, leader, approved filing and open offer (made once,
    then found again)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.core.idnumbers import make_resident_id
    from xiuhua.places.models import CompoundType, Kind, OrgUnit, natural_key
    from xiuhua.residents.identity import identity_fields
    from xiuhua.residents.models import Household, IdType, Relation, Resident
    from xiuhua.supply import services, services_orders
    from xiuhua.supply.models import DocKind, Filing, FilingStatus, Leader, Offer
    from xiuhua.testing import acting

    unit = bench_unit
    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, "团购压测区", city)
    street = unit(Kind.STREET, "团购压测街道", district, code="310198001000")
    committee = unit(Kind.COMMITTEE, "团购压测居委", street, code="310198001001")
    compound = unit(Kind.COMPOUND, "团购压测小区", committee, compound_type=CompoundType.ENCLOSED)
    if Resident.objects.filter(committee=committee).count() != HOUSEHOLDS:
        buildings = [unit(Kind.BUILDING, f"{b}号", compound) for b in range(1, BUILDINGS + 1)]
        with transaction.atomic():
            Offer.objects.filter(committee=committee).delete()
            Filing.objects.filter(committee=committee).delete()
            Leader.objects.filter(committee=committee).delete()
            Resident.objects.filter(committee=committee).delete()
            Household.objects.filter(committee=committee).delete()
            rows = []
            for h in range(HOUSEHOLDS):
                building = buildings[h % BUILDINGS]
                room = f"{h // BUILDINGS // 6 + 1}{h // BUILDINGS % 6 + 1:02d}"
                rows.append(Household(building=building, room=room, room_sort=natural_key(room),
                                      committee_id=committee.pk, compound_id=compound.pk))
            made = Household.objects.bulk_create(rows, batch_size=5000)
            residents = []
            for h, household in enumerate(made):
                birth = dt.date(1940, 1, 1) + dt.timedelta(days=h % 25_000)
                number = make_resident_id("310111", birth, h // 25_000 * 2 + 1)
                residents.append(Resident(
                    household=household, committee_id=committee.pk, name=f"团购{h}", sex="F", birth_date=birth,
                    relation=Relation.HEAD, mobile=f"135{h:08d}", **identity_fields(IdType.RESIDENT_ID, number)))
            Resident.objects.bulk_create(residents, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE residents_resident; ANALYZE residents_household")
    staff, _ = User.objects.get_or_create(username="supply_bench_staff")
    Membership.objects.get_or_create(user=staff, org_unit=committee, role=Role.COMMITTEE_STAFF)
    staff = acting(staff)
    offer = Offer.objects.filter(committee=committee).first()
    if offer is None:
        now = timezone.now()
        resident = Resident.objects.filter(committee=committee).order_by("pk").first()
        assert resident is not None
        leader = Leader.objects.filter(resident=resident).first() or services.leader_apply(
            actor=staff, resident=resident)
        if leader.status != "approved":
            leader = services.leader_decide(actor=staff, leader=leader, action="approve")
        services.document_add(actor=staff, leader=leader, kind=DocKind.DRIVER_TEST, number="HS-BENCH",
                              holder="王师傅", taken_at=now - dt.timedelta(hours=1), now=now)
        for kind, holder in ((DocKind.FOOD_PERMIT, "压测食品"), (DocKind.EPIDEMIC_PERMIT, "压测食品"),
                             (DocKind.VEHICLE_PASS, "沪A00001")):
            services.document_add(actor=staff, leader=leader, kind=kind, number=f"{kind}-BENCH", holder=holder,
                                  valid_until=(now + dt.timedelta(days=3650)).date(), now=now)
        filing = services.filing_submit(actor=staff, leader=leader, now=now, data={
            "supplier": "压测食品有限公司", "supplier_licence": "JY-BENCH", "driver_name": "王师傅",
            "driver_phone": "13900001234", "vehicle_plate": "沪A00001", "window_start": now + dt.timedelta(hours=2),
            "window_end": now + dt.timedelta(hours=4),
            "items": [{"name": n, "unit": u, "pack_quantity": p, "price": c, "contents": "土豆 1kg\n青菜 500g"}
                      for n, u, p, c, _a, _m in ITEMS]})
        filing = services.filing_decide(actor=staff, filing=filing, action="approve", now=now)
        assert filing.status == FilingStatus.APPROVED
        items = list(filing.items.order_by("position"))
        offer = services_orders.offer_open(
            actor=staff, filing=filing, category="rice", title="压测团购", now=now,
            orders_close_at=now + dt.timedelta(days=3650),
            terms={item.pk: (available, cap) for item, (*_x, available, cap) in zip(items, ITEMS, strict=True)})
    return {"committee": committee, "offer": offer.pk, "households": HOUSEHOLDS,
            "items": list(offer.items.order_by("position").values_list("pk", "per_household"))}


def reset(world: dict) -> None:
    """Empty what a run writes: orders and lines, sessions, the audit log; no packs ordered."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE supply_orderline, supply_order, django_session, core_auditevent CASCADE")
        cursor.execute("UPDATE supply_offeritemstripe s SET ordered = 0 FROM supply_offeritem i "
                       "WHERE i.id = s.item_id AND i.offer_id = %s", [world["offer"]])
        cursor.execute("VACUUM ANALYZE supply_offeritemstripe")
        # Every run starts just after a checkpoint: one falling inside a run (every 5 minutes by
        # default) makes each index page's first change after it write the whole page to the WAL,
        # and runs differed by a third depending on where it fell.
        cursor.execute("CHECKPOINT")


def write_lines(path: Path, world: dict, count: int, *, seed: int) -> int:
    """One line per ordering household (a random `count` of the compound's): a fresh session
    holding its proven phone (as mark_verified writes it) and the body of its order."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from xiuhua.core.resident_phone import SESSION_PHONE
    from xiuhua.residents.models import Resident

    rows = list(Resident.objects.filter(committee=world["committee"]).values_list("household_id", "mobile"))
    rng = random.Random(15 + seed)
    chosen = rng.sample(rows, count)
    until = (timezone.now() + dt.timedelta(minutes=30)).isoformat()
    expire = timezone.now() + dt.timedelta(hours=8)
    store = SessionStore()
    sessions, lines = [], []
    for household_id, mobile in chosen:
        key = secrets.token_hex(16)
        sessions.append(Session(session_key=key, session_data=store.encode(
            {SESSION_PHONE: {"phone": mobile, "until": until}}), expire_date=expire))
        items = {str(pk): rng.randint(1, min(cap, 2)) for pk, cap in world["items"]}
        body = {"offer": world["offer"], "household": household_id, "items": items}
        lines.append(f"{key}\t{json.dumps(body, separators=(',', ':'))}\n")
    Session.objects.bulk_create(sessions, batch_size=5000)
    # The table was emptied by reset(): without fresh statistics PostgreSQL would plan the
    # session lookup as a scan of a table it believes empty (a real table grows slowly and is
    # analysed by autovacuum on its way).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_session")
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def verify(world: dict, result: dict) -> tuple[int, float]:
    """Every answered household holds one order; nothing oversold; one audit event per order.
    Returns the orders stored and the seconds from the first to the last."""
    from django.db import connection

    answered = result["completed"] - result["non2xx"]
    with connection.cursor() as cursor:
        stored, steady, deadline = -1, 0, time.monotonic() + 30
        while time.monotonic() < deadline:  # the server finishes what wrk left on the wire
            cursor.execute("SELECT count(*) FROM supply_order")
            count = cursor.fetchone()[0]
            steady, stored = (steady + 1 if count == stored else 0), count
            if steady >= 8:
                break
            time.sleep(0.25)
        cursor.execute("SELECT count(*) - count(DISTINCT household_id) FROM supply_order")
        doubled = cursor.fetchone()[0]
        # An item's packs ordered are the sum over its stripes; no stripe passes its share (CHECK).
        ordered_sql = "(SELECT sum(s.ordered) FROM supply_offeritemstripe s WHERE s.item_id = i.id)"
        cursor.execute(
            f"SELECT count(*) FROM supply_offeritem i WHERE i.offer_id = %s AND ({ordered_sql} > i.available OR "
            f"{ordered_sql} <> (SELECT coalesce(sum(l.quantity), 0) FROM supply_orderline l JOIN supply_order o "
            "ON o.id = l.order_id WHERE l.item_id = i.id AND o.status <> 'cancelled'))", [world["offer"]])
        mismatched = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM supply_order o WHERE (SELECT count(*) FROM supply_orderline l "
                       "WHERE l.order_id = o.id) <> %s", [len(world["items"])])
        partial = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM core_auditevent WHERE action = 'groupbuy_order_place'")
        audited = cursor.fetchone()[0]
        cursor.execute("SELECT EXTRACT(EPOCH FROM max(created_at) - min(created_at)) FROM supply_order")
        window = float(cursor.fetchone()[0] or 0)
        cursor.execute(f"SELECT string_agg({ordered_sql} || '/' || available, ' ' ORDER BY position) "
                       "FROM supply_offeritem i WHERE offer_id = %s", [world["offer"]])
        packs = cursor.fetchone()[0]
    print(f"verify: orders={stored} answered_2xx={answered} doubled={doubled} partial={partial} "
          f"items_mismatched={mismatched} audited={audited} packs(ordered/available)={packs} "
          f"non2xx={result['non2xx']} socket_errors={result['socket_errors']}", file=sys.stderr)
    problems = []
    if result["non2xx"]:
        problems.append(f"{result['non2xx']} non-2xx answers")
    if stored < answered - sum(t["out_of_lines"] for t in result["threads"]):
        problems.append(f"{stored} orders for {answered} answered requests")
    if doubled or partial or mismatched:
        problems.append(f"{doubled} households twice, {partial} orders with missing lines, "
                        f"{mismatched} items whose ordered packs do not match their lines or pass what is available")
    if audited != stored:
        problems.append(f"{audited} audit events for {stored} orders")
    if problems:
        print(result["text"], file=sys.stderr)
        raise SystemExit("verification failed: " + "; ".join(problems))
    return stored, window


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
