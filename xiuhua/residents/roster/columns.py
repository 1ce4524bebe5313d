"""The roster's columns, the labels and values they accept, and how typed text is normalised."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from xiuhua.core.idnumbers import IdType, make_resident_id, normalise

from ..models import LivingStatus, Relation, Sex, Tag


@dataclass(frozen=True)
class Column:
    key: str
    header: Any  # lazy translation
    required: bool
    help: Any
    width: int = 12
    text: bool = False  # formatted as text in the template so Excel keeps leading zeros


COLUMNS: tuple[Column, ...] = (
    Column("compound", gettext_lazy("小区"), True, gettext_lazy("本居委会的小区名称,须已在地点中建立"), 14),
    Column("building", gettext_lazy("楼栋"), True, gettext_lazy("楼栋名称,如 5号;须已在地点中建立"), 10),
    Column("room", gettext_lazy("室号"), True, gettext_lazy("如 302;同一楼栋同一室号为一户,不存在时自动建立"), 8, True),
    Column("name", gettext_lazy("姓名"), True, gettext_lazy("模板中的示例行不会导入"), 10),
    Column("sex", gettext_lazy("性别"), False, gettext_lazy("男/女;居民身份证可留空,按证件号码填写"), 6),
    Column("birth_date", gettext_lazy("出生日期"), False, gettext_lazy("如 1980-05-17;居民身份证可留空"), 12),
    Column("id_type", gettext_lazy("证件类型"), False, gettext_lazy("留空即居民身份证"), 12),
    Column("id_number", gettext_lazy("证件号码"), True,
           gettext_lazy("请将本列设为文本格式,以免Excel改动号码"), 22, True),
    Column("mobile", gettext_lazy("手机号"), False, gettext_lazy("11位手机号码"), 14, True),
    Column("relation", gettext_lazy("与户主关系"), True, gettext_lazy("户主、配偶、子女、父母等"), 10),
    Column("living_status", gettext_lazy("居住状态"), False, gettext_lazy("在住/外出/已迁出/已故;留空即在住"), 10),
    Column("away_until", gettext_lazy("预计返回日期"), False, gettext_lazy("居住状态为外出时必填"), 12),
    Column("tags", gettext_lazy("标签"), False, gettext_lazy("可填多个,用 、 或 , 或 ; 分隔;留空表示没有标签"), 16),
    Column("language", gettext_lazy("语言"), False, gettext_lazy("外籍人士使用的语言"), 8),
    Column("specialty", gettext_lazy("专业"), False, gettext_lazy("医务人员的专业/科室"), 10),
    Column("skills", gettext_lazy("其他技能"), False, gettext_lazy("如 维修、翻译"), 12),
    Column("is_rental", gettext_lazy("出租房"), False, gettext_lazy("是/否;同一户填一行即可,留空表示不变"), 8),
    Column("landlord_name", gettext_lazy("房东姓名"), False, gettext_lazy("出租房的房东"), 10),
    Column("landlord_phone", gettext_lazy("房东电话"), False, gettext_lazy("出租房必填"), 14, True),
    Column("grid", gettext_lazy("网格"), False, gettext_lazy("本居委会的网格名称;留空表示不变"), 10),
    Column("micro_grid", gettext_lazy("微网格"), False, gettext_lazy("本居委会的微网格名称;留空表示不变"), 12),
    Column("vaccine_doses", gettext_lazy("疫苗接种剂次"), False,
           gettext_lazy("已接种的新冠疫苗剂次,0到5;留空表示不变"), 10),
    Column("vaccinated_on", gettext_lazy("末次接种日期"), False, gettext_lazy("如 2022-04-20;留空表示不变"), 12),
)
MAX_VACCINE_DOSES = 5
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED_KEYS = frozenset(c.key for c in COLUMNS if c.required)
HOUSEHOLD_KEYS = ("is_rental", "landlord_name", "landlord_phone", "grid", "micro_grid")
TEXT_LIMITS = {"name": 50, "language": 30, "specialty": 50, "skills": 100, "landlord_name": 50}
RESIDENT_COMPARED = (
    "name", "sex", "birth_date", "mobile", "relation", "living_status", "away_until",
    "language", "specialty", "skills", "vaccine_doses", "vaccinated_on",
)

# Other spellings staff use for the same columns (Chinese rosters from other systems).
HEADER_ALIASES = {
    "身份证号": "id_number", "身份证号码": "id_number", "证件号": "id_number",
    "手机": "mobile", "手机号码": "mobile", "联系电话": "mobile", "电话": "mobile",
    "房号": "room", "门牌号": "room", "房间号": "room",
    "楼号": "building", "楼栋号": "building", "小区名称": "compound",
    "关系": "relation", "与户主的关系": "relation", "状态": "living_status",
    "出生年月日": "birth_date", "接种剂次": "vaccine_doses", "疫苗剂次": "vaccine_doses",
    "接种日期": "vaccinated_on", "末次接种时间": "vaccinated_on", "是否出租房": "is_rental", "是否出租": "is_rental",
}
CHOICE_ALIASES: dict[str, dict[str, str]] = {
    "id_type": {"身份证": IdType.RESIDENT_ID, "二代身份证": IdType.RESIDENT_ID},
    "sex": {"男性": Sex.MALE, "女性": Sex.FEMALE},
    "relation": {
        "本人": Relation.HEAD, "妻子": Relation.SPOUSE, "丈夫": Relation.SPOUSE, "妻": Relation.SPOUSE,
        "夫": Relation.SPOUSE, "儿子": Relation.CHILD, "女儿": Relation.CHILD, "子": Relation.CHILD,
        "女": Relation.CHILD, "父亲": Relation.PARENT, "母亲": Relation.PARENT,
        "孙子": Relation.GRANDCHILD, "孙女": Relation.GRANDCHILD, "外孙": Relation.GRANDCHILD,
        "外孙女": Relation.GRANDCHILD, "祖父": Relation.GRANDPARENT, "祖母": Relation.GRANDPARENT,
        "外祖父": Relation.GRANDPARENT, "外祖母": Relation.GRANDPARENT, "兄弟": Relation.SIBLING,
        "姐妹": Relation.SIBLING,
    },
    "living_status": {"在家": LivingStatus.HERE, "居住": LivingStatus.HERE, "迁出": LivingStatus.MOVED_OUT,
                      "死亡": LivingStatus.DECEASED},
}
CHOICES: dict[str, type[models.TextChoices]] = {
    "sex": Sex, "id_type": IdType, "relation": Relation, "living_status": LivingStatus, "tags": Tag,
}
YES = frozenset({"是", "Y", "YES", "1", "TRUE", "出租", "√"})
NO = frozenset({"否", "N", "NO", "0", "FALSE", "自住", "×"})
_BUILDING_SUFFIX = re.compile(r"(号楼|号|幢|栋|楼|座)$")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff·]) +(?=[\u3400-\u9fff\uf900-\ufaff·])")
_SPACES = re.compile(r"\s+")


def _languages() -> list[str]:
    codes = [settings.LANGUAGE_CODE] + [code for code, _name in settings.LANGUAGES]
    return list(dict.fromkeys(codes))


def _label_variants(label: Any) -> set[str]:
    variants = set()
    for code in _languages():
        with translation.override(code):
            variants.add(squash(str(label)))
    return variants


# The template's example row (see template.py) is never imported. It is known by its name,
# exactly as the template writes it in any of the languages; its number is valid but nobody's.
EXAMPLE_NAME = gettext_lazy("示例:张三(此行不会导入)")
EXAMPLE_ID_NUMBER = make_resident_id("110101", dt.date(1980, 5, 17), 1)


@lru_cache(maxsize=1)
def _example_names() -> frozenset[str]:
    names = set()
    for code in _languages():
        with translation.override(code):
            names.add(clean_text(str(EXAMPLE_NAME)))
    return frozenset(names)


def is_example(name: str) -> bool:
    """name (as cell_text gives it) is the name of the template's example row."""
    return name in _example_names()


@lru_cache(maxsize=1)
def header_index() -> dict[str, str]:
    index = {squash(alias): key for alias, key in HEADER_ALIASES.items()}
    for column in COLUMNS:
        for variant in _label_variants(column.header):
            index[variant] = column.key
    return index


def choice_key(text: str) -> str:
    """How a typed choice is looked up in choice_index: squashed (no spaces) and upper case."""
    return squash(text).upper()


@lru_cache(maxsize=8)
def choice_index(key: str) -> dict[str, str]:
    """choice_key(code, label in any language or alias) -> code, for one column's choices."""
    index: dict[str, str] = {}
    for value, label in CHOICES[key].choices:
        index[choice_key(value)] = value
        for variant in _label_variants(label):
            index[choice_key(variant)] = value
    for alias, value in CHOICE_ALIASES.get(key, {}).items():
        index[choice_key(alias)] = value
    return index


def choice_labels(key: str) -> str:
    return "、".join(str(label) for _value, label in CHOICES[key].choices)


def problem_text(message: str, params: dict | None) -> str:
    """A roster problem in the active language: the message (its source text) translated, then
    its values put in; a `col` value is a column key, shown as the column's header, a `choices`
    value a column whose allowed values are listed."""
    text = gettext(message)
    if not params:
        return text
    values = {}
    for name, value in params.items():
        if name == "col" and value in COLUMN_BY_KEY:
            value = str(COLUMN_BY_KEY[value].header)
        elif name == "choices" and value in CHOICES:
            value = choice_labels(value)
        values[name] = value
    try:
        return text % values
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return message % values


@lru_cache(maxsize=4096)
def squash(text: str) -> str:
    """For names that are matched, not shown: NFKC, no spaces, no required-field marks."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPACES.sub("", text).replace("*", "")
    for mark in ("(必填)", "(选填)"):
        text = text.replace(mark, "")
    return text


def clean_text(text: str) -> str:
    """Full-width to half-width, stray spaces out (none between Chinese characters)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if " " in text or "\t" in text or "\n" in text or "\u3000" in text:
        text = _SPACES.sub(" ", text)
        text = _CJK_SPACE.sub("", text)
    return text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value) if value else ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def building_core(name: str) -> str:
    """5号楼, 5号, 5幢, 5栋 -> 5: the forms staff type for one building."""
    return _BUILDING_SUFFIX.sub("", squash(name))


def normalise_room(raw: str) -> str:
    room = normalise(raw)
    return room[:-1] if room.endswith("室") and len(room) > 1 else room
