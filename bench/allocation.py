"""Issue vouchers for 1,000,000 reservations across 200 pharmacies (goal: under 30 s, PostgreSQL).

    .venv/bin/python bench/allocation.py [--reservations 1000000] [--pharmacies 200] [--workers 2]

Set-up (not timed): a district, one street, one committee per pharmacy, a first-come round with
a 10% special-group share, and the reservations written with COPY (5% of them special, order
times shuffled so the queue order is not the insertion order). Households are left empty: the
allocation never reads them.

Timed: one stock delivery per pharmacy through the real service (stock_delivery_record), each
delivering exactly the masks its queue needs, which issues the vouchers in the same transaction
(vouchers_issue: one query for the queue, COPY of the vouchers, one UPDATE of the reservations).
`--workers` pharmacies are served at a time, each worker with its own connection.

The database is `DATABASE_URL`, else xiuhua_bench_allocation on localhost (created and migrated
by _db.use_bench_database); the masks tables there are emptied at the start of each run.
Last line: `reservations=1000000 pharmacies=200 seconds=…`.
"""

import argparse
import datetime as dt
import io
import os
import random
import sys
import threading
import time
import uuid

from _db import use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_allocation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reservations", type=int, default=1_000_000)
    parser.add_argument("--pharmacies", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)

    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.masks import codes
    from xiuhua.masks.models import MaskRound, Pharmacy, PharmacyCommittee, PharmacyStock, RoundStatus, Voucher
    from xiuhua.masks.services import stock_delivery_record
    from xiuhua.places.models import Kind, OrgUnit

    t_setup = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE masks_voucher, masks_reservation, masks_pharmacystock, masks_stockdelivery, "
            "masks_paperformbook, masks_pharmacycommittee, masks_pharmacy_clerks, masks_pharmacy, "
            "masks_maskround"
        )
    tag = uuid.uuid4().hex[:6]
    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or OrgUnit.objects.create(kind=Kind.CITY, name="上海市")
    district = OrgUnit.objects.create(kind=Kind.DISTRICT, name=f"压测区{tag}", parent=city)
    street = OrgUnit.objects.create(kind=Kind.STREET, name=f"压测街道{tag}", parent=district)
    committees = [
        OrgUnit.objects.create(kind=Kind.COMMITTEE, name=f"压测居委{i}", parent=street) for i in range(args.pharmacies)
    ]
    officer = User.objects.create_user(username=f"bench_alloc_{tag}", password=None)
    Membership.objects.create(user=officer, org_unit=district, role=Role.DISTRICT_OFFICER)
    officer.active_membership = Membership.objects.select_related("org_unit").get(user=officer)  # type: ignore[attr-defined]
    now = timezone.now()
    mask_round = MaskRound.objects.create(
        name=f"压测轮{tag}", scope=district, opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=1),
        status=RoundStatus.OPEN, created_by=officer, special_share_percent=10,
    )
    pharmacies = Pharmacy.objects.bulk_create(
        [Pharmacy(street=street, name=f"压测药店{i}", address="压测路") for i in range(args.pharmacies)]
    )
    PharmacyCommittee.objects.bulk_create(
        [PharmacyCommittee(pharmacy=p, committee=c) for p, c in zip(pharmacies, committees, strict=True)]
    )

    rng = random.Random(20200202)
    per_pharmacy = [args.reservations // args.pharmacies] * args.pharmacies
    for i in range(args.reservations % args.pharmacies):
        per_pharmacy[i] += 1
    opens = mask_round.opens_at
    buffer = io.StringIO()
    serial = 0
    for p, c, count in zip(pharmacies, committees, per_pharmacy, strict=True):
        for _ in range(count):
            serial += 1
            body = "".join(codes.ALPHABET[(serial >> (5 * k)) & 31] for k in range(6, -1, -1))
            number = f"{mask_round.pk}-{body}{codes.check_char(body)}"
            order_at = opens + dt.timedelta(microseconds=rng.randrange(86_400_000_000))
            special = "t" if rng.random() < 0.05 else "f"
            buffer.write(
                f"{mask_round.pk}\t{c.pk}\t{p.pk}\t{serial:064x}\t310*************{serial % 100:02d}\t"
                f"{serial % 10000:04d}\t压测\t13900000000\t\tonline\t{order_at.isoformat()}\t\t{number}\t"
                f"{special}\tqueued\t\t{now.isoformat()}\n"
            )
    with connection.cursor() as cursor, cursor.cursor.copy(
        "COPY masks_reservation (round_id, committee_id, pharmacy_id, person_hash, id_masked, id_last4, "
        "name, phone, address_text, channel, order_at, paper_serial, number, special, status, status_reason, "
        "created_at) FROM STDIN"
    ) as copy:
        copy.write(buffer.getvalue())
    with connection.cursor() as cursor:  # as autovacuum would have done over a day of reservations
        cursor.execute("VACUUM ANALYZE masks_reservation")
    del buffer
    print(f"setup: {args.reservations} reservations in {time.perf_counter() - t_setup:.1f} s", file=sys.stderr)

    todo = list(zip(pharmacies, per_pharmacy, strict=True))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    pharmacy, count = todo.pop()
                stock_delivery_record(
                    actor=officer, round=mask_round, pharmacy=pharmacy, quantity=count * 5,
                    delivered_at=timezone.now(), idempotency_key=f"bench-{tag}-{pharmacy.pk}",
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.workers - 1)]
    for t in threads:
        t.start()
    worker()  # the main thread works too (and shows up in a profile)
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]

    issued = Voucher.objects.filter(round=mask_round).count()
    stocks = PharmacyStock.objects.filter(round=mask_round)
    over = stocks.filter(allocated__gt=F("delivered")).count()
    special = Voucher.objects.filter(round=mask_round, special=True).count()
    print(f"vouchers={issued} special={special} over_stock_rows={over} workers={args.workers}", file=sys.stderr)
    if issued != args.reservations or over:
        raise SystemExit("allocation incomplete or over stock")
    print(f"reservations={args.reservations} pharmacies={args.pharmacies} seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
