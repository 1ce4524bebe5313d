"""Planning checked rows against the database, and writing the plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from xiuhua.places.models import OrgUnit, natural_key

from ..identity import identity_fields, identity_hash
from ..models import Household, LivingStatus, Resident, ResidentTag
from .checks import Problem, household_key, merge_households
from .columns import RESIDENT_COMPARED, normalise_room

LOOKUP_CHUNK = 900
BATCH_SIZE = 1000


# Also what resident_create and resident_update say; saying it is audited (roster services).
ELSEWHERE_MESSAGE = gettext_noop("该证件号码已在其他居委会登记,请联系街道核实")
ELSEWHERE = gettext_lazy(ELSEWHERE_MESSAGE)
# The roster's own check says the same for a row that gives both (checks.py).
VACCINE_DAY_WITHOUT_DOSES = gettext_noop("填写了接种日期,接种剂次不能为0")


@dataclass
class Change:
    row: int
    resident_id: int
    id_masked: str
    fields: list[tuple[str, object, object]]
    left_household: int | None
    tags: tuple[list[str], list[str]] | None


@dataclass
class Plan:
    problems: list[Problem] = field(default_factory=list)
    # New rows are dicts of column values (see _insert); their "id" is set once written.
    new_households: list[dict] = field(default_factory=list)
    changed_households: list[Household] = field(default_factory=list)
    new_residents: list[tuple[dict, dict | int]] = field(default_factory=list)
    changed_residents: list[tuple[Resident, dict | int]] = field(default_factory=list)
    tags_to_add: list[tuple[dict | int, str]] = field(default_factory=list)
    tags_to_remove: list[tuple[int, str]] = field(default_factory=list)
    count_new: int = 0
    count_updated: int = 0
    count_unchanged: int = 0
    count_elsewhere: int = 0  # numbers registered in another committee (each told so: audited)
    # For the preview (roster.preview): each updated resident's row number, id, the fields that
    # change as (name, old, new), the household it leaves (or None) and the tags before and after
    # (or None when they stay).
    changes: list[Change] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "new": self.count_new, "updated": self.count_updated, "unchanged": self.count_unchanged,
            "households_new": len(self.new_households), "households_updated": len(self.changed_households),
        }


def chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_EXISTING_FIELDS = ("pk", "id_hash", "committee_id", "household_id", "id_masked") + RESIDENT_COMPARED
_HOUSEHOLD_FIELDS = ("pk", "building_id", "room", "is_rental", "landlord_name", "landlord_phone", "grid_id",
                     "micro_grid_id")


_DATE_FIELDS = ("birth_date", "away_until", "vaccinated_on")


def _as_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def plan_rows(committee: OrgUnit, rows: list[dict], *, check_elsewhere: bool = True) -> Plan:
    """What committing these (already checked) rows would do to the database as it is now.

    The committee's residents, households and tags are read with one query each; numbers not
    found there are looked up city-wide in chunks (check_elsewhere), to refuse another
    committee's residents. At commit that lookup is left to the unique index on id_hash.
    """
    plan = Plan()
    hashes = [identity_hash(row["id_type"], row["number"]) for row in rows]
    mine = {
        values[1]: values
        for values in Resident.objects.filter(committee=committee).values_list(*_EXISTING_FIELDS)
    }
    elsewhere: set[str] = set()
    if check_elsewhere:
        # Sorted, each chunk reads one stretch of the id_hash index: half the time for 40,000.
        unknown = sorted(h for h in hashes if h not in mine)
        for chunk in chunks(unknown):
            elsewhere.update(Resident.objects.filter(id_hash__in=chunk).values_list("id_hash", flat=True))
    current_tags: dict[int, set[str]] = {}
    if any("tags" in row for row in rows):
        for resident_id, tag in ResidentTag.objects.filter(committee=committee).values_list("resident_id", "tag"):
            current_tags.setdefault(resident_id, set()).add(tag)
    households: dict[tuple[int, str], tuple] = {}
    for values in Household.objects.filter(committee=committee).values_list(*_HOUSEHOLD_FIELDS):
        key = (values[1], normalise_room(values[2]))
        if key not in households or values[2] == key[1]:
            households[key] = values

    now = timezone.now()
    merged, _problems = merge_households(rows)
    targets: dict[tuple[int, str], dict | int] = {}
    for key, info in merged.items():
        given = {attr: value for attr, (value, _row) in info["given"].items()}
        current = households.get(key)
        if current is None:
            household = {
                "building_id": key[0], "room": key[1], "room_sort": natural_key(key[1])[:40],
                "compound_id": info["compound"],
                "committee_id": committee.pk, "is_rental": given.get("is_rental", False),
                "landlord_name": given.get("landlord_name", ""), "landlord_phone": given.get("landlord_phone", ""),
                "grid_id": given.get("grid"), "micro_grid_id": given.get("micro_grid"),
                "created_at": now, "updated_at": now,
            }
            plan.new_households.append(household)
            targets[key] = household
            final_rental, final_phone = household["is_rental"], household["landlord_phone"]
        else:
            now_values = dict(zip(_HOUSEHOLD_FIELDS, current, strict=True))
            wanted = {
                "is_rental": given.get("is_rental", now_values["is_rental"]),
                "landlord_name": given.get("landlord_name", now_values["landlord_name"]),
                "landlord_phone": given.get("landlord_phone", now_values["landlord_phone"]),
                "grid_id": given.get("grid", now_values["grid_id"]),
                "micro_grid_id": given.get("micro_grid", now_values["micro_grid_id"]),
            }
            if any(now_values[name] != value for name, value in wanted.items()):
                plan.changed_households.append(Household(pk=current[0], updated_at=now, **wanted))
            targets[key] = current[0]
            final_rental, final_phone = wanted["is_rental"], wanted["landlord_phone"]
        if final_rental and not final_phone:
            plan.problems.append(Problem(info["first_row"], "landlord_phone", gettext_noop("出租房须填写房东联系电话")))

    for row, id_hash in zip(rows, hashes, strict=True):
        target = targets[household_key(row)]
        found = mine.get(id_hash)
        if found is None:
            if id_hash in elsewhere:
                plan.count_elsewhere += 1
                plan.problems.append(Problem(row["row"], "id_number", ELSEWHERE_MESSAGE))
                continue
            if row.get("vaccinated_on") and not row.get("vaccine_doses"):
                plan.problems.append(Problem(row["row"], "vaccinated_on", VACCINE_DAY_WITHOUT_DOSES))
            plan.new_residents.append((row, target))
            plan.count_new += 1
            for tag in row.get("tags", ()):
                plan.tags_to_add.append((row, tag))
            continue
        resident_id = found[0]
        now_values = dict(zip(_EXISTING_FIELDS, found, strict=True))
        wanted = {name: now_values[name] for name in RESIDENT_COMPARED}
        for name in RESIDENT_COMPARED:
            if name in row:
                wanted[name] = _as_date(row[name]) if name in _DATE_FIELDS else row[name]
        if wanted.get("living_status") != LivingStatus.AWAY:
            wanted["away_until"] = None
        if wanted["vaccinated_on"] and not wanted["vaccine_doses"] and (
                "vaccinated_on" in row or "vaccine_doses" in row):
            plan.problems.append(Problem(row["row"], "vaccinated_on", VACCINE_DAY_WITHOUT_DOSES))
        changed = any(now_values[name] != wanted[name] for name in RESIDENT_COMPARED)
        moved = target != now_values["household_id"]
        if changed or moved:
            resident = Resident(pk=resident_id, committee_id=committee.pk, updated_at=now, **wanted)
            resident.household_id = now_values["household_id"]
            plan.changed_residents.append((resident, target))
        tag_changed = False
        if "tags" in row:
            have, want = current_tags.get(resident_id, set()), set(row["tags"])
            plan.tags_to_add.extend((resident_id, tag) for tag in sorted(want - have))
            plan.tags_to_remove.extend((resident_id, tag) for tag in sorted(have - want))
            tag_changed = have != want
        if changed or moved or tag_changed:
            plan.count_updated += 1
            plan.changes.append(Change(
                row=row["row"], resident_id=resident_id, id_masked=now_values["id_masked"],
                fields=[(name, now_values[name], wanted[name]) for name in RESIDENT_COMPARED
                        if now_values[name] != wanted[name]],
                left_household=now_values["household_id"] if moved else None,
                tags=(sorted(have), sorted(want)) if tag_changed else None,
            ))
        else:
            plan.count_unchanged += 1
    plan.problems.sort(key=lambda p: p.row)
    return plan


def registered_elsewhere(committee: OrgUnit, rows: list[dict]) -> list[Problem]:
    """For rows that have other problems: is the number already another committee's?"""
    by_hash = {identity_hash(row["id_type"], row["number"]): row["row"] for row in rows}
    problems = []
    for chunk in chunks(sorted(by_hash)):
        found = Resident.objects.filter(id_hash__in=chunk).exclude(committee=committee)
        for id_hash in found.values_list("id_hash", flat=True):
            problems.append(Problem(by_hash[id_hash], "id_number", ELSEWHERE_MESSAGE))
    return problems


def _insert(model: type[models.Model], columns: list[str], rows: Iterable[dict], count: int) -> None:
    """Insert rows (dicts of column values); each row's "id" is set to its new primary key.

    bulk_create in batches; on PostgreSQL, COPY with ids drawn from the table's sequence in one
    query: twice as fast for 40,000 residents, and the rows are built while the server is
    already writing the ones before (see bench/roster_import.py).
    """
    if not count:
        return
    if connection.vendor != "postgresql":
        batch: list[tuple[dict, models.Model]] = []
        for values in rows:
            batch.append((values, model(**{c: values[c] for c in columns})))
            if len(batch) >= BATCH_SIZE:
                _bulk_create(model, batch)
                batch = []
        _bulk_create(model, batch)
        return
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [table, count])
        ids = [pk for (pk,) in cursor.fetchall()]
        statement = f"COPY {quote(table)} (id, {', '.join(quote(c) for c in columns)}) FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for pk, values in zip(ids, rows, strict=True):
                values["id"] = pk
                copy.write_row([pk, *(values[c] for c in columns)])


def _bulk_create(model: type[models.Model], batch: list[tuple[dict, models.Model]]) -> None:
    if batch:
        model._default_manager.bulk_create([obj for _values, obj in batch])
        for values, obj in batch:
            values["id"] = obj.pk


_HOUSEHOLD_COLUMNS = ["building_id", "room", "room_sort", "compound_id", "committee_id", "is_rental", "landlord_name",
                      "landlord_phone", "grid_id", "micro_grid_id", "created_at", "updated_at"]
_RESIDENT_COLUMNS = ["household_id", "committee_id", "name", "sex", "birth_date", "id_type", "id_encrypted",
                     "id_hash", "id_masked", "id_last4", "mobile", "relation", "living_status", "away_until",
                     "language", "specialty", "skills", "vaccine_doses", "vaccinated_on", "created_at",
                     "updated_at"]


def _household_id(target: dict | int) -> int:
    return target if isinstance(target, int) else target["id"]


def write_plan(committee: OrgUnit, plan: Plan) -> None:
    now = timezone.now()
    _insert(Household, _HOUSEHOLD_COLUMNS, plan.new_households, len(plan.new_households))
    if plan.changed_households:
        Household.objects.bulk_update(
            plan.changed_households,
            ["is_rental", "landlord_name", "landlord_phone", "grid", "micro_grid", "updated_at"],
            batch_size=BATCH_SIZE // 2,
        )

    def new_residents() -> Iterator[dict]:
        for row, target in plan.new_residents:
            fields = identity_fields(row["id_type"], row["number"])
            values = {
                "household_id": _household_id(target), "committee_id": committee.pk, "name": row["name"],
                "sex": row["sex"], "birth_date": _as_date(row["birth_date"]), "mobile": row.get("mobile", ""),
                "relation": row["relation"], "living_status": row.get("living_status", LivingStatus.HERE),
                "away_until": _as_date(row.get("away_until")), "language": row.get("language", ""),
                "specialty": row.get("specialty", ""), "skills": row.get("skills", ""),
                "vaccine_doses": row.get("vaccine_doses", 0), "vaccinated_on": _as_date(row.get("vaccinated_on")),
                "created_at": now, "updated_at": now, **fields,
            }
            row["_resident"] = values
            yield values

    _insert(Resident, _RESIDENT_COLUMNS, new_residents(), len(plan.new_residents))
    if plan.changed_residents:
        for resident, target in plan.changed_residents:
            resident.household_id = _household_id(target)
        Resident.objects.bulk_update(
            [resident for resident, _target in plan.changed_residents],
            list(RESIDENT_COMPARED) + ["household", "updated_at"], batch_size=BATCH_SIZE // 2,
        )
    by_tag: dict[str, list[int]] = {}
    for resident_id, tag in plan.tags_to_remove:
        by_tag.setdefault(tag, []).append(resident_id)
    for tag, ids in by_tag.items():
        for chunk in chunks(ids):
            ResidentTag.objects.filter(tag=tag, resident_id__in=chunk).delete()
    tags = [
        {"resident_id": who if isinstance(who, int) else who["_resident"]["id"], "tag": tag,
         "committee_id": committee.pk}
        for who, tag in plan.tags_to_add
    ]
    _insert(ResidentTag, ["resident_id", "tag", "committee_id"], tags, len(tags))
