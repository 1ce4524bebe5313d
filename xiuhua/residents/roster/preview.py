"""What a validated import will do, shown before it is committed: the people it adds, what it
changes (old -> new, per field), how many it leaves alone, and households that would have several
heads or none. Built from the validation's plan; kept encrypted on the import (like its rows) and
deleted with them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from xiuhua.core.crypto import mask_identity
from xiuhua.places.models import OrgUnit, natural_key

from ..identity import identity_hash
from ..models import Household, Relation, Resident
from .columns import CHOICES, COLUMN_BY_KEY, normalise_room
from .plan import Plan

SHOWN = 200  # rows of each list kept for the page; the counts are on the import


def build_preview(rows: list[dict], plan: Plan) -> dict:
    """JSON-ready: values as stored (codes, ISO dates), translated only when shown."""
    by_row = {row["row"]: row for row in rows}
    addresses = _Addresses()
    new = []
    for row, target in plan.new_residents[:SHOWN]:
        new.append({"row": row["row"], "name": row["name"], "id": mask_identity(row["number"]),
                    "relation": row["relation"], "address": addresses.of_target(target)})
    changed = []
    for change in plan.changes[:SHOWN]:
        fields = [[name, _json_value(old), _json_value(new_value)] for name, old, new_value in change.fields]
        if change.left_household is not None:
            row = by_row[change.row]
            fields.append(["address", addresses.of_household(change.left_household),
                           addresses.of_key(row["building"], row["room"])])
        if change.tags is not None:
            fields.append(["tags", change.tags[0], change.tags[1]])
        changed.append({"row": change.row, "name": by_row[change.row]["name"], "id": change.id_masked,
                        "fields": fields})
    return {"new": new, "changed": changed, "heads": _heads(rows, plan, addresses)}


def _json_value(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _heads(rows: list[dict], plan: Plan, addresses: _Addresses) -> list[dict]:
    """Households the file writes to, or that someone in it leaves, which would have several
    heads or none once it is committed: the file's rows, plus the members it does not name."""
    file_rows: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for row in rows:
        file_rows[(row["building"], row["room"])].append(row)
    heads = {key: sum(1 for row in members if row["relation"] == Relation.HEAD) for key, members in file_rows.items()}
    left = {change.left_household for change in plan.changes if change.left_household is not None}
    buildings = {building for building, _room in file_rows}
    key_of: dict[int, tuple[int, str]] = {}
    households = Household.objects.filter(Q(building_id__in=buildings) | Q(pk__in=left))
    for pk, building, room in households.values_list("pk", "building_id", "room"):
        key = (building, normalise_room(room))
        if key in file_rows or pk in left:
            key_of[pk] = key
            heads.setdefault(key, 0)
    named = {identity_hash(row["id_type"], row["number"]) for row in rows}
    members = Resident.objects.filter(household_id__in=list(key_of)).values_list("household_id", "relation", "id_hash")
    for household_id, relation, id_hash in members:
        if id_hash not in named and relation == Relation.HEAD:
            heads[key_of[household_id]] += 1
    warnings = []
    for key, count in sorted(heads.items(), key=lambda item: (item[1] != 0, item[0][0], natural_key(item[0][1]))):
        if count != 1:
            warnings.append({"address": addresses.of_key(*key), "heads": count,
                             "rows": sorted(row["row"] for row in file_rows.get(key, []))})
    return warnings


@dataclass
class _Addresses:
    """Addresses of households and of rooms not yet created, with two queries at most."""

    buildings: dict[int, str] = field(default_factory=dict)
    households: dict[int, str] = field(default_factory=dict)

    def of_key(self, building_id: int, room: str) -> str:
        if building_id not in self.buildings:
            unit = OrgUnit.objects.select_related("parent").get(pk=building_id)
            self.buildings[building_id] = f"{unit.parent.name if unit.parent else ''}{unit.name}"
        return _("%(building)s%(room)s室") % {"building": self.buildings[building_id], "room": room}

    def of_household(self, household_id: int) -> str:
        if household_id not in self.households:
            household = Household.objects.only("building_id", "room").get(pk=household_id)
            self.households[household_id] = self.of_key(household.building_id, household.room)
        return self.households[household_id]

    def of_target(self, target: dict | int) -> str:
        if isinstance(target, int):
            return self.of_household(target)
        return self.of_key(target["building_id"], target["room"])


# Shown on the page, in the viewer's language.


def shown_value(name: str, value: object) -> str:
    if value in (None, "", []):
        return "—"
    if name == "tags" and isinstance(value, list):
        order = list(CHOICES["tags"].values)
        tags = sorted(value, key=lambda tag: order.index(tag) if tag in order else len(order))
        return "、".join(_label("tags", tag) for tag in tags)
    if name in CHOICES:
        return _label(name, str(value))
    return str(value)


def _label(name: str, code: str) -> str:
    try:
        return str(CHOICES[name](code).label)
    except ValueError:
        return code


def field_label(name: str) -> str:
    if name == "address":
        return _("地址")
    column = COLUMN_BY_KEY.get(name)
    return str(column.header) if column is not None else name


def shown_preview(preview: dict) -> dict:
    """The stored preview with labels and values in the active language."""
    return {
        "new": [entry | {"relation": shown_value("relation", entry["relation"])} for entry in preview["new"]],
        "changed": [
            entry | {"fields": [
                {"label": field_label(name), "old": shown_value(name, old), "new": shown_value(name, new)}
                for name, old, new in entry["fields"]
            ]}
            for entry in preview["changed"]
        ],
        "heads": preview["heads"],
    }
