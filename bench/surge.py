"""A round's opening surge past capacity: open-loop load at 1x, 2x and 3x what the server serves.

    .venv/bin/python bench/surge.py [--seconds 60] [--capacity N] [--workers 2] [--threads 16]
        [--resident-slots 8] [--staff-slots 4] [--staff-workers 1] [--no-door]

Goal (the issue), at 3x: goodput at least 90% of capacity, p99 of accepted requests under 2 s,
every refused request answered 503 in under 100 ms, the staff page's p95 under 500 ms, nothing
lost and nothing twice.

The server is the production one (gunicorn's gthread worker refusing at the door,
config/gunicorn_worker.py, or plain gthread with --no-door; admission control of core/admission.py on,
DEBUG off, no access log), on the bench world of reservation_burst.py (PostgreSQL: DATABASE_URL,
else xiuhua_bench_surge on localhost). Steps:

1. capacity: wrk, closed loop (64 connections, `--capacity-seconds`), on a fresh round: the rate
   of 2xx answers is capacity_per_s (or `--capacity` given).
2. For each of 1x, 2x and 3x capacity, `--seconds` of open-loop load: request i is sent at
   t0 + i/rate whether or not earlier ones were answered (asyncio, kept-alive connections, a new
   one whenever none is free), each a different resident from a different phone, as
   reservation_burst.py sends them. Latency counts from the planned send time, so a late sender
   cannot hide a slow server (how late the generator itself was is printed: on a shared 2-core
   machine it competes with the server it loads). No retries: a refusal is counted as one. Beside it a staff member's
   round list (/masks/staff/rounds/) is fetched every 100 ms on its own connection, by a process
   of its own, from a
   second gunicorn of `--staff-workers` workers as a proxy would route staff paths (0: from the
   residents' workers, where only the staff slots separate them).
3. The database is checked against every answer: each 2xx's reservation number must be there
   once with its phone (else lost), no person or phone holds two (duplicates), and no refused
   request made one.

Details go to stderr; the last line:
`capacity_per_s=… goodput_3x_per_s=… p99_accepted_3x_ms=… staff_p95_3x_ms=… lost=… duplicates=…`
plus the 503 figures of 3x (`refused_3x=… refused_max_ms=…`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import reservation_burst as burst
from _db import use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_surge"
MULTIPLIERS = (1, 2, 3)
STAFF_PATH = "/masks/staff/rounds/"
STAFF_EVERY = 0.1
TIMEOUT = 10.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


class Pool:
    """Kept-alive HTTP/1.1 connections to the server; a new one whenever none is idle."""

    def __init__(self, port: int):
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        while self.idle:  # a kept-alive connection the server closed meanwhile answers nothing at all
            try:
                return await self._send(self.idle.pop(), raw)
            except (OSError, asyncio.IncompleteReadError, IndexError) as exc:
                if getattr(exc, "partial", b""):
                    raise
        return await self._send(await asyncio.open_connection("127.0.0.1", self.port), raw)

    async def _send(self, conn, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        reader, writer = conn
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, _sep, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    body += await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append(conn)
        return status, headers, body


def reservation_request(token: str, body: str) -> bytes:
    data = body.encode()
    return (
        f"POST {burst.RESERVE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def staff_poller(port: int, cookie: str, seconds: float, out) -> None:
    """In a process of its own (the load's event loop must not delay it): the staff page every
    STAFF_EVERY seconds on a kept-alive connection, latency from the planned time."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    start = time.monotonic() + 0.2
    timings, statuses = [], {}
    k = 0
    while start + k * STAFF_EVERY < start + seconds:
        planned = start + k * STAFF_EVERY
        time.sleep(max(0.0, planned - time.monotonic()))
        try:
            conn.request("GET", STAFF_PATH, headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        timings.append((time.monotonic() - planned) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        k += 1
    out.put((timings, statuses))


async def open_loop(port: int, requests: list[tuple[int, bytes]], rate: float) -> dict:
    pool = Pool(port)
    results: list[tuple[int, int, float, bytes]] = []  # (line, status, ms, body)
    lags: list[float] = []  # how late the generator itself sent each request, ms
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2

    async def one(line: int, raw: bytes, planned: float) -> None:
        try:
            status, _headers, body = await asyncio.wait_for(pool.request(raw), TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            status, body = 0, b""
        results.append((line, status, (loop.time() - planned) * 1000, body))

    tasks = []
    for i, (line, raw) in enumerate(requests):
        planned = t0 + i / rate
        delay = planned - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, loop.time() - planned) * 1000)
        tasks.append(asyncio.create_task(one(line, raw, planned)))
    await asyncio.gather(*tasks)
    late = max(0.0, loop.time() - (t0 + len(requests) / rate))
    return {"results": results, "lags": lags, "drain_s": late}


def run_phase(port: int, staff_port: int, cookie: str, requests: list, rate: float) -> dict:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    poller = ctx.Process(target=staff_poller, args=(staff_port, cookie, len(requests) / rate, out))
    poller.start()
    outcome = asyncio.run(open_loop(port, requests, rate))
    outcome["staff_ms"], outcome["staff_status"] = out.get(timeout=120)
    poller.join()
    return outcome


def staff_cookie(world) -> str:
    """A signed-in session of committee staff of the bench's first committee (not timed)."""
    from django.test import Client

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role

    user = User.objects.filter(username="bench_surge_staff").first() or User.objects.create_user(
        username="bench_surge_staff", password=None
    )
    Membership.objects.get_or_create(user=user, org_unit=world.committees[0], role=Role.COMMITTEE_STAFF)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="seconds of load at each multiple")
    parser.add_argument("--capacity", type=float, default=0, help="skip measuring it: this many per second")
    parser.add_argument("--capacity-seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="threads per gthread worker")
    parser.add_argument("--resident-slots", type=int, default=8, help="XIUHUA_RESIDENT_SLOTS per process")
    parser.add_argument("--staff-slots", type=int, default=4, help="XIUHUA_STAFF_SLOTS per process")
    parser.add_argument("--no-door", dest="door", action="store_false",
                        help="plain gthread workers: refusals only once a thread takes the request")
    parser.add_argument("--staff-workers", type=int, default=1,
                        help="workers of a second gunicorn for staff paths (0: staff pages on the residents' workers)")
    args = parser.parse_args()

    os.environ.update(burst.BENCH_ENV)  # then the admission control of production:
    os.environ["XIUHUA_RESIDENT_SLOTS"] = str(args.resident_slots)
    os.environ["XIUHUA_STAFF_SLOTS"] = str(args.staff_slots)
    Path(burst.BENCH_ENV["XIUHUA_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db import connection

    ceiling = args.capacity or burst.RATE_CEILING / 2
    needed = math.ceil(ceiling * (args.capacity_seconds * 1.5 + args.seconds * sum(MULTIPLIERS) * 1.1)) + 1
    world = burst.build_roster(needed)
    tmp = Path(tempfile.mkdtemp(prefix="xiuhua_bench_surge_"))
    worker_class = "config.gunicorn_worker.DoorThreadWorker" if args.door else "gthread"
    server = burst.Server(workers=args.workers, worker_class=worker_class, worker_threads=args.threads,
                          max_requests=0, log=tmp / "gunicorn.log")
    # Staff pages on workers of their own (the proxy routes staff paths there), or beside residents.
    staff_server = burst.Server(workers=args.staff_workers, worker_class="gthread", worker_threads=args.threads,
                                max_requests=0, log=tmp / "gunicorn-staff.log") if args.staff_workers else None

    def on_sigterm(signum, frame):
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    phases = {}
    try:
        mask_round = burst.new_round(world)
        cookie = staff_cookie(world)
        staff_raw = (f"GET {STAFF_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n\r\n").encode()
        from xiuhua.masks.phone_tokens import issue

        server.start()
        if staff_server is not None:
            staff_server.start()
        staff_port = staff_server.port if staff_server is not None else server.port
        print(f"server: gunicorn {worker_class} on 127.0.0.1:{server.port}, workers={args.workers} "
              f"threads={args.threads} "
              f"resident_slots={args.resident_slots} staff_slots={args.staff_slots}; staff pages on "
              + (f"{args.staff_workers} worker(s) of their own" if staff_server else "the same workers")
              + "; load average "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
        check_staff_page(staff_port, staff_raw)
        next_line = 0
        capacity = args.capacity
        if not capacity:
            lines = math.ceil(burst.RATE_CEILING * args.capacity_seconds * 1.25)
            requests_file = tmp / "requests.txt"
            with requests_file.open("w", encoding="utf-8") as out:
                for i in range(lines):
                    out.write(f"{issue(burst.phone_of_line(i))}\t{burst.body(mask_round.pk, world, i)}\n")
            connection.close()
            wrk_args = argparse.Namespace(threads=2, connections=64, duration=args.capacity_seconds)
            measured = burst.run_wrk(shutil.which("wrk") or "wrk", wrk_args, server.url + burst.RESERVE_PATH,
                                     script_args=[str(requests_file), str(lines), "2"])
            capacity = (measured["completed"] - measured["non2xx"]) / args.capacity_seconds
            print(f"capacity: {capacity:.0f}/s 2xx in a closed loop of 64 connections "
                  f"({measured['non2xx']} refused, p99 {measured['p99_ms']:.0f} ms)", file=sys.stderr)
            next_line = lines
        for m in MULTIPLIERS:
            rate = capacity * m
            count = math.ceil(rate * args.seconds)
            if next_line + count > len_world(needed):
                raise SystemExit("not enough residents prepared (raise --capacity or RATE_CEILING)")
            requests = [(i, reservation_request(issue(burst.phone_of_line(i)), burst.body(mask_round.pk, world, i)))
                        for i in range(next_line, next_line + count)]
            next_line += count
            connection.close()
            t0 = time.perf_counter()
            outcome = run_phase(server.port, staff_port, cookie, requests, rate)
            phases[m] = summarise(m, rate, args.seconds, outcome, time.perf_counter() - t0)
        lost, duplicates, made_by_refused = check_database(mask_round.pk, phases)
        if any(r[1] not in (0, 503) and not 200 <= r[1] < 300 for p in phases.values() for r in p["results"]):
            errors = [line for line in server.log.read_text(errors="replace").splitlines()
                      if "Error" in line or "error" in line]
            print("server errors (last 5):\n" + "\n".join(errors[-5:]), file=sys.stderr)
    except (Exception, SystemExit):
        if server.process is not None and server.tail():
            print(f"gunicorn log (last lines):\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        if staff_server is not None:
            staff_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    p3 = phases[3]
    print(f"check: lost={lost} duplicates={duplicates} reservations made by a refused request={made_by_refused}; "
          f"load average after " + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stderr)
    print(
        f"capacity_per_s={capacity:.0f} goodput_3x_per_s={p3['goodput']:.0f} "
        f"p99_accepted_3x_ms={p3['p99_ok_ms']:.0f} staff_p95_3x_ms={p3['staff_p95_ms']:.0f} "
        f"lost={lost} duplicates={duplicates} refused_3x={p3['refused']} refused_max_ms={p3['refused_max_ms']:.0f}"
    )


def check_staff_page(port: int, staff_raw: bytes) -> None:
    async def fetch():
        return await Pool(port).request(staff_raw)

    status, headers, _body = asyncio.run(fetch())
    if status != 200:
        raise SystemExit(f"the staff page answered {status} {headers.get('location', '')}, not 200")


def len_world(needed: int) -> int:
    return needed - 1  # the last resident is the probe's in reservation_burst


def summarise(m: int, rate: float, seconds: int, outcome: dict, wall: float) -> dict:
    results = outcome["results"]
    ok = [r for r in results if 200 <= r[1] < 300]
    refused = [r for r in results if r[1] == 503]
    other = [r for r in results if r[1] not in (0, 503) and not 200 <= r[1] < 300]
    failed = [r for r in results if r[1] == 0]
    ok_ms = [r[2] for r in ok]
    refused_ms = [r[2] for r in refused]
    summary = {
        "results": results,
        "goodput": len(ok) / seconds,
        "p99_ok_ms": percentile(ok_ms, 99),
        "refused": len(refused),
        "refused_max_ms": max(refused_ms, default=0.0),
        "refused_p99_ms": percentile(refused_ms, 99),
        "staff_p95_ms": percentile(outcome["staff_ms"], 95),
    }
    print(
        f"{m}x ({rate:.0f}/s for {seconds} s, {wall:.1f} s wall): sent {len(results)}, 2xx {len(ok)} "
        f"(goodput {summary['goodput']:.0f}/s, p50 {percentile(ok_ms, 50):.0f} ms, p99 {summary['p99_ok_ms']:.0f} ms), "
        f"503 {len(refused)} (p50 {percentile(refused_ms, 50):.0f} ms, p99 {summary['refused_p99_ms']:.0f} ms, "
        f"max {summary['refused_max_ms']:.0f} ms, {sum(1 for x in refused_ms if x >= 100)} at 100 ms or more), "
        f"other {len(other)} {sorted({r[1] for r in other})}, failed or timed out {len(failed)}; staff page "
        f"{len(outcome['staff_ms'])} fetches {outcome['staff_status']}, p50 {percentile(outcome['staff_ms'], 50):.0f} "
        f"ms, p95 {summary['staff_p95_ms']:.0f} ms; answers drained {outcome['drain_s']:.1f} s after the last send; "
        f"the generator sent late by p99 {percentile(outcome['lags'], 99):.0f} ms, max {max(outcome['lags']):.0f} ms",
        file=sys.stderr,
    )
    return summary


def check_database(round_id: int, phases: dict) -> tuple[int, int, int]:
    """(lost, duplicates, reservations made by refused requests)."""
    from django.db import connection

    time.sleep(1)  # nothing is in flight any more, but let the server finish its last commits
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, phone FROM masks_reservation WHERE round_id = %s", [round_id])
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) - count(DISTINCT person_hash), count(*) - count(DISTINCT phone) "
            "FROM masks_reservation WHERE round_id = %s", [round_id])
        dup_person, dup_phone = cursor.fetchone()
    held = {}
    for number, phone in rows:
        held[number] = phone
    lost = 0
    refused_phones = set()
    for phase in phases.values():
        for line, status, _ms, body in phase["results"]:
            if 200 <= status < 300:
                number = json.loads(body).get("number")
                if held.get(number) != burst.phone_of_line(line):
                    lost += 1
            elif status == 503:
                refused_phones.add(burst.phone_of_line(line))
    made_by_refused = sum(1 for phone in held.values() if phone in refused_phones)
    if made_by_refused and os.environ.get("SURGE_DEBUG"):
        for phase in phases.values():
            for line, status, ms, body in phase["results"]:
                if status == 503 and burst.phone_of_line(line) in set(held.values()):
                    print("refused but held:", line, ms, body[:80], file=sys.stderr)
                    break
    return lost, dup_person + dup_phone, made_by_refused


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
