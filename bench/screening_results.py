"""A lab's results for a whole street at once: 100,000 tubes (1,000,000 people at 10:1) with 100
positive pools, reviews and texts included.

    .venv/bin/python bench/screening_results.py [--tubes 100000] [--positive 100] [--runs 1]

Goal (the issue): under 30 s.

Set-up (not timed): the database is `DATABASE_URL`, else xiuhua_bench_screening on localhost
(created and migrated by _db.use_bench_database). Each run empties the screening tables, then
writes by COPY a round of street 结果压测街道 with one site, `--tubes` closed tubes of 10 people
each (people registered as walk-ins: the roster is not what is measured) sampled 3 hours ago, and
one mobile per person. The lab's file is a CSV of every tube (barcode, 阴性 or 阳性, a time in
the last two hours to the minute), `--positive` of them positive, in the lab's order.

Timed: `results_import_file` as the street officer's upload page calls it: reading the file,
checking every row, recording every tube's result (negatives in batches), turning the people of
the positive pools into 待复核 and queuing one text per phone, in one transaction. Then checked:
every tube resulted with its result, one review per person of a positive pool, one queued text
per phone of those people, no problem rows.

Last line: `tubes=… people=… positive_pools=… seconds=…` (the median over `--runs`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

from _db import bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_screening"
POOL = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tubes", type=int, default=100_000)
    parser.add_argument("--positive", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if args.tubes < 1 or not 0 <= args.positive <= args.tubes or args.runs < 1:
        raise SystemExit("--tubes must be at least 1, --positive between 0 and --tubes, --runs at least 1")
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)

    seconds = []
    for run in range(args.runs):
        world = set_up(args.tubes)
        data, positive = lab_file(world, args.tubes, args.positive, seed=run)
        from xiuhua.screening.services_results import results_import_file

        t0 = time.perf_counter()
        record = results_import_file(actor=world.officer, screening_round=world.round, data=data,
                                     filename="检测结果.csv")
        elapsed = time.perf_counter() - t0
        check(world, record, args.tubes, positive)
        seconds.append(elapsed)
        print(f"run {run + 1}: {args.tubes} tubes, {len(data) / 1e6:.1f} MB file, {elapsed:.1f} s "
              f"({args.tubes / elapsed:,.0f} tubes/s); reviews {len(positive) * POOL}", file=sys.stderr)
    print(f"tubes={args.tubes} people={args.tubes * POOL} positive_pools={args.positive} "
          f"seconds={statistics.median(seconds):.1f}")


class World:
    pass


def set_up(tubes: int) -> World:
    from django.db import connection
    from django.utils import timezone

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import Kind
    from xiuhua.screening.models import PoolRule, RoundStatus, ScreeningRound, Site, TubeStatus
    from xiuhua.testing import acting

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE screening_review, screening_positivecase, screening_resultimport, screening_tubemember, "
            "screening_tube, screening_box, screening_stationbatch, screening_samplingcode, screening_line, "
            "screening_site, screening_roundcompound, screening_screeninground CASCADE")
        cursor.execute("DELETE FROM sms_outboundsms WHERE purpose = 'screening_review'")

    unit = bench_unit

    w = World()
    city = unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, "结果压测区", city)
    w.street = unit(Kind.STREET, "结果压测街道", district, code="310198001000")
    w.committee = unit(Kind.COMMITTEE, "结果压测居委会", w.street, code="310198001001")
    compound = unit(Kind.COMPOUND, "压测小区", w.committee)
    w.building = unit(Kind.BUILDING, "1号", compound)
    user = User.objects.filter(username="bench_results").first() or User.objects.create_user(
        username="bench_results", password=None)
    Membership.objects.get_or_create(user=user, org_unit=w.street, role=Role.STREET_OFFICER)
    w.officer = acting(user)
    today = timezone.localdate()
    w.round = ScreeningRound.objects.create(name="结果压测轮次", scope=w.street, first_day=today, last_day=today,
                                            status=RoundStatus.OPEN, created_by=user)
    site = Site.objects.create(round=w.round, committee=w.committee, name="压测采样点")
    w.sampled = timezone.now() - dt.timedelta(hours=3)
    people = tubes * POOL
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('screening_samplingcode', 'id')) "
                       "FROM generate_series(1, %s)", [people])
        code_ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(
            "COPY screening_samplingcode (id, round_id, reference, committee_id, building_id, name_masked, room, "
            "phone, walk_in, walk_in_name, created_at) FROM STDIN"
        ) as copy:
            for i, code_id in enumerate(code_ids):
                copy.write_row((code_id, w.round.pk, f"P{w.round.pk:03d}{i:08d}", w.committee.pk, w.building.pk,
                                "压*", str(i % 1000 + 1), f"139{i:08d}", True, "压测人员", w.sampled))
        cursor.execute("SELECT nextval(pg_get_serial_sequence('screening_tube', 'id')) FROM generate_series(1, %s)",
                       [tubes])
        tube_ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(
            "COPY screening_tube (id, round_id, site_id, committee_id, barcode, pool_rule, capacity, retest, status, "
            "opened_at, closed_at, recorded_at, result) FROM STDIN"
        ) as copy:
            for k, tube_id in enumerate(tube_ids):
                copy.write_row((tube_id, w.round.pk, site.pk, w.committee.pk, f"T{w.round.pk:03d}{k:07d}",
                                PoolRule.TEN.value, POOL, False, TubeStatus.CLOSED.value, w.sampled, w.sampled,
                                w.sampled, ""))
        with cursor.cursor.copy(
            "COPY screening_tubemember (tube_id, code_id, round_id, retest, scanned_at, recorded_at) FROM STDIN"
        ) as copy:
            for i, code_id in enumerate(code_ids):
                copy.write_row((tube_ids[i // POOL], code_id, w.round.pk, False, w.sampled, w.sampled))
        cursor.execute("ANALYZE screening_tube; ANALYZE screening_tubemember; ANALYZE screening_samplingcode")
    print(f"setup: {tubes} tubes, {people} people written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return w


def lab_file(world: World, tubes: int, positives: int, *, seed: int) -> tuple[bytes, set[int]]:
    from django.utils import timezone

    rng = random.Random(seed)
    positive = set(rng.sample(range(tubes), positives))
    start = timezone.localtime(world.sampled + dt.timedelta(hours=1))
    lines = ["试管条码,检测结果,检测时间"]
    for k in range(tubes):
        at = start + dt.timedelta(minutes=k * 120 // tubes)
        lines.append(f"T{world.round.pk:03d}{k:07d},{'阳性' if k in positive else '阴性'},{at:%Y-%m-%d %H:%M}")
    return ("\n".join(lines) + "\n").encode("utf-8"), positive


def check(world: World, record, tubes: int, positive: set[int]) -> None:
    from django.db.models import Count

    from xiuhua.screening.models import Review, Tube
    from xiuhua.sms.models import OutboundSms

    results = dict(Tube.objects.filter(round=world.round).values_list("result").annotate(n=Count("pk")))
    reviews = Review.objects.filter(round=world.round).count()
    texts = OutboundSms.objects.filter(purpose="screening_review").count()
    expected = {"negative": tubes - len(positive), **({"positive": len(positive)} if positive else {})}
    if (record.applied, record.problems, results, reviews, texts) != (
            tubes, [], expected, len(positive) * POOL, len(positive) * POOL):
        raise SystemExit(f"check failed: applied={record.applied} problems={record.problems[:3]} "
                         f"results={results} reviews={reviews} texts={texts}")


if __name__ == "__main__":
    main()
