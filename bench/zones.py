"""Positives arriving in a district of 130 compounds and 4,000 buildings: each one seals its
building (or starts its clock again) and puts its compound under control in its own transaction,
and the daily walk then recomputes every affected clock.

    .venv/bin/python bench/zones.py [--positives 500] [--compounds 130] [--buildings 4000]

Goal (the issue): p95 per positive under 50 ms.

Set-up (not timed): the database is `DATABASE_URL`, else xiuhua_bench_zones on localhost (created
and migrated by _db.use_bench_database). The district 区域压测区 with one street, 13 committees,
`--compounds` compounds and `--buildings` buildings spread over them (found again on a second
run); its zones, positives and rules are emptied, then the 22 May 2022 rule (a positive seals
its building, the rest of the compound is controlled; 7 days, then 3) is published for it from
60 days ago.

Timed: `positives` calls of `positive_record`, as the street officer's page makes them, each in
its own transaction: a building drawn at random (seeded), a day in the last 10, in random order,
so later positives meet sealed buildings and controlled compounds whose clocks restart. Then
`zones_advance` walks every sealed and controlled zone to today. Checked: every building with a
positive has a zone whose last positive day is its latest positive, every compound with one is
not in precaution unless its walk stepped it down, and a second walk takes no step.

Last line: `positives=… zones=… p50_ms=… p95_ms=… advance_seconds=…`.
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

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_zones"
COMMITTEES = 13


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positives", type=int, default=500)
    parser.add_argument("--compounds", type=int, default=130)
    parser.add_argument("--buildings", type=int, default=4000)
    args = parser.parse_args()
    if args.positives < 1 or args.compounds < COMMITTEES or args.buildings < args.compounds:
        raise SystemExit(f"--positives at least 1, --compounds at least {COMMITTEES}, --buildings at least --compounds")
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)

    from django.utils import timezone

    from xiuhua.zones.models import Level, Positive, Zone
    from xiuhua.zones.services import positive_record, zones_advance

    world = set_up(args.compounds, args.buildings)
    today = timezone.localdate()
    rng = random.Random(20220522)
    arrivals = [(rng.choice(world.buildings), today - dt.timedelta(days=rng.randrange(10)))
                for _ in range(args.positives)]
    timings = []
    for building, day in arrivals:
        t0 = time.perf_counter()
        positive_record(actor=world.officer, building=building, day=day, source="street", today=today)
        timings.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    steps = zones_advance(today=today, within=world.district)
    advance = time.perf_counter() - t0

    # Checked: every positive counted where it fell.
    latest: dict[int, dt.date] = {}
    for building, day in arrivals:
        latest[building.pk] = max(latest.get(building.pk, day), day)
    zones = {z.unit_id: z for z in Zone.objects.filter(unit__path__startswith=world.district.path)}
    assert Positive.objects.filter(compound__path__startswith=world.district.path).count() == args.positives
    for building_id, day in latest.items():
        assert zones[building_id].last_positive_day == day, (building_id, day)
    compounds = {b.parent_id for b, _day in arrivals}
    stepped_down = sum(1 for c in compounds if zones[c].level == Level.PRECAUTION)
    assert zones_advance(today=today, within=world.district) == 0
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"{args.positives} positives over {len(latest)} buildings of {len(compounds)} compounds: "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms; walk {advance:.2f} s, "
          f"{steps} steps ({stepped_down} compounds back to precaution)", file=sys.stderr)
    print(f"positives={args.positives} zones={len(zones)} p50_ms={p50:.1f} p95_ms={p95:.1f} "
          f"advance_seconds={advance:.2f}")


class World:
    pass


def set_up(compounds: int, buildings: int) -> World:
    from django.utils import timezone

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.testing import acting
    from xiuhua.zones.models import Positive, RuleStatus, Zone, ZoneEvent, ZoneRule
    from xiuhua.zones.presets import MAY_22

    t0 = time.perf_counter()
    w = World()
    city = bench_unit(Kind.CITY, "上海市", None)
    w.district = bench_unit(Kind.DISTRICT, "区域压测区", city)
    street = bench_unit(Kind.STREET, "区域压测街道", w.district, code="310197001000")
    committees = [bench_unit(Kind.COMMITTEE, f"区域压测{n + 1}居委会", street, code=f"310197001{n + 1:03d}")
                  for n in range(COMMITTEES)]
    places = [bench_unit(Kind.COMPOUND, f"压测{n + 1}小区", committees[n % COMMITTEES], compound_type="enclosed")
              for n in range(compounds)]
    existing = {(b.parent_id, b.name): b for b in OrgUnit.objects.filter(kind=Kind.BUILDING, parent__in=places)}
    w.buildings = []
    for n in range(buildings):
        compound = places[n % compounds]
        name = f"{n // compounds + 1}号"
        found = existing.get((compound.pk, name))
        if found is None:
            found = OrgUnit(kind=Kind.BUILDING, name=name, parent=compound)
            found.save()
        w.buildings.append(found)
    inside = {"unit__path__startswith": w.district.path}
    ZoneEvent.objects.filter(zone__in=Zone.objects.filter(**inside)).delete()
    Zone.objects.filter(**inside).delete()
    Positive.objects.filter(compound__path__startswith=w.district.path).delete()
    ZoneRule.objects.filter(scope=w.district).delete()
    user = User.objects.filter(username="bench_zones").first() or User.objects.create_user(
        username="bench_zones", password=None)
    Membership.objects.get_or_create(user=user, org_unit=street, role=Role.STREET_OFFICER)
    w.officer = acting(user)
    ZoneRule.objects.create(scope=w.district, effective_from=timezone.localdate() - dt.timedelta(days=60),
                            status=RuleStatus.PUBLISHED, created_by=user,
                            **{k: str(v) if k in ("name", "explanation") else v for k, v in MAY_22.items()})
    print(f"set-up {time.perf_counter() - t0:.1f} s: {compounds} compounds, {buildings} buildings",
          file=sys.stderr)
    return w


if __name__ == "__main__":
    main()
