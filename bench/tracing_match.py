"""Import and match a 3,488-person tracing list against a million residents (goal: under 2 s).

    .venv/bin/python bench/tracing_match.py [--residents 1000000] [--listed 3488] [--runs 3]

Runs on PostgreSQL (DATABASE_URL, else xiuhua_bench on localhost, created and migrated when
missing) and seeds the 压测区 district with `seed_scale` when it holds fewer residents.

The list (not timed to build) is a CSV as telecom and port lists come: 姓名, 身份证号, 手机号码,
现住址, 抵沪日期. Its people, drawn at random from the district's roster:

- 55% with their identity number (and often a mobile);
- 20% with a mobile only;
- 15% with an address only, written as lists write them ("压测区东明路街道XX小区5号楼302室",
  full-width digits, "5-302", "5幢302"); half of them name the street, which tells apart the
  compounds of the same name that the generated district has in several streets;
- 10% strangers: valid identity numbers of nobody here, unknown mobiles, addresses elsewhere.

Timed: the whole `batch_import` through the service as the scale street officer (read the
file, check every row, persons, entries, matching by identity number, mobile and address,
assignment, history, audit), in one transaction, as a street officer's upload does. Before each
run the tracing tables are emptied, so every run starts from the same state.
Last line: `listed=3488 residents=1000000 seconds=… matched=… unmatched=…` (seconds: median).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _db import use_bench_database  # noqa: E402

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--listed", type=int, default=3488)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20200210)
    args = parser.parse_args()

    url = use_bench_database()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from xiuhua.accounts.models import User
    from xiuhua.core.crypto import decrypt_text
    from xiuhua.core.idnumbers import make_resident_id
    from xiuhua.places.addresses import building_key
    from xiuhua.places.management.commands.seed_scale import residents_in, scale_district
    from xiuhua.residents.models import Household, Resident
    from xiuhua.tracing import services
    from xiuhua.tracing.models import EntryStatus, ListEntry

    district = scale_district()
    if district is None or residents_in(district) < args.residents:
        call_command("seed_scale", residents=args.residents)
        district = scale_district()
    assert district is not None
    total = residents_in(district)
    officer = User.objects.get(username="scale_street")
    officer.active_membership = officer.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    street = officer.active_membership.org_unit  # type: ignore[attr-defined]
    print(f"database: {url.rsplit('@', 1)[-1]}  residents in {district.name}: {total:,}  street: {street.name}  "
          f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)

    rng = random.Random(args.seed)
    n_id = round(args.listed * 0.55)
    n_phone = round(args.listed * 0.20)
    n_address = round(args.listed * 0.15)
    n_stranger = args.listed - n_id - n_phone - n_address
    pool = list(
        Resident.objects.filter(committee__path__startswith=district.path)
        .order_by("pk").values_list("pk", flat=True)[:300_000]
    )
    chosen = rng.sample(pool, n_id + n_phone)
    people = Resident.objects.in_bulk(chosen)
    with_mobile = [people[pk] for pk in chosen[n_id:] if people[pk].mobile]
    households = Household.objects.filter(committee__path__startswith=district.path)
    homes_pool = list(households.order_by("pk").values_list("pk", flat=True)[:300_000])
    homes = Household.objects.select_related("compound", "building", "committee__parent").in_bulk(
        rng.sample(homes_pool, n_address)
    )

    rows: list[list[str]] = []
    for pk in chosen[:n_id]:
        r = people[pk]
        rows.append([r.name, decrypt_text(r.id_encrypted), r.mobile if rng.random() < 0.6 else "", "", "2020-02-09"])
    for r in with_mobile[:n_phone]:
        rows.append([r.name, "", r.mobile, "", "2020/2/9"])
    for h in homes.values():
        building = building_key(h.building.name)  # "5号", "6幢" -> "5", "6"
        form = rng.randrange(4)
        if form == 0:
            text = f"{district.name}{h.committee.parent.name}{h.compound.name}{building}号楼{h.room}室"
        elif form == 1:
            text = f"上海市{h.compound.name}{building}-{h.room}".translate(FULL_WIDTH)
        elif form == 2:
            text = f"{h.compound.name}{building}幢{h.room}"
        else:
            text = f"{h.committee.parent.name} {h.compound.name} {building}号 {h.room}室"
        rows.append(["来沪人员", "", "", text, "2020年2月8日"])
    for i in range(n_stranger + (n_phone - len(with_mobile[:n_phone]))):
        number = make_resident_id("420102", dt.date(1970 + i % 40, 1 + i % 12, 1 + i % 28), 100 + i % 800)
        rows.append(["外来人员", number, f"1590000{i:04d}", "湖北省武汉市江汉区", "2020-02-07"])
    rng.shuffle(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "身份证号", "手机号码", "现住址", "抵沪日期"])
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    print(f"list: {len(rows)} rows ({n_id} by identity number, {n_phone} by mobile, {n_address} by address, "
          f"{len(rows) - n_id - n_phone - n_address} strangers), {len(data):,} bytes", file=sys.stderr)

    seconds: list[float] = []
    matched = unmatched = 0
    for run in range(args.runs):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE tracing_entryevent, tracing_listentry, tracing_batchproblem, tracing_listedperson, "
                "tracing_tracingbatch"
            )
        started = time.perf_counter()
        batch = services.batch_import(
            actor=officer, street=street, source="telecom", reference=f"压测清单 {run + 1}",
            received_at=timezone.now(), data=data, filename="list.csv",
        )
        seconds.append(time.perf_counter() - started)
        entries = ListEntry.objects.filter(batch=batch)
        matched = entries.exclude(status=EntryStatus.TRIAGE).count()
        unmatched = entries.filter(status=EntryStatus.TRIAGE).count()
        methods = dict(entries.values_list("match_method").annotate(n=Count("pk")).order_by())
        print(f"run {run + 1}: {seconds[-1]:.2f} s  matched={matched} unmatched={unmatched} bad_rows={batch.rows_bad} "
              f"by method {methods}", file=sys.stderr)
    print(f"listed={len(rows)} residents={total} seconds={statistics.median(seconds):.2f} "
          f"matched={matched} unmatched={unmatched}")


if __name__ == "__main__":
    main()
