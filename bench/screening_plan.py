"""Plan and simulate a screening round over a compound like 康城 (goal: under 2 s, queues in bounds).

    .venv/bin/python bench/screening_plan.py [--residents 40000] [--buildings 286] [--sites 6] [--lines 4]
        [--phases 4-2-3-1] [--seed 1]

Goal (issue 13): 40,000 residents in 286 buildings, 6 sites of 4 lines: the plan and its
simulation under 2 s; the simulated queue within 30-80 people for at least 90% of the working time.

Set-up (not timed): in the database `DATABASE_URL`, else xiuhua_bench_screening_plan on localhost
(created and migrated by _db.use_bench_database), a street 康城压测街道 with one residents'
committee per site, each holding a part of the compound (康城一期 …) with its share of the
buildings; building sizes are drawn once from a seeded generator (80-200 people, scaled to
`--residents`), three residents a household, written with COPY. A roster already there with the
same numbers is reused. Each run deletes the street's earlier rounds and creates a fresh one (one
day, 07:00-19:00, the default rule: 200 people an hour a line, queue 30-80, 10% no-shows) with one
site of `--lines` lines per committee, through the services.

Timed: `screening_plan_make` as the plan page calls it: it reads the buildings' resident counts
and the sites from PostgreSQL, plans (phase order `--phases`), runs the simpy simulation of every
person, writes the call slots and the plan with its series, and files the audit event.
`plan_seconds` (stderr) is the planner and the simulation alone; stderr also shows in_bounds
when 0, 5, 15 or 20% of the people stay away instead of the 10% the plan expects, with the calls
made by the clock (the slots as printed) and by the queue (planner.simulate(adaptive=True)).

Last line: `residents=… buildings=… seconds=… in_bounds=…` (in_bounds: the share of line working
time with the simulated queue within the bounds, 0-1).
"""

import argparse
import datetime as dt
import os
import random
import sys
import time

from _db import use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_screening_plan"
STREET = "康城压测街道"
PER_HOUSEHOLD = 3
PARTS = "一二三四五六七八九十"


def building_sizes(residents: int, buildings: int) -> list[int]:
    rng = random.Random(286)
    sizes = [rng.randint(80, 200) for _ in range(buildings)]
    factor = residents / sum(sizes)
    sizes = [max(1, round(n * factor)) for n in sizes]
    sizes[-1] += residents - sum(sizes)
    return sizes


def build_world(args):
    """The street, its committees and compound parts, buildings and roster; reused when the same."""
    from django.db import connection, transaction

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.residents.models import Resident

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or OrgUnit.objects.create(kind=Kind.CITY, name="上海市")
    district = (OrgUnit.objects.filter(kind=Kind.DISTRICT, name="筛查压测区").first()
                or OrgUnit.objects.create(kind=Kind.DISTRICT, name="筛查压测区", parent=city))
    street = (OrgUnit.objects.filter(kind=Kind.STREET, name=STREET).first()
              or OrgUnit.objects.create(kind=Kind.STREET, name=STREET, parent=district))
    officer = User.objects.filter(username="bench_screening_plan").first()
    if officer is None:
        officer = User.objects.create_user(username="bench_screening_plan", password=None)
        Membership.objects.create(user=officer, org_unit=street, role=Role.STREET_OFFICER)
    officer.active_membership = Membership.objects.select_related("org_unit").get(user=officer)

    sizes = building_sizes(args.residents, args.buildings)
    shape = f"{args.residents}/{args.buildings}/{args.sites}"
    committees = list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, parent=street).order_by("pk"))
    have = Resident.objects.filter(committee__parent=street).count()
    if street.aliases == shape and have == args.residents and len(committees) == args.sites:
        print(f"world: reusing {have} residents in {args.buildings} buildings", file=sys.stderr)
        return street, officer, committees
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        from xiuhua.screening.models import ScreeningRound

        ScreeningRound.objects.filter(scope=street).delete()
        ids = list(OrgUnit.objects.filter(path__startswith=street.path).exclude(pk=street.pk)
                   .values_list("pk", flat=True))
        cursor.execute("DELETE FROM residents_residenttag WHERE committee_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM residents_resident WHERE committee_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM residents_household WHERE committee_id = ANY(%s)", [ids])
        for kind in (Kind.BUILDING, Kind.COMPOUND, Kind.COMMITTEE):
            OrgUnit.objects.filter(pk__in=ids, kind=kind).delete()
        committees, buildings = [], []
        for c in range(args.sites):
            part = PARTS[c] if c < len(PARTS) else str(c + 1)
            committee = OrgUnit.objects.create(kind=Kind.COMMITTEE, name=f"康城第{part}居委会", parent=street,
                                               code=f"3109990{c + 1:05d}")
            compound = OrgUnit.objects.create(kind=Kind.COMPOUND, name=f"康城{part}期", parent=committee)
            committees.append(committee)
            first, last = c * args.buildings // args.sites, (c + 1) * args.buildings // args.sites
            buildings.extend(OrgUnit.objects.create(kind=Kind.BUILDING, name=f"{b + 1}号", parent=compound)
                             for b in range(first, last))
        copy_roster(buildings, sizes)
        street.aliases = shape
        street.save(update_fields=["aliases"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE residents_household")
        cursor.execute("ANALYZE residents_resident")
    print(f"world: {args.residents} residents in {args.buildings} buildings written in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return street, officer, committees


def copy_roster(buildings, sizes: list[int]) -> None:
    """Households (three residents each) and residents by COPY, with the identity columns the
    services would store."""
    from django.db import connection
    from django.utils import timezone

    from xiuhua.core.idnumbers import IdType, make_resident_id
    from xiuhua.places.models import natural_key
    from xiuhua.residents.identity import identity_fields
    from xiuhua.residents.models import LivingStatus, Relation

    now = timezone.now()
    rooms = [(b, room) for b, n in zip(buildings, sizes, strict=True)
             for room in range((n + PER_HOUSEHOLD - 1) // PER_HOUSEHOLD)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('residents_household', 'id')) "
                       "FROM generate_series(1, %s)", [len(rooms)])
        household_ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(
            "COPY residents_household (id, room, is_rental, landlord_name, landlord_phone, created_at, "
            "updated_at, building_id, committee_id, compound_id, room_sort) FROM STDIN"
        ) as copy:
            for hid, (building, room) in zip(household_ids, rooms, strict=True):
                name = f"{room // 6 + 1}{room % 6 + 1:02d}"
                copy.write_row((hid, name, False, "", "", now, now, building.pk, building.committee_id,
                                building.parent_id, natural_key(name)[:40]))
        household_of = {}
        for hid, (building, room) in zip(household_ids, rooms, strict=True):
            household_of[(building.pk, room)] = (hid, building.committee_id)
        with cursor.cursor.copy(
            "COPY residents_resident (name, sex, birth_date, id_type, id_encrypted, id_hash, id_masked, "
            "id_last4, mobile, relation, living_status, away_until, language, specialty, skills, created_at, "
            "updated_at, committee_id, household_id) FROM STDIN"
        ) as copy:
            serial = 0
            for building, n in zip(buildings, sizes, strict=True):
                for person in range(n):
                    serial += 1
                    birth = dt.date(1940, 1, 1) + dt.timedelta(days=serial % 25000)
                    number = make_resident_id("310999", birth, serial % 999 + 1)
                    fields = identity_fields(IdType.RESIDENT_ID, number)
                    hid, committee_id = household_of[(building.pk, person // PER_HOUSEHOLD)]
                    copy.write_row((
                        f"居民{serial}", "M" if serial % 2 else "F", birth, fields["id_type"], fields["id_encrypted"],
                        fields["id_hash"], fields["id_masked"], fields["id_last4"], "",
                        Relation.HEAD if person % PER_HOUSEHOLD == 0 else Relation.CHILD, LivingStatus.HERE, None,
                        "", "", "", now, now, committee_id, hid,
                    ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=40_000)
    parser.add_argument("--buildings", type=int, default=286)
    parser.add_argument("--sites", type=int, default=6)
    parser.add_argument("--lines", type=int, default=4)
    parser.add_argument("--phases", default="4-2-3-1")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)

    from django.utils import timezone

    from xiuhua.screening import planner
    from xiuhua.screening.models import CallSlot, ScreeningRound
    from xiuhua.screening.services_rounds import (
        plan_inputs,
        screening_plan_make,
        screening_round_create,
        screening_site_add,
    )

    street, officer, committees = build_world(args)
    ScreeningRound.objects.filter(scope=street).delete()
    day = timezone.localdate()
    screening_round = screening_round_create(actor=officer, scope=street, name="康城全员核酸筛查", first_day=day,
                                             last_day=day)
    for committee in committees:
        screening_site_add(actor=officer, screening_round=screening_round, committee=committee,
                           name=f"{committee.name}采样点", line_count=args.lines)

    started = time.perf_counter()
    plan = screening_plan_make(actor=officer, screening_round=screening_round, phase_order=args.phases, seed=args.seed)
    seconds = time.perf_counter() - started

    # The planner and the simulation alone, on the same inputs (not the figure: the service is).
    buildings, sites, plan_settings = plan_inputs(screening_round)
    t0 = time.perf_counter()
    result = planner.make_plan(buildings, sites, plan_settings, planner.parse_phase_order(args.phases))
    simulation = planner.simulate(result, plan_settings, seed=args.seed)
    plan_seconds = time.perf_counter() - t0

    # How the same plan stands when more or fewer people come than the rule's 10% no-shows expect.
    figures = []
    for mode, adaptive in (("by_clock", False), ("by_queue", True)):
        for share in (0, 5, 15, 20):
            other = planner.simulate(result, plan_settings, seed=args.seed, no_show_percent=share, adaptive=adaptive)
            figures.append(f"{mode}_no_show_{share}={other.in_bounds:.3f}")
    sensitivity = " ".join(figures)
    slots = CallSlot.objects.filter(round=screening_round).count()
    people = sum(b.people for b in buildings)
    print(f"slots={slots} people={people} sampled={simulation.served} max_queue={plan.max_queue} "
          f"unplanned={len(plan.unplanned)} warnings={plan.warnings} plan_seconds={plan_seconds:.3f} "
          f"load={os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(sensitivity, file=sys.stderr)
    if slots != args.buildings or people != args.residents or plan.unplanned:
        raise SystemExit(f"the plan does not cover the roster: {slots} slots, {people} people")
    print(f"residents={people} buildings={slots} seconds={seconds:.3f} in_bounds={plan.in_bounds:.4f}")


if __name__ == "__main__":
    main()
