"""Sampling codes for a whole large compound, and their label PDF.

    .venv/bin/python bench/screening_codes.py [--residents 40000] [--buildings 286] [--layout 40x30|50x30|a4]

Goal (issue 13): codes for 40,000 residents in under 5 s, their label PDF in under 60 s.

Set-up (not timed): the database is `DATABASE_URL`, else xiuhua_bench_codes on localhost (created
and migrated by _db.use_bench_database). A district 采样码压测区 with one street, one committee and
one compound (康城, as the seeds' largest) of `--buildings` buildings; households of three, the
first of each with a mobile, the others without (their codes carry the household's phone), one
in seven away; written with COPY once and reused by later runs. Each run deletes the bench's
earlier rounds and their codes, then opens a new round over the compound.

Timed: `services_codes.codes_generate` for the committee, as the committee's staff member does it
from the codes page (one transaction: the resident query, the household phones, fresh
references checked against the table, bulk INSERTs, the audit event); then the label PDF of every
building (each building's codes in room order, `labels.labels_pdf`, one PDF for the whole
compound in `--layout`). Details go to stderr; the last line is
`codes=… codes_seconds=… pdf_seconds=… pdf_mb=… layout=…`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time

from _db import bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_codes"
DISTRICT_NAME = "采样码压测区"
CODE_PREFIX = "310198001"
REGION = "310198"
PER_HOUSEHOLD = 3
FIRST_BIRTH = dt.date(1940, 1, 1)
SURNAMES = "王张陈李徐朱周沈陆顾吴杨黄赵钱孙"
GIVEN = ["秀英", "建国", "桂英", "志强", "丽华", "海燕", "国平", "美玲", "伟", "敏", "静", "磊", "芳", "军"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=40_000)
    parser.add_argument("--buildings", type=int, default=286)
    parser.add_argument("--layout", default="40x30", choices=["40x30", "50x30", "a4"])
    args = parser.parse_args()
    import os

    use_bench_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    world = build_world(args.residents, args.buildings)
    screening_round = new_round(world)

    from xiuhua.screening.services_codes import codes_generate
    from xiuhua.testing import acting

    staff = acting(world["staff"])
    t0 = time.perf_counter()
    codes = codes_generate(actor=staff, round=screening_round, committee=world["committee"])
    codes_seconds = time.perf_counter() - t0
    print(f"codes: {codes} in {codes_seconds:.2f} s", file=sys.stderr)

    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.screening.labels import LabelSheet, labels_pdf
    from xiuhua.screening.services_codes import label_codes

    t0 = time.perf_counter()
    buildings = OrgUnit.objects.filter(kind=Kind.BUILDING, parent=world["compound"]).in_natural_order()
    sheets = [LabelSheet(title=f"{world['compound'].name}{b.name}", building=b.name,
                         codes=label_codes(screening_round, b)) for b in buildings]
    pdf = labels_pdf(sheets, layout=args.layout, round_name=screening_round.name)
    pdf_seconds = time.perf_counter() - t0
    printed = sum(len(sheet.codes) for sheet in sheets)
    print(f"pdf: {printed} codes of {len(sheets)} buildings, {len(pdf) / 1e6:.1f} MB in {pdf_seconds:.1f} s",
          file=sys.stderr)
    if printed != codes:
        raise SystemExit(f"printed {printed} codes, made {codes}")
    print(f"codes={codes} codes_seconds={codes_seconds:.2f} pdf_seconds={pdf_seconds:.1f} "
          f"pdf_mb={len(pdf) / 1e6:.1f} layout={args.layout}")


def build_world(residents: int, building_count: int) -> dict:
    """The bench's compound with `residents` residents (reused when already there)."""
    from django.db import connection, transaction

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import CompoundType, Kind, OrgUnit
    from xiuhua.residents.models import Resident

    unit = bench_unit

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or unit(Kind.CITY, "上海市", None)
    district = unit(Kind.DISTRICT, DISTRICT_NAME, city)
    street = unit(Kind.STREET, "采样码压测街道", district, code=f"{CODE_PREFIX}000")
    committee = unit(Kind.COMMITTEE, "康城居委会", street, code=f"{CODE_PREFIX}001")
    compound = unit(Kind.COMPOUND, "康城", committee, compound_type=CompoundType.ENCLOSED)
    staff = User.objects.filter(username="codes_bench_staff").first()
    if staff is None:
        staff = User.objects.create_user(username="codes_bench_staff", password=None, display_name="压测居委")
        Membership.objects.create(user=staff, org_unit=committee, role=Role.COMMITTEE_STAFF)
    world = {"district": district, "street": street, "committee": committee, "compound": compound, "staff": staff}

    have = Resident.objects.filter(committee=committee).count()
    if have == residents:
        print(f"roster: reusing {have} residents", file=sys.stderr)
        return world
    t0 = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM screening_samplingcode WHERE committee_id = %s", [committee.pk])
            cursor.execute("DELETE FROM residents_residenttag WHERE committee_id = %s", [committee.pk])
            cursor.execute("DELETE FROM residents_resident WHERE committee_id = %s", [committee.pk])
            cursor.execute("DELETE FROM residents_household WHERE committee_id = %s", [committee.pk])
        buildings = [unit(Kind.BUILDING, f"{b + 1}号", compound) for b in range(building_count)]
        copy_roster(residents, buildings)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE residents_household")
        cursor.execute("VACUUM ANALYZE residents_resident")
    print(f"roster: wrote {residents} residents in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return world


def copy_roster(residents: int, buildings: list) -> None:
    """Households of three in the buildings, and their residents, by COPY."""
    from django.db import connection
    from django.utils import timezone

    from xiuhua.core.idnumbers import IdType, make_resident_id
    from xiuhua.places.models import natural_key
    from xiuhua.residents.identity import identity_fields
    from xiuhua.residents.models import LivingStatus, Relation

    now = timezone.now()
    households = math.ceil(residents / PER_HOUSEHOLD)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('residents_household', 'id')) FROM generate_series(1, %s)",
            [households])
        household_ids = [row[0] for row in cursor.fetchall()]
        first_of_building: dict[int, int] = {}
        with cursor.cursor.copy(
            "COPY residents_household (id, room, is_rental, landlord_name, landlord_phone, created_at, "
            "updated_at, building_id, committee_id, compound_id, room_sort) FROM STDIN"
        ) as copy:
            for h, hid in enumerate(household_ids):
                b = h * len(buildings) // households
                k = h - first_of_building.setdefault(b, h)
                room = f"{k // 2 + 1}0{k % 2 + 1}"
                building = buildings[b]
                copy.write_row((hid, room, False, "", "", now, now, building.pk, building.committee_id,
                                building.parent_id, natural_key(room)[:40]))
        with cursor.cursor.copy(
            "COPY residents_resident (name, sex, birth_date, id_type, id_encrypted, id_hash, id_masked, "
            "id_last4, mobile, relation, living_status, away_until, language, specialty, skills, created_at, "
            "updated_at, committee_id, household_id) FROM STDIN"
        ) as copy:
            for i in range(residents):
                h = i // PER_HOUSEHOLD
                birth = FIRST_BIRTH + dt.timedelta(days=i // 900)
                number = make_resident_id(REGION, birth, i % 900)
                f = identity_fields(IdType.RESIDENT_ID, number)
                head = i % PER_HOUSEHOLD == 0
                copy.write_row((
                    SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES) % len(GIVEN)],
                    "M" if int(number[16]) % 2 else "F", birth, f["id_type"], f["id_encrypted"], f["id_hash"],
                    f["id_masked"], f["id_last4"], f"139{i:08d}" if head else "",
                    Relation.HEAD if head else Relation.CHILD,
                    LivingStatus.AWAY if i % 7 == 3 else LivingStatus.HERE, None, "", "", "", now, now,
                    buildings[0].committee_id, household_ids[h],
                ))


def new_round(world: dict):
    """A fresh round over the compound; the bench's earlier rounds and their codes go first."""
    from django.db import connection

    from xiuhua.core.models import AuditEvent
    from xiuhua.screening.models import RoundCompound, RoundStatus, SamplingCode, ScreeningRound

    old = ScreeningRound.objects.filter(scope=world["street"])
    SamplingCode.objects.filter(round__in=old).delete()
    AuditEvent.objects.filter(action="screening_codes_generate", committee=world["committee"]).delete()
    old.delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE screening_samplingcode")
    today = dt.date.today()
    screening_round = ScreeningRound.objects.create(
        name="康城第一轮全员核酸筛查", scope=world["street"], first_day=today, last_day=today,
        status=RoundStatus.DRAFT, created_by=world["staff"])
    RoundCompound.objects.create(round=screening_round, compound=world["compound"])
    return screening_round


if __name__ == "__main__":
    main()
