"""Checking rows: what the file alone can tell, plus the committee's place tree."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_noop as _
from openpyxl.utils.datetime import from_excel

from xiuhua.core.crypto import mask_identity
from xiuhua.core.idnumbers import IdNumberError, IdType, check_id, normalise
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.places.models import Grid, Kind, OrgUnit

from ..models import LivingStatus
from .columns import (
    CHOICES,
    EXAMPLE_ID_NUMBER,
    HOUSEHOLD_KEYS,
    MAX_VACCINE_DOSES,
    NO,
    REQUIRED_KEYS,
    TEXT_LIMITS,
    YES,
    building_core,
    cell_text,
    choice_index,
    choice_key,
    clean_text,
    is_example,
    normalise_room,
    problem_text,
    squash,
)

# `_` is gettext_noop here: problems keep their message untranslated, with its values apart
# (Problem.params), and are translated where they are shown (RosterProblem.text).

# Between tags: the listed punctuation or a new line (not spaces: a label may hold one).
_TAG_SPLIT = re.compile(r"[、,，;；/／|\r\n]+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?E\+?\d+")


@dataclass
class Problem:
    """One problem of one row: the column's key, the message as written in the source (its
    msgid) and the values it quotes. `column: "col"` and `choices` params name a column, shown
    by its header and its allowed values in the viewer's language (columns.problem_text)."""

    row: int
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Messages quote what was typed; an identity number typed in the wrong column is masked.
        self.message = str(self.message)
        if _LONG_NUMBER.search(self.message):
            self.message = _LONG_NUMBER.sub(lambda m: mask_identity(m.group()), self.message)
        for name, value in self.params.items():
            if isinstance(value, str) and _LONG_NUMBER.search(value):
                self.params[name] = _LONG_NUMBER.sub(lambda m: mask_identity(m.group()), value)

    @property
    def text(self) -> str:
        return problem_text(self.message, self.params)


_LONG_NUMBER = re.compile(r"\d{14,17}[\dXx]")


@dataclass
class Places:
    """The committee's compounds, buildings and grids, as staff type their names."""

    committee: OrgUnit
    compounds: dict[str, int] = field(default_factory=dict)
    buildings: dict[int, dict[str, int]] = field(default_factory=dict)
    building_cores: dict[int, dict[str, int | None]] = field(default_factory=dict)
    grids: dict[str, tuple[int, str, int | None]] = field(default_factory=dict)
    _seen: dict[tuple[int, str], int | None] = field(default_factory=dict)

    @classmethod
    def load(cls, committee: OrgUnit) -> Places:
        places = cls(committee)
        for pk, name in OrgUnit.objects.filter(parent=committee, kind=Kind.COMPOUND).values_list("pk", "name"):
            places.compounds[squash(name)] = pk
            places.buildings[pk] = {}
            places.building_cores[pk] = {}
        buildings = OrgUnit.objects.filter(parent_id__in=list(places.buildings), kind=Kind.BUILDING)
        for pk, name, parent_id in buildings.values_list("pk", "name", "parent_id"):
            places.buildings[parent_id][squash(name)] = pk
            cores = places.building_cores[parent_id]
            core = building_core(name)
            cores[core] = None if core in cores and cores[core] != pk else pk
        for pk, name, kind, parent_id in Grid.objects.filter(committee=committee).values_list(
            "pk", "name", "kind", "parent_id"
        ):
            places.grids[squash(name)] = (pk, kind, parent_id)
        return places

    def compound(self, name: str) -> int | None:
        return self.compounds.get(squash(name))

    def building(self, compound_id: int, name: str) -> int | None:
        key = (compound_id, name)
        if key not in self._seen:
            exact = self.buildings[compound_id].get(squash(name))
            self._seen[key] = exact if exact is not None else self.building_cores[compound_id].get(building_core(name))
        return self._seen[key]


class RowChecker:
    """Turns one row of cells into clean values, or problems (column, message)."""

    def __init__(self, places: Places, columns: dict[str, int]) -> None:
        self.places = places
        self.columns = columns
        self.today = timezone.localdate()
        self.choice = {key: choice_index(key) for key in CHOICES}

    def check(self, number: int, values: list) -> tuple[dict | None, list[Problem]]:
        """(clean values, problems); (None, []) for a blank row or the template's example."""
        # In the source language: the checks of core (ID numbers, phones, names) raise translated
        # messages, and a problem keeps the message's source text (see Problem).
        with translation.override(settings.LANGUAGE_CODE):
            return self._check(number, values)

    def _check(self, number: int, values: list) -> tuple[dict | None, list[Problem]]:
        problems: list[Problem] = []
        columns = self.columns
        raw: dict[str, Any] = {}
        text: dict[str, str] = {}
        width = len(values)
        blank = True
        for key, position in columns.items():
            value = values[position] if position < width else None
            raw[key] = value
            if value is None or value == "":
                text[key] = ""
            else:
                text[key] = cell = cell_text(value)
                blank = blank and not cell
        if blank:
            return None, []
        if is_example(text["name"]):
            return None, []

        def problem(key: str, message: str, **params: Any) -> None:
            problems.append(Problem(number, key, message, params))

        for key in REQUIRED_KEYS:
            if not text[key]:
                problem(key, _("请填写%(col)s"), col=key)
        out: dict[str, Any] = {"row": number}

        # Address.
        if text["compound"]:
            compound_id = self.places.compound(text["compound"])
            if compound_id is None:
                problem("compound", _("本居委会没有名为“%(name)s”的小区"), name=text["compound"])
            elif text["building"]:
                building_id = self.places.building(compound_id, text["building"])
                if building_id is None:
                    problem("building", _("小区“%(compound)s”中没有楼栋“%(name)s”(楼栋须先在地点中建立)"),
                            compound=text["compound"], name=text["building"])
                else:
                    out["compound"], out["building"] = compound_id, building_id
        if text["room"]:
            room = normalise_room(text["room"])
            if len(room) > 20:
                problem("room", _("室号过长"))
            out["room"] = room

        # Identity.
        id_type = IdType.RESIDENT_ID.value
        if "id_type" in columns and text["id_type"]:
            found = self.choice["id_type"].get(choice_key(text["id_type"]))
            if found is None:
                problem("id_type", _("未知的证件类型“%(value)s”,可填:%(choices)s"),
                        value=text["id_type"], choices="id_type")
            id_type = found or id_type
        out["id_type"] = id_type
        checked = None
        id_raw = raw["id_number"]
        if text["id_number"][:1] in ("'", "‘", "’", "`"):
            # A quote typed before the number to keep Excel from changing it.
            text["id_number"] = text["id_number"][1:]
        if isinstance(id_raw, float) or (isinstance(id_raw, str) and _SCIENTIFIC.fullmatch(normalise(id_raw))):
            problem("id_number", _("证件号码被Excel存成了数字,末尾几位已丢失;请把该列设为文本格式后重新填写"))
        elif text["id_number"]:
            try:
                checked = check_id(id_type, text["id_number"])
            except IdNumberError as exc:
                problem("id_number", str(exc))
            else:
                out["number"] = checked.number
                if checked.number == EXAMPLE_ID_NUMBER:
                    problem("id_number", _("这是模板示例行的证件号码,请填写居民本人的证件号码"))

        # Person.
        if text["name"]:
            if len(text["name"]) > TEXT_LIMITS["name"]:
                problem("name", _("姓名过长"))
            else:
                try:
                    check_person_name(text["name"])
                except ValidationError as exc:
                    problem("name", exc.messages[0])
            out["name"] = text["name"]
        # Sex and birth date: taken from the number where it holds them, and must agree with it.
        encodes = id_type in (IdType.RESIDENT_ID, IdType.RESIDENCE_PERMIT) if checked is None else bool(checked.sex)
        sex = None
        if "sex" in columns and text["sex"]:
            sex = self.choice["sex"].get(choice_key(text["sex"]))
            if sex is None:
                problem("sex", _("性别请填写“男”或“女”"))
        elif not encodes:
            problem("sex", _("请填写性别"))
        if checked is not None and checked.sex:
            if sex is not None and sex != checked.sex:
                problem("sex", _("性别与证件号码不一致"))
            sex = sex or checked.sex
        out["sex"] = sex
        birth = None
        if "birth_date" in columns and text["birth_date"]:
            birth = self._date(raw["birth_date"])
            if birth is None:
                problem("birth_date", _("日期格式不正确,请写成 1980-05-17"))
            elif birth > self.today:
                problem("birth_date", _("出生日期不能晚于今天"))
        elif not encodes:
            problem("birth_date", _("请填写出生日期"))
        if checked is not None and checked.birth_date:
            if birth is not None and birth != checked.birth_date:
                problem("birth_date", _("出生日期与证件号码不一致"))
            birth = birth or checked.birth_date
        out["birth_date"] = birth.isoformat() if birth else None

        if text["relation"]:
            relation = self.choice["relation"].get(choice_key(text["relation"]))
            if relation is None:
                problem("relation", _("未知的与户主关系“%(value)s”,可填:%(choices)s"),
                        value=text["relation"], choices="relation")
            out["relation"] = relation
        if "mobile" in columns:
            out["mobile"] = self._phone(text["mobile"], "mobile", problem)
        if "living_status" in columns:
            status = LivingStatus.HERE.value
            if text["living_status"]:
                found = self.choice["living_status"].get(choice_key(text["living_status"]))
                if found is None:
                    problem("living_status", _("未知的居住状态“%(value)s”,可填:%(choices)s"),
                            value=text["living_status"], choices="living_status")
                status = found or status
            out["living_status"] = status
            away = None
            if status == LivingStatus.AWAY:
                if "away_until" in columns and raw["away_until"] not in (None, ""):
                    away = self._date(raw["away_until"])
                    if away is None:
                        problem("away_until", _("日期格式不正确,请写成 1980-05-17"))
                else:
                    problem("away_until" if "away_until" in columns else "living_status",
                            _("外出人员须填写预计返回日期"))
            out["away_until"] = away.isoformat() if away else None
        if "tags" in columns:
            tags: set[str] = set()
            tag_text = unicodedata.normalize("NFKC", str(raw["tags"] or "")) if text["tags"] else ""
            for part in _TAG_SPLIT.split(tag_text):
                if part and not part.isspace():
                    found_tags = self._tags(part)
                    if found_tags is None:
                        problem("tags", _("未知的标签“%(value)s”,可填:%(choices)s"),
                                value=clean_text(part), choices="tags")
                    else:
                        tags.update(found_tags)
            out["tags"] = sorted(tags)
        for key in ("language", "specialty", "skills"):
            if key in columns:
                if len(text[key]) > TEXT_LIMITS[key]:
                    problem(key, _("%(col)s过长"), col=key)
                out[key] = text[key]

        # Vaccination (blank = not given: left as it is).
        if "vaccine_doses" in columns and text["vaccine_doses"]:
            doses_text = text["vaccine_doses"].removesuffix("剂")
            if doses_text.isdigit() and int(doses_text) <= MAX_VACCINE_DOSES:
                out["vaccine_doses"] = int(doses_text)
            else:
                problem("vaccine_doses", _("接种剂次请填写0到%(max)s的整数"), max=MAX_VACCINE_DOSES)
        if "vaccinated_on" in columns and text["vaccinated_on"]:
            vaccinated = self._date(raw["vaccinated_on"])
            if vaccinated is None:
                problem("vaccinated_on", _("日期格式不正确,请写成 1980-05-17"))
            elif vaccinated > self.today:
                problem("vaccinated_on", _("接种日期不能晚于今天"))
            elif out.get("vaccine_doses") == 0:
                problem("vaccinated_on", _("填写了接种日期,接种剂次不能为0"))
            else:
                out["vaccinated_on"] = vaccinated.isoformat()

        # Household (blank = not given: several rows of one household share these).
        if "is_rental" in columns and text["is_rental"]:
            flag = text["is_rental"].upper()
            if flag in YES:
                out["is_rental"] = True
            elif flag in NO:
                out["is_rental"] = False
            else:
                problem("is_rental", _("出租房请填写“是”或“否”"))
        if "landlord_name" in columns and text["landlord_name"]:
            if len(text["landlord_name"]) > TEXT_LIMITS["landlord_name"]:
                problem("landlord_name", _("房东姓名过长"))
            else:
                try:
                    check_person_name(text["landlord_name"])
                except ValidationError as exc:
                    problem("landlord_name", exc.messages[0])
            out["landlord_name"] = text["landlord_name"]
        if "landlord_phone" in columns and text["landlord_phone"]:
            out["landlord_phone"] = self._phone(text["landlord_phone"], "landlord_phone", problem)
        grid_id = None
        for key, kind in (("grid", Grid.GridKind.GRID), ("micro_grid", Grid.GridKind.MICRO)):
            if key in columns and text[key]:
                found_grid = self.places.grids.get(squash(text[key]))
                if found_grid is None or found_grid[1] != kind:
                    problem(key, _("本居委会没有名为“%(name)s”的%(col)s"), name=text[key], col=key)
                elif key == "micro_grid" and grid_id is not None and found_grid[2] != grid_id:
                    problem(key, _("微网格“%(name)s”不属于所填网格"), name=text[key])
                else:
                    out[key] = found_grid[0]
                    grid_id = found_grid[0] if key == "grid" else grid_id
        return out, problems

    def _tags(self, part: str) -> list[str] | None:
        """The tag a label names; or, for labels separated by spaces as older files have them
        ("独居老人 孕妇"), the tags they all name. None when something is not a tag."""
        index = self.choice["tags"]
        tag = index.get(choice_key(part))
        if tag is not None:
            return [tag]
        if " " in part:
            found = [index.get(choice_key(word)) for word in part.split()]
            if all(found):
                return [tag for tag in found if tag]
        return None

    def _date(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if 10_000_000 <= value <= 99_999_999:
                value = str(int(value))
            elif 0 < value < 2_958_466:
                try:
                    return from_excel(value).date()
                except (OverflowError, ValueError):
                    return None
            else:
                return None
        text = normalise(str(value)) if not isinstance(value, str) else unicodedata.normalize("NFKC", value).strip()
        try:
            if re.fullmatch(r"\d{8}", text):
                return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            match = _DATE.fullmatch(text)
            if match:
                return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
        return None

    @staticmethod
    def _phone(text: str, key: str, problem: Callable[[str, str], None]) -> str:
        if not text:
            return ""
        digits = normalise(text).replace("-", "")
        if len(digits) == 11 and digits.isascii() and digits.isdigit() and digits[0] == "1":
            # A mainland mobile: judged once per 7-digit block (号段), see _mobile_block.
            error = _mobile_block(digits[:7], translation.get_language() or "")
            if error:
                problem(key, error)
                return ""
            return digits
        try:
            return normalise_mobile(text)
        except PhoneError as exc:
            problem(key, str(exc))
            return ""


@lru_cache(maxsize=8192)
def _mobile_block(block: str, language: str) -> str:
    """normalise_mobile's verdict for an 11-digit number starting with this 7-digit block.

    Mainland numbers are allocated in 7-digit blocks and libphonenumber's CN patterns decide
    on at most the first 5 digits, so one number answers for its whole block. This takes the
    phone check of 40,000 rows from ~1.3 s to ~0.1 s.
    """
    try:
        normalise_mobile(block + "0000")
    except PhoneError as exc:
        return str(exc)
    return ""


def household_key(row: dict) -> tuple[int, str]:
    return row["building"], row["room"]


def merge_households(rows: list[dict]) -> tuple[dict[tuple[int, str], dict], list[Problem]]:
    """The household columns, taken from whichever rows of a household fill them."""
    households: dict[tuple[int, str], dict] = {}
    problems: list[Problem] = []
    for row in rows:
        key = household_key(row)
        merged = households.setdefault(key, {"first_row": row["row"], "compound": row["compound"], "given": {}})
        for attr in HOUSEHOLD_KEYS:
            if attr not in row:
                continue
            if attr in merged["given"] and merged["given"][attr][0] != row[attr]:
                problems.append(Problem(
                    row["row"], attr, _("同一户的%(col)s与第%(other)d行填写的不一致"),
                    {"col": attr, "other": merged["given"][attr][1]},
                ))
            else:
                merged["given"].setdefault(attr, (row[attr], row["row"]))
    return households, problems
