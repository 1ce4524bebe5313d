"""`manage.py seed_scale --residents N`: a separate district (压测区) with N residents, for
benchmarks.

Shape: ~3,300 residents per committee and ~30 committees per street, as in Shanghai; compounds
of 250-700 households; the same people generator as the demo. On PostgreSQL rows are streamed
with COPY (1,000,000 residents in a few minutes); on SQLite they go through bulk_create.

Idempotent enough: if the district already holds N residents or more, nothing is written. If it
holds fewer, it is emptied and built again (the shape depends on N).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.places.demo_data import (
    _REQUIRED,
    CITY_NAME,
    DEMO_PASSWORD,
    WRITE_ORDER,
    AccountSpec,
    Builder,
    BulkSink,
    CompoundPlan,
    PeopleFactory,
    Sink,
    accounts_table,
    cn_number,
    column_defaults,
    ensure_accounts,
    get_or_create_unit,
)
from xiuhua.places.models import CompoundType, Grid, Kind, OrgUnit
from xiuhua.residents.models import Household, Resident, ResidentTag

SCALE_SEED = 20220401  # the day Shanghai's city-wide screening began
DISTRICT_NAME = "压测区"
CODE_PREFIX = "310199"  # a county code Shanghai does not use, so codes never clash
RESIDENTS_PER_COMMITTEE = 3300
COMMITTEES_PER_STREET = 30

_ROADS = [
    "东明路", "金杨新村", "潍坊新村", "塘桥", "上钢新村", "南码头路", "沪东新村", "洋泾", "花木",
    "周家渡", "陆家嘴", "浦兴路", "长白新村", "延吉新村", "殷行", "控江路", "四平路", "江浦路",
    "平凉路", "定海路", "大桥", "五角场", "新江湾城", "曲阳路", "欧阳路", "凉城新村", "广中路",
    "嘉兴路", "北站", "四川北路", "天目西路", "芷江西路", "彭浦新村", "临汾路", "共和新路",
    "大宁路", "宝山路", "芙蓉江路", "仙霞新村", "虹桥",
]
_WORDS = [
    "金桥", "阳光", "东方", "锦绣", "明月", "春江", "绿洲", "翠湖", "嘉和", "华庭", "宝华", "海棠",
    "兰亭", "丽都", "新华", "和平", "幸福", "康乐", "永安", "长乐", "安居", "玉兰", "紫荆", "松园",
    "枫林", "桂花", "梅园", "雅苑", "星河", "龙华", "泰和", "瑞金", "复兴", "建设", "光明", "友谊",
    "民主", "团结", "胜利", "育才",
]
_SUFFIXES = ["一村", "二村", "三村", "新村", "花苑", "小区", "家园", "公寓", "苑", "坊", "新城", "雅居"]


class CopySink(Sink):
    """Streams rows into PostgreSQL with psycopg 3's COPY, inside the current transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.columns = {model: column_defaults(model, self.now) for model in WRITE_ORDER}

    def write(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        columns = self.columns[model]
        missing = [att for _col, att, default in columns if default is _REQUIRED and att not in rows[0]]
        if missing:
            raise CommandError(f"{model.__name__}: no value for required field(s) {missing}")
        names = ", ".join(connection.ops.quote_name(col) for col, _att, _default in columns)
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
        connection.ensure_connection()
        raw = connection.connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row.get(att, default) for _col, att, default in columns])


def compound_plans(rng: random.Random) -> Iterator[CompoundPlan]:
    """Endless compounds for one committee, with names unique within it."""
    used: set[str] = set()
    while True:
        name = rng.choice(_WORDS) + rng.choice(_SUFFIXES)
        if name in used:
            continue
        used.add(name)
        roll = rng.random()
        kind = (CompoundType.MILITARY if roll < 0.04 else CompoundType.OPEN if roll < 0.12
                else CompoundType.ENCLOSED)
        yield CompoundPlan(name, kind, rng.randint(250, 700), "幢" if rng.random() < 0.15 else "号",
                           towers=rng.randint(3, 10) if rng.random() < 0.2 else 0)


def scale_shape(residents: int) -> tuple[int, int]:
    """(streets, committees) for this many residents."""
    committees = max(1, round(residents / RESIDENTS_PER_COMMITTEE))
    return math.ceil(committees / COMMITTEES_PER_STREET), committees


def scale_district() -> OrgUnit | None:
    city = OrgUnit.objects.filter(kind=Kind.CITY, name=CITY_NAME).first()
    if city is None:
        return None
    return OrgUnit.objects.filter(kind=Kind.DISTRICT, name=DISTRICT_NAME, parent=city).first()


def residents_in(unit: OrgUnit) -> int:
    committees = OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path)
    return Resident.objects.filter(committee__in=committees.values("pk")).count()


def empty_district(district: OrgUnit) -> None:
    """Delete everything under the district with plain SQL (the ORM's collector would load a
    million rows). Rows of other apps that point here make it fail, on purpose."""
    q = connection.ops.quote_name
    units = f"SELECT id FROM {q(OrgUnit._meta.db_table)} WHERE path LIKE %s AND id <> %s"
    committees = units + " AND kind = 'committee'"
    params: list[Any] = [district.path + "%", district.pk]
    with transaction.atomic(), connection.cursor() as cursor:
        for model, column, subquery in (
            (ResidentTag, "committee_id", committees),
            (Resident, "committee_id", committees),
            (Household, "committee_id", committees),
            (Membership, "org_unit_id", units),
            (Grid, "committee_id", committees),
        ):
            cursor.execute(
                f"DELETE FROM {q(model._meta.db_table)} WHERE {q(column)} IN ({subquery})", params
            )
        # Children first, so that the self-references hold on every database.
        cursor.execute(f"SELECT id, path FROM {q(OrgUnit._meta.db_table)} WHERE path LIKE %s AND id <> %s",
                       params)
        ids = [pk for pk, _path in sorted(cursor.fetchall(), key=lambda r: -len(r[1]))]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cursor.execute(
                f"DELETE FROM {q(OrgUnit._meta.db_table)} WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )


class Command(BaseCommand):
    help = "Create a benchmark district (压测区) holding N residents (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=1_000_000)
        parser.add_argument("--rebuild", action="store_true",
                            help="empty the district and build it again even if it is big enough")
        parser.add_argument("--password", default=DEMO_PASSWORD,
                            help=f"password of new bench accounts (default {DEMO_PASSWORD})")

    def handle(self, *args, **options):
        target = options["residents"]
        if target < 1:
            raise CommandError("--residents must be at least 1")
        started = time.monotonic()
        district = scale_district()
        if district is not None:
            existing = residents_in(district)
            if existing >= target and not options["rebuild"]:
                self.stdout.write(f"{DISTRICT_NAME} already holds {existing:,} residents: nothing to do.")
                self._accounts(district, options["password"])
                return
            if existing or OrgUnit.objects.filter(parent=district).exists():
                self.stdout.write(f"{DISTRICT_NAME} holds {existing:,} residents: rebuilding it.")
                empty_district(district)
        else:
            city = get_or_create_unit(Kind.CITY, CITY_NAME, None)
            district = get_or_create_unit(Kind.DISTRICT, DISTRICT_NAME, city)

        self._build(district, target, started)
        self._vacuum()
        self._accounts(district, options["password"])
        self.stdout.write(f"Done: {target:,} residents in {time.monotonic() - started:.1f} s.")

    def _build(self, district: OrgUnit, target: int, started: float) -> None:
        n_streets, n_committees = scale_shape(target)
        copy = connection.vendor == "postgresql"
        self.stdout.write(
            f"Building {DISTRICT_NAME}: {n_streets} streets, {n_committees} committees, "
            f"{target:,} residents ({'COPY' if copy else 'bulk_create'})."
        )
        rng = random.Random(SCALE_SEED)
        sink: Sink = CopySink() if copy else BulkSink()
        builder = Builder(sink, PeopleFactory(rng, sequence_base=500))
        done = 0
        for s in range(n_streets):
            first, last = s * n_committees // n_streets, (s + 1) * n_committees // n_streets
            with transaction.atomic():
                road = _ROADS[s % len(_ROADS)] + ("" if s < len(_ROADS) else str(s // len(_ROADS) + 1))
                street = builder.unit(Kind.STREET, f"{road}街道", district,
                                      code=f"{CODE_PREFIX}{s + 1:03d}000")
                for c in range(first, last):
                    residents = target * (c + 1) // n_committees - target * c // n_committees
                    committee = builder.unit(
                        Kind.COMMITTEE, f"{road}第{cn_number(c - first + 1)}居委会", street,
                        code=f"{CODE_PREFIX}{s + 1:03d}{c - first + 1:03d}",
                    )
                    builder.committee(committee, compound_plans(rng), residents=residents)
                    sink.flush()
                    done += residents
            self.stdout.write(
                f"  street {s + 1}/{n_streets} {road}街道: {done:,} residents, "
                f"{time.monotonic() - started:.0f} s"
            )
        made = builder.counts
        self.stdout.write(
            f"Wrote {made['street']} streets, {made['committee']} committees, "
            f"{made['compound']} compounds, {made['building']} buildings, "
            f"{made['household']:,} households, {made['resident']:,} residents, "
            f"{sink.written['ResidentTag']:,} tags."
        )

    def _vacuum(self) -> None:
        """Statistics for the planner, and (outside a transaction) the visibility map that lets
        index-only scans skip the heap, as autovacuum would leave a production database."""
        if connection.vendor != "postgresql":
            return
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        started = time.monotonic()
        with connection.cursor() as cursor:
            for model in WRITE_ORDER:
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        self.stdout.write(f"{command}: {time.monotonic() - started:.1f} s")

    def _accounts(self, district: OrgUnit, password: str) -> None:
        street = OrgUnit.objects.filter(parent=district, kind=Kind.STREET).order_by("code").first()
        if street is None:
            return
        committee = OrgUnit.objects.filter(parent=street, kind=Kind.COMMITTEE).order_by("code").first()
        specs = [AccountSpec("scale_street", "压测街道", Role.STREET_OFFICER, street)]
        if committee is not None:
            specs.append(AccountSpec("scale_committee", "压测居委", Role.COMMITTEE_STAFF, committee))
        self.stdout.write(accounts_table(ensure_accounts(specs, password)))
