"""The passport's coverage pages and first-page count for a large committee.

    .venv/bin/python bench/passport_coverage.py [--households 3000] [--requests 20]

Set-up (not timed), in `DATABASE_URL`, else passport_bench on localhost (created and migrated by
_db.use_bench_database): a district 护照压测区 with one street, one committee and one compound of
households of 2.5 people (100 buildings), 4 grids with micro-grids of 25 households; one screening
round with a sample this week for a member of 60 % of the households; 70 % of residents with two
doses; volunteer stamps on 40 % and convenience stamps on 25 % of households this week. Written
once and reused by later runs with the same size.

Timed: through Django's test client as the committee's staff member, `/passport/` (coverage per
grid of the whole committee), a grid's page (table per micro-grid and the map of its ~750
households), a micro-grid's page, the household page, and the first page `/` (which computes the
passport's home part). Last line: `households=… home_ms=… grid_ms=… micro_ms=… first_page_ms=…`
(medians).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

from _db import bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/passport_bench"
CODE_PREFIX = "310197001"
REGION = "310197"


def build(households: int):
    from django.db import transaction
    from django.utils import timezone

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.core.idnumbers import IdType, make_resident_id
    from xiuhua.passport.models import Stamp
    from xiuhua.places.models import CompoundType, Grid, Kind, OrgUnit
    from xiuhua.residents.identity import identity_fields
    from xiuhua.residents.models import Household, Resident
    from xiuhua.screening.models import SamplingCode, ScreeningRound, Tube, TubeMember

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or bench_unit(Kind.CITY, "上海市", None)
    district = bench_unit(Kind.DISTRICT, "护照压测区", city)
    street = bench_unit(Kind.STREET, "护照压测街道", district, code=f"{CODE_PREFIX}000")
    committee = bench_unit(Kind.COMMITTEE, "护照压测居委会", street, code=f"{CODE_PREFIX}001")
    compound = bench_unit(Kind.COMPOUND, "护照小区", committee, compound_type=CompoundType.ENCLOSED)
    staff = User.objects.filter(username="passport_bench_staff").first()
    if staff is None:
        staff = User.objects.create_user(username="passport_bench_staff", password=None, display_name="压测居委")
        Membership.objects.create(user=staff, org_unit=committee, role=Role.COMMITTEE_STAFF)
    if Household.objects.filter(committee=committee).count() == households:
        print(f"reusing {households} households", file=sys.stderr)
        return staff, committee
    t0 = time.perf_counter()
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        Stamp.objects.filter(committee=committee).delete()
        rounds = ScreeningRound.objects.filter(scope=street)
        TubeMember.objects.filter(round__in=rounds).delete()
        Tube.objects.filter(round__in=rounds).delete()
        SamplingCode.objects.filter(round__in=rounds).delete()
        rounds.delete()
        Resident.objects.filter(committee=committee).delete()
        Household.objects.filter(committee=committee).delete()
        Grid.objects.filter(committee=committee, kind=Grid.GridKind.MICRO).delete()
        Grid.objects.filter(committee=committee).delete()
        buildings = [bench_unit(Kind.BUILDING, f"{b + 1}号", compound) for b in range(100)]
        per_building = -(-households // len(buildings))
        grids = [Grid.objects.create(committee=committee, kind=Grid.GridKind.GRID, name=f"第{g + 1}网格")
                 for g in range(4)]
        micro_count = -(-households // 25)
        micros = [Grid.objects.create(committee=committee, kind=Grid.GridKind.MICRO, name=f"微网格{m + 1}",
                                      parent=grids[m * len(grids) // micro_count]) for m in range(micro_count)]
        rows = []
        for h in range(households):
            micro = micros[h // 25]
            room = f"{h % per_building // 4 + 1}0{h % 4 + 1}"
            rows.append(Household(building=buildings[h // per_building], room=room,
                                  grid_id=micro.parent_id, micro_grid=micro, committee=committee, compound=compound,
                                  room_sort=f"{h % per_building:08d}"))
        made = Household.objects.bulk_create(rows, batch_size=1000)
        people = []
        for i in range(int(households * 2.5)):
            household = made[i * 2 // 5]
            number = make_resident_id(REGION, dt.date(1950, 1, 1) + dt.timedelta(days=i // 900), i % 900)
            vaccinated = i % 10 < 7
            people.append(Resident(household=household, committee=committee, name="居民", sex="M",
                                   birth_date=dt.date(1950, 1, 1), relation="head" if i % 5 in (0, 2) else "child",
                                   vaccine_doses=2 if vaccinated else 0,
                                   vaccinated_on=dt.date(2022, 4, 1) if vaccinated else None,
                                   **identity_fields(IdType.RESIDENT_ID, number)))
        residents = Resident.objects.bulk_create(people, batch_size=1000)
        screening_round = ScreeningRound.objects.create(name="护照压测轮", scope=street, first_day=today,
                                                        last_day=today, created_by=staff)
        codes = SamplingCode.objects.bulk_create([
            SamplingCode(round=screening_round, reference=f"PB{r.pk:011d}", committee=committee,
                         household=r.household, resident=r, building_id=r.household.building_id, name_masked="居*")
            for r in residents if r.household_id % 10 < 6 and r.relation == "head"], batch_size=1000)
        tube = Tube.objects.create(round=screening_round, committee=committee, barcode="PBT000001", pool_rule="ten",
                                   capacity=10, opened_at=now)
        TubeMember.objects.bulk_create([TubeMember(tube=tube, code=c, round=screening_round, scanned_at=now)
                                        for c in codes], batch_size=1000)
        Stamp.objects.bulk_create(
            [Stamp(household=h, committee=committee, kind="volunteer", period_start=today - dt.timedelta(
                days=today.weekday()), stamped_on=today, stamped_by=staff) for h in made if h.pk % 5 < 2]
            + [Stamp(household=h, committee=committee, kind="convenience", period_start=today - dt.timedelta(
                days=today.weekday()), stamped_on=today, stamped_by=staff) for h in made if h.pk % 4 == 0],
            batch_size=1000)
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("residents_household", "residents_resident", "screening_tubemember", "passport_stamp"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"built {households} households in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return staff, committee


def timed(client, url: str, requests: int) -> float:
    client.get(url)  # warm-up
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    use_bench_database(DEFAULT_URL)
    from django.test import Client
    from django.test.utils import setup_test_environment

    from xiuhua.places.models import Grid
    from xiuhua.residents.models import Household

    setup_test_environment()
    staff, committee = build(args.households)
    client = Client()
    client.force_login(staff)
    grid = Grid.objects.filter(committee=committee, kind=Grid.GridKind.GRID).order_by("name").first()
    micro = Grid.objects.filter(parent=grid).order_by("pk").first()
    household = Household.objects.filter(micro_grid=micro).first()
    figures = {
        "home_ms": timed(client, "/passport/", args.requests),
        "grid_ms": timed(client, f"/passport/grid/{grid.pk}/", args.requests),
        "micro_ms": timed(client, f"/passport/grid/{micro.pk}/", args.requests),
        "household_ms": timed(client, f"/passport/h/{household.pk}/", args.requests),
        "first_page_ms": timed(client, "/", args.requests),
    }
    for name, value in figures.items():
        print(f"{name}: {value:.1f}", file=sys.stderr)
    print(f"households={args.households} " + " ".join(f"{k}={v:.0f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
