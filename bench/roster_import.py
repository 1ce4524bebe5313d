"""Roster import of 40,000 rows, end to end (parse + validate + commit), on PostgreSQL.

    .venv/bin/python bench/roster_import.py            # import; a second run re-imports
    .venv/bin/python bench/roster_import.py --fresh    # delete the bench committee's people first
    .venv/bin/python bench/roster_import.py --profile  # where the time goes
    .venv/bin/python bench/roster_import.py --clean    # remove what the bench created

Uses DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/xiuhua_bench (created and
migrated here). Builds one committee with a 286-building compound (the size of 康城) under the
database's first district, writes a 40,000-row xlsx of valid fake residents to a temporary file
and imports it through the same service functions as the roster page. The first run creates
everyone; a second run of the same file must find every row unchanged and write nothing.
Ends with `rows=40000 seconds=…`.
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ROWS = 40_000
BUILDINGS = 286
COMMITTEE_CODE = "310115199001"
STREET_CODE = "310115199000"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in url if it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    params = {k: v for k, v in {
        "host": config.get("HOST") or None, "port": config.get("PORT") or None,
        "user": config.get("USER") or None, "password": config.get("PASSWORD") or None,
    }.items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"created database {config['NAME']}")


def build_places():
    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import CompoundType, Kind, OrgUnit

    def unit(kind, name, parent, **extra):
        found = OrgUnit.objects.filter(parent=parent, name=name).first()
        if found is None:
            found = OrgUnit(kind=kind, name=name, parent=parent, **extra)
            found.save()
        return found

    # Under the database's first district when there is one (other benches share the database).
    city = OrgUnit.objects.filter(kind=Kind.CITY).order_by("path").first() or unit(Kind.CITY, "上海市", None)
    district = (OrgUnit.objects.filter(kind=Kind.DISTRICT, parent=city).order_by("path").first()
                or unit(Kind.DISTRICT, "浦东新区", city))
    street = OrgUnit.objects.filter(code=STREET_CODE).first() or unit(
        Kind.STREET, "花名册压测街道", district, code=STREET_CODE)
    committee = unit(Kind.COMMITTEE, "康城居委会", street, code=COMMITTEE_CODE)
    compound = unit(Kind.COMPOUND, "康城", committee, compound_type=CompoundType.ENCLOSED)
    have = set(OrgUnit.objects.filter(parent=compound).values_list("name", flat=True))
    for number in range(1, BUILDINGS + 1):
        if f"{number}号" not in have:
            unit(Kind.BUILDING, f"{number}号", compound)
    user = User.objects.filter(username="bench_roster").first()
    if user is None:
        user = User.objects.create_user(username="bench_roster", password=None, display_name="压测")
        Membership.objects.create(user=user, org_unit=committee, role=Role.COMMITTEE_STAFF)
    return committee, user


def write_file(path: Path) -> None:
    """40,000 residents in ~14,000 households; valid, deterministic fake identity numbers."""
    from openpyxl import Workbook

    from xiuhua.core.idnumbers import make_resident_id
    from xiuhua.residents.roster import COLUMNS

    relations = ["户主", "配偶", "子女"]
    tags = ["", "", "", "", "", "", "独居老人", "无智能手机", "独居老人、无智能手机", "残疾"]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append([str(c.header) for c in COLUMNS])
    base = dt.date(1940, 1, 1)
    for i in range(ROWS):
        household = i // 3
        building = household % BUILDINGS + 1
        room = f"{(household // BUILDINGS) // 4 + 1}{(household // BUILDINGS) % 4 + 1:02d}"
        male = i % 2 == 0
        birth = base + dt.timedelta(days=(i // 500) * 97)
        number = make_resident_id("659004", birth, (i % 500) * 2 + (1 if male else 0))
        rental = household % 9 == 0
        first = i % 3 == 0
        sheet.append([
            "康城", f"{building}号", room, f"居民{i:05d}", "男" if male else "女", birth, "居民身份证",
            number, f"139{i:08d}", relations[i % 3], "在住", None, tags[i % 10] or None, None, None, None,
            ("是" if rental else "否") if first else None,
            "房东" if rental and first else None, f"137{household:08d}" if rental and first else None,
            None, None,
        ])
    workbook.save(path)


def remove_places() -> None:
    """Everything this bench created: people, imports and their audit events, places, user."""
    from xiuhua.places.models import OrgUnit

    for street in OrgUnit.objects.filter(code=STREET_CODE):
        _remove_street(street)
    # An earlier version of this bench made its own city.
    for city in OrgUnit.objects.filter(kind="city", name="上海市(压测)"):
        descendants = OrgUnit.objects.filter(path__startswith=city.path)
        descendants.update(committee=None)
        for unit in descendants.order_by("-path"):
            unit.delete()


def _remove_street(street) -> None:
    from django.db.models import Q

    from xiuhua.accounts.models import User
    from xiuhua.core.models import AuditEvent
    from xiuhua.places.models import OrgUnit
    from xiuhua.residents.models import RosterImport

    units = OrgUnit.objects.filter(path__startswith=street.path)
    for committee in units.filter(kind="committee"):
        reset(committee, vacuum=False)
        RosterImport.objects.filter(committee=committee).delete()
        AuditEvent.objects.filter(Q(committee=committee) | Q(actor__username="bench_roster")).delete()
    User.objects.filter(username="bench_roster").delete()
    units.update(committee=None)
    for unit in units.order_by("-path"):
        unit.delete()


def reset(committee, vacuum: bool = True) -> None:
    from django.db import connection

    from xiuhua.residents.models import Household, Resident, ResidentTag

    ResidentTag.objects.filter(committee=committee).delete()
    Resident.objects.filter(committee=committee).delete()
    Household.objects.filter(committee=committee).delete()
    if vacuum and connection.vendor == "postgresql":
        # As before a first import: no dead index entries left by the delete.
        with connection.cursor() as cursor:
            for model in (ResidentTag, Resident, Household):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="delete the bench committee's people first")
    parser.add_argument("--profile", action="store_true", help="print where the time goes (cProfile)")
    parser.add_argument("--clean", action="store_true", help="remove everything this bench created, then stop")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    from xiuhua.residents import roster
    from xiuhua.residents.models import Resident
    from xiuhua.testing import acting

    call_command("migrate", verbosity=0)
    if args.clean:
        remove_places()
        print("removed the bench's committee, people and imports")
        return
    committee, user = build_places()
    if args.fresh:
        reset(committee)
    before = Resident.objects.filter(committee=committee).count()
    actor = acting(user)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; residents before: {before}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "康城花名册.xlsx"
        started = time.perf_counter()
        write_file(path)
        print(f"wrote {ROWS} rows, {path.stat().st_size / 1e6:.1f} MB, in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        table = roster.open_table(path.read_bytes(), path.name)
        print(f"reading alone (open_table, not in the total): {time.perf_counter() - started:.2f} s, "
              f"{len(table.rows)} rows")
        del table

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        with path.open("rb") as handle:
            roster_import = roster.roster_import_upload(
                actor=actor, committee=committee, uploaded_file=File(handle, name=path.name), background=False
            )
        t1 = time.perf_counter()
        if roster_import.status != roster_import.Status.VALIDATED or roster_import.count_problem_rows:
            for problem in roster_import.problems.all()[:20]:
                print(f"  row {problem.row} [{problem.column}] {problem.message}")
            sys.exit(f"validation failed: {roster_import.status} {roster_import.error}")
        roster_import = roster.roster_import_commit(actor=actor, roster_import=roster_import, background=False)
        t2 = time.perf_counter()
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    if roster_import.status != roster_import.Status.COMMITTED:
        sys.exit(f"commit failed: {roster_import.status} {roster_import.error}")
    after = Resident.objects.filter(committee=committee).count()
    print(f"upload + parse + validate: {t1 - t0:.2f} s")
    print(f"commit:                    {t2 - t1:.2f} s")
    print(f"new={roster_import.count_new} updated={roster_import.count_updated} "
          f"unchanged={roster_import.count_unchanged} households_new={roster_import.households_new} "
          f"residents after: {after}")
    if before == ROWS and roster_import.count_unchanged != ROWS:
        sys.exit("re-import of the same file should leave every row unchanged")
    print(f"rows={ROWS} seconds={t2 - t0:.2f}")


if __name__ == "__main__":
    main()
