"""Pick lists of a group buy for the largest compound of the seeds (康城: 286 buildings).

    .venv/bin/python bench/supply_picklists.py [--buildings 286] [--orders 20000] [--runs 3]

Set-up (not timed), in `DATABASE_URL`, else supply_bench on localhost (created and migrated by
_db.use_bench_database): a compound 康城压测小区 with `buildings` buildings of equal size, one
household per order (rooms 101, 102, … per floor, so natural order matters), a leader and a filing
of three items, and an offer whose orders each hold one to three lines with packs allotted, as
after the gate check. Written with bulk_create once and reused by later runs of the same size.

Timed: `picklist_seconds(offer)`, building the pick-list PDF of all buildings (the totals page and
one section per building) as the committee's page does; the best of `runs`. Last line:
`buildings=… orders=… picklist_seconds=…`. Goal: under 10 s for 286 buildings and 20,000 orders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal

from _db import bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supply_bench"
CODE_PREFIX = "310197002"
TITLE = "康城压测团购"


def picklist_seconds(offer) -> float:
    """Seconds to build the pick lists of all buildings of `offer` (one PDF)."""
    from xiuhua.supply.picklists import picklist_pdf

    start = time.perf_counter()
    picklist_pdf(offer)
    return time.perf_counter() - start


def build(buildings: int, orders: int):
    from django.db import transaction
    from django.utils import timezone

    from xiuhua.places.models import CompoundType, Kind, OrgUnit, natural_key
    from xiuhua.residents.models import Household
    from xiuhua.supply.models import Filing, FilingItem, Leader
    from xiuhua.supply.models_orders import Category, Offer, OfferItem, Order, OrderLine
    from xiuhua.testing import make_resident

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or bench_unit(Kind.CITY, "上海市", None)
    district = bench_unit(Kind.DISTRICT, "团购压测区", city)
    street = bench_unit(Kind.STREET, "团购压测街道", district, code=f"{CODE_PREFIX}000")
    committee = bench_unit(Kind.COMMITTEE, "团购压测居委会", street, code=f"{CODE_PREFIX}001")
    compound = bench_unit(Kind.COMPOUND, "康城压测小区", committee, compound_type=CompoundType.ENCLOSED)
    offer = Offer.objects.filter(committee=committee, title=TITLE).first()
    if offer is not None and Order.objects.filter(offer=offer).count() == orders and OrgUnit.objects.filter(
            parent=compound, kind=Kind.BUILDING).count() == buildings:
        print(f"reusing {buildings} buildings and {orders} orders", file=sys.stderr)
        return offer
    t0 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        if offer is not None:
            OrderLine.objects.filter(order__offer=offer).delete()
            Order.objects.filter(offer=offer).delete()
            offer.items.all().delete()
            offer.delete()
        filings = Filing.objects.filter(committee=committee)
        FilingItem.objects.filter(filing__in=filings).delete()
        filings.delete()
        Leader.objects.filter(committee=committee).delete()
        for household in Household.objects.filter(committee=committee):
            household.residents.all().delete()
        Household.objects.filter(committee=committee).delete()
        OrgUnit.objects.filter(parent=compound, kind=Kind.BUILDING).delete()
        blocks = [bench_unit(Kind.BUILDING, f"{b + 1}号", compound) for b in range(buildings)]
        per_building = -(-orders // buildings)
        rows = []
        for n in range(orders):
            building = blocks[n // per_building]
            k = n % per_building
            room = f"{k // 4 + 1}{k % 4 + 1:02d}"
            rows.append(Household(building=building, compound=compound, committee=committee, room=room,
                                  room_sort=natural_key(room)[:40]))
        households = Household.objects.bulk_create(rows, batch_size=5000)
        resident = make_resident(households[0], "康城团长", mobile="13800000286", region="310197")
        leader = Leader.objects.create(committee=committee, compound=compound, resident=resident)
        filing = Filing.objects.create(
            committee=committee, leader=leader, supplier="上海鲜达食品有限公司", supplier_key="上海鲜达食品有限公司",
            supplier_licence="JY131", driver_name="王师傅", driver_phone="13900001234", vehicle_plate="沪A12345",
            window_start=now, window_end=now + dt.timedelta(hours=2))
        filing_items = FilingItem.objects.bulk_create([
            FilingItem(filing=filing, position=p, name=name, unit=unit, pack_quantity=Decimal(q), price=Decimal(price))
            for p, (name, unit, q, price) in enumerate((("鸡蛋", "枚", "30", "36"), ("大米", "kg", "10", "65"),
                                                        ("蔬菜套餐", "份", "1", "68")))])
        offer = Offer.objects.create(committee=committee, compound=compound, filing=filing, category=Category.OTHER,
                                     title=TITLE, orders_close_at=now)
        items = OfferItem.objects.bulk_create([
            OfferItem(offer=offer, filing_item=fi, position=p, available=3 * orders, per_household=3)
            for p, fi in enumerate(filing_items)])
        placed = Order.objects.bulk_create([
            Order(offer=offer, committee=committee, building_id=h.building_id, household=h,
                  created_at=now + dt.timedelta(seconds=n)) for n, h in enumerate(households)], batch_size=5000)
        lines = []
        for n, order in enumerate(placed):
            for p, item in enumerate(items):
                if p == 0 or (n + p) % 3:
                    packs = 1 + (n + p) % 3
                    lines.append(OrderLine(order=order, item=item, quantity=packs, price=item.filing_item.price,
                                           allotted=packs - (n % 7 == 0)))
        OrderLine.objects.bulk_create(lines, batch_size=5000)
    print(f"built {buildings} buildings, {orders} orders, {len(lines)} lines in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)
    return offer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=286)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    use_bench_database(None if __import__("os").environ.get("DATABASE_URL") else DEFAULT_URL)
    offer = build(args.buildings, args.orders)
    best = min(picklist_seconds(offer) for _run in range(args.runs))
    print(f"buildings={args.buildings} orders={args.orders} picklist_seconds={best:.2f}")


if __name__ == "__main__":
    main()
