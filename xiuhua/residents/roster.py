"""Roster (花名册) import and export: the services behind the roster pages and commands.

An import goes: upload (the file is checked for shape and kept encrypted) -> validate (every
row is read, normalised and checked; problems are stored per row, counts computed, and the
normalised rows kept encrypted) -> commit (all or nothing, in one transaction, refused while
any row has a problem). Large files are validated and committed by the task worker
(xiuhua.residents.tasks); the page polls `rows_done` / `rows_total`.

Reading xlsx: openpyxl reads the package (manifest, workbook, sheets, styles). The two big
parts, the shared strings and the worksheet rows, are read here, following openpyxl's rules for
cell types: openpyxl's own cell reader takes ~8 s for 40,000 rows on the target machine (see
bench/roster_import.py). The plain XML that Excel, WPS and openpyxl write is read with a
regular expression (~0.5 s), checked to have matched every cell; anything else with expat
(~1.7 s).
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import html
import io
import itertools
import json
import logging
import os
import re
import secrets
import unicodedata
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.constants import SHARED_STRINGS

from xiuhua.accounts.roles import Cap
from xiuhua.core.audit import audit
from xiuhua.core.crypto import decrypt_text, encrypt_text, mask_identity, mask_phone
from xiuhua.core.idnumbers import IdNumberError, IdType, check_id, make_resident_id, normalise
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Grid, Kind, OrgUnit

from .identity import identity_fields, identity_hash
from .models import (
    Household,
    LivingStatus,
    Relation,
    Resident,
    ResidentTag,
    RosterExport,
    RosterImport,
    RosterProblem,
    Sex,
    Tag,
)
from .selectors import resident_search

logger = logging.getLogger(__name__)

Status = RosterImport.Status

# Files of fewer rows than this are validated and committed inside the request.
INLINE_MAX_ROWS = 2000
# Exports of more rows than this are produced by the worker and downloaded later.
EXPORT_INLINE_MAX_ROWS = 5000
MAX_ROWS = 100_000
# A zip that unpacks to more than this is refused (zip bombs); 40,000 rows unpack to ~40 MB.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
LOOKUP_CHUNK = 900
BATCH_SIZE = 1000
PROGRESS_EVERY = 1000


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --------------------------------------------------------------------------------------------
# Columns and the values they accept
# --------------------------------------------------------------------------------------------


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
    Column("name", gettext_lazy("姓名"), True, gettext_lazy("以“示例”开头的行不会导入"), 10),
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
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED_KEYS = frozenset(c.key for c in COLUMNS if c.required)
HOUSEHOLD_KEYS = ("is_rental", "landlord_name", "landlord_phone", "grid", "micro_grid")
TEXT_LIMITS = {"name": 50, "language": 30, "specialty": 50, "skills": 100, "landlord_name": 50}
RESIDENT_COMPARED = (
    "name", "sex", "birth_date", "mobile", "relation", "living_status", "away_until",
    "language", "specialty", "skills",
)

# Other spellings staff use for the same columns (Chinese rosters from other systems).
HEADER_ALIASES = {
    "身份证号": "id_number", "身份证号码": "id_number", "证件号": "id_number",
    "手机": "mobile", "手机号码": "mobile", "联系电话": "mobile", "电话": "mobile",
    "房号": "room", "门牌号": "room", "房间号": "room",
    "楼号": "building", "楼栋号": "building", "小区名称": "compound",
    "关系": "relation", "与户主的关系": "relation", "状态": "living_status",
    "出生年月日": "birth_date", "是否出租房": "is_rental", "是否出租": "is_rental",
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
_TAG_SPLIT = re.compile(r"[、,，;；/／|\s]+")
_BUILDING_SUFFIX = re.compile(r"(号楼|号|幢|栋|楼|座)$")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff·]) +(?=[\u3400-\u9fff\uf900-\ufaff·])")
_SPACES = re.compile(r"\s+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?E\+?\d+")


def _languages() -> list[str]:
    codes = [settings.LANGUAGE_CODE] + [code for code, _name in settings.LANGUAGES]
    return list(dict.fromkeys(codes))


def _label_variants(label: Any) -> set[str]:
    variants = set()
    for code in _languages():
        with translation.override(code):
            variants.add(_squash(str(label)))
    return variants


# The template's example row starts its name with this mark and is never imported.
EXAMPLE_MARK = gettext_lazy("示例")


@lru_cache(maxsize=1)
def _example_marks() -> tuple[str, ...]:
    return tuple(_label_variants(EXAMPLE_MARK))


def _is_example(name: str) -> bool:
    return name.replace(" ", "").startswith(_example_marks())


@lru_cache(maxsize=1)
def _header_index() -> dict[str, str]:
    index = {_squash(alias): key for alias, key in HEADER_ALIASES.items()}
    for column in COLUMNS:
        for variant in _label_variants(column.header):
            index[variant] = column.key
    return index


@lru_cache(maxsize=8)
def _choice_index(key: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for value, label in CHOICES[key].choices:
        index[value.upper()] = value
        for variant in _label_variants(label):
            index[variant.upper()] = value
    for alias, value in CHOICE_ALIASES.get(key, {}).items():
        index[alias.upper()] = value
    return index


def _choice_labels(key: str) -> str:
    return "、".join(str(label) for _value, label in CHOICES[key].choices)


@lru_cache(maxsize=4096)
def _squash(text: str) -> str:
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


def _cell_text(value: Any) -> str:
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
    return _BUILDING_SUFFIX.sub("", _squash(name))


def normalise_room(raw: str) -> str:
    room = normalise(raw)
    return room[:-1] if room.endswith("室") and len(room) > 1 else room


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


class RosterFileError(ValidationError):
    """The file cannot be used at all (type, size, shape); the message is for the user."""


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_TAG_C, _TAG_V, _TAG_T = _NS + "c", _NS + "v", _NS + "t"
_TAG_ROW, _TAG_SI, _TAG_RPH, _TAG_DIM = _NS + "row", _NS + "si", _NS + "rPh", _NS + "dimension"
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def _expat() -> Any:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    return parser


_FAST_STRING = re.compile(r'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_FAST_CELL = re.compile(
    r'<c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?(?: t="([a-zA-Z]+)")?'
    r'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)</c>)'
)
_DIMENSION = re.compile(r'<dimension ref="[A-Z]*\d+:?[A-Z]*(\d*)"')
FAST_LIMIT = 128 * 1024 * 1024


class _NotPlain(Exception):
    """The XML is not in the plain form the regular expressions read; expat takes over."""


def _xml_text(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    return _unescape(text)


def _read_shared_strings(archive: zipfile.ZipFile, path: str) -> list[str]:
    """The shared strings; the plain form Excel writes is read with one regular expression."""
    if archive.getinfo(path).file_size <= FAST_LIMIT:
        try:
            text = archive.read(path).decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        found = _FAST_STRING.findall(text)
        if found and len(found) == text.count("<si>") + text.count("<si "):
            return [_xml_text(value) for value in found]
    strings: list[str] = []
    parts: list[str] = []
    state = {"text": False, "phonetic": 0}

    def start(name, attrs):
        if name == _TAG_T:
            state["text"] = not state["phonetic"]
        elif name == _TAG_SI:
            parts.clear()
        elif name == _TAG_RPH:
            state["phonetic"] += 1

    def end(name):
        if name == _TAG_T:
            state["text"] = False
        elif name == _TAG_SI:
            strings.append(_unescape("".join(parts)))
        elif name == _TAG_RPH:
            state["phonetic"] -= 1

    def data(text):
        if state["text"]:
            parts.append(text)

    parser = _expat()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = data
    with archive.open(path) as source:
        parser.ParseFile(source)
    return strings


_COLUMN_INDEX: dict[str, int] = {}


def _column_index(letters: str) -> int:
    index = _COLUMN_INDEX.get(letters)
    if index is None:
        index = 0
        for char in letters:
            index = index * 26 + (ord(char) - 64)
        index -= 1
        _COLUMN_INDEX[letters] = index
    return index


class _SheetRows:
    """Rows of one worksheet as (row number, [values]), in order, blank rows left out.

    Values follow openpyxl's reading with data_only=True: shared and inline strings as str,
    numbers as int/float, date-formatted numbers as datetime, booleans as bool, formulas as
    their cached value. The plain XML that Excel, WPS and openpyxl write is read with one
    regular expression per 1 MB of rows (~0.4 s for 40,000 rows); anything else (prefixed
    tags, formulas, rich text) with expat (~1.7 s), from the row where the plain form ended.
    """

    def __init__(self, archive: zipfile.ZipFile, path: str, strings: list[str],
                 date_styles: set[int], epoch: dt.datetime) -> None:
        self.archive, self.path, self.strings = archive, path, strings
        self.date_styles, self.epoch = date_styles, epoch
        self.dimension_rows: int | None = None

    def _value(self, kind: str | None, text: str, style: str | None) -> Any:
        if kind == "s":
            return self.strings[int(text)] if text else None
        if kind in ("inlineStr", "str", "e"):
            return _unescape(text)
        if kind == "b":
            return text == "1" if text else None
        if kind == "d":
            return from_ISO8601(text) if text else None
        if not text:
            return None
        value: Any = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
        if style and int(style) in self.date_styles:
            with contextlib.suppress(OverflowError, ValueError):
                value = from_excel(value, self.epoch)
        return value

    def __iter__(self) -> Iterator[tuple[int, list]]:
        last = 0
        if self.archive.getinfo(self.path).file_size <= FAST_LIMIT:
            try:
                for item in self._plain_rows():
                    last = item[0]
                    yield item
                return
            except _NotPlain:
                pass
        for item in self._expat_rows():
            if item[0] > last:
                yield item

    def head(self, count: int) -> list[tuple[int, list]]:
        """The first rows, read without going through the whole sheet."""
        rows: list[tuple[int, list]] = []
        for item in self._expat_rows():
            rows.append(item)
            if len(rows) >= count:
                break
        return rows

    def _plain_rows(self) -> Iterator[tuple[int, list]]:
        try:
            text = self.archive.read(self.path).decode("utf-8")
        except UnicodeDecodeError:
            raise _NotPlain from None
        begin = text.find("<sheetData")
        if begin < 0:
            raise _NotPlain
        dimension = _DIMENSION.search(text, 0, begin)
        if dimension and dimension.group(1):
            self.dimension_rows = int(dimension.group(1))
        end = text.find("</sheetData>", begin)
        end = len(text) if end < 0 else end
        value, strings, columns = self._value, self.strings, _COLUMN_INDEX
        while begin < end:
            stop = text.find("</row>", min(begin + (1 << 20), end))
            stop = end if stop < 0 or stop > end else stop + 6
            chunk = text[begin:stop]
            begin = stop
            cells = _FAST_CELL.findall(chunk)
            if len(cells) != chunk.count("<c ") + chunk.count("<c>") or (not cells and "<c" in chunk):
                raise _NotPlain
            row_key = ""
            row_number = 0
            values: list = []
            for letters, number, style, kind, v, t in cells:
                if kind == "inlineStr":
                    if not t:
                        continue
                    cell = t if "&" not in t and "_x" not in t else _xml_text(t)
                elif kind == "s":
                    if not v:
                        continue
                    cell = strings[int(v)]
                else:
                    if not v:
                        continue
                    cell = value(kind or None, v, style)
                if cell is None or cell == "":
                    continue
                if number != row_key:
                    if values:
                        yield row_number, values
                    row_key, row_number, values = number, int(number), []
                col = columns.get(letters)
                if col is None:
                    col = _column_index(letters)
                if col >= len(values):
                    values.extend([None] * (col + 1 - len(values)))
                values[col] = cell
            if values:
                yield row_number, values

    def _expat_rows(self) -> Iterator[tuple[int, list]]:
        out: list[tuple[int, list]] = []
        cells: list = []
        parts: list[str] = []
        state: dict[str, Any] = {"row": 0, "col": -1, "type": None, "style": None, "text": False, "phonetic": 0}
        value = self._value

        def start(name, attrs):
            if name == _TAG_C:
                ref = attrs.get("r")
                state["col"] = _column_index(ref.rstrip("0123456789")) if ref else state["col"] + 1
                state["type"] = attrs.get("t")
                state["style"] = attrs.get("s")
                parts.clear()
            elif name == _TAG_V:
                state["text"] = True
            elif name == _TAG_T:
                state["text"] = not state["phonetic"]
            elif name == _TAG_RPH:
                state["phonetic"] += 1
            elif name == _TAG_ROW:
                number = attrs.get("r")
                state["row"] = int(float(number)) if number else state["row"] + 1
                state["col"] = -1
                cells.clear()
            elif name == _TAG_DIM:
                last = attrs.get("ref", "").split(":")[-1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                if last.isdigit():
                    self.dimension_rows = int(last)

        def end(name):
            if name == _TAG_C:
                cell = value(state["type"], "".join(parts), state["style"])
                col = state["col"]
                if cell is not None and cell != "":
                    if col >= len(cells):
                        cells.extend([None] * (col + 1 - len(cells)))
                    cells[col] = cell
            elif name in (_TAG_V, _TAG_T):
                state["text"] = False
            elif name == _TAG_RPH:
                state["phonetic"] -= 1
            elif name == _TAG_ROW and cells:
                out.append((state["row"], list(cells)))

        def data(text):
            if state["text"]:
                parts.append(text)

        parser = _expat()
        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.CharacterDataHandler = data
        with self.archive.open(self.path) as source:
            while True:
                chunk = source.read(1 << 16)
                parser.Parse(chunk, not chunk)
                if out:
                    yield from out
                    out.clear()
                if not chunk:
                    break


class _WorkbookReader(ExcelReader):
    """openpyxl's package reader, minus its cell reader (see the module docstring)."""

    sheets: list[tuple[str, str]]

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        self.shared_strings = []
        if part is not None:
            self.shared_strings = _read_shared_strings(self.archive, part.PartName[1:])

    def read_worksheets(self) -> None:
        self.sheets = [
            (sheet.name, rel.target)
            for sheet, rel in self.parser.find_sheets()
            if rel.target in self.valid_files and "chartsheet" not in rel.Type
        ]


@dataclass
class Table:
    """The data part of a roster file: where the columns are and an iterator of rows."""

    columns: dict[str, int]
    header_row: int
    rows: Iterator[tuple[int, list]]
    estimated_rows: int
    file_format: str


def _find_header(rows: Iterator[tuple[int, list]]) -> tuple[int, dict[str, int]] | None:
    """Look at the first ten rows for the header (a title row above it is common)."""
    index = _header_index()
    best: tuple[int, dict[str, int], list[str]] | None = None
    for count, (number, values) in enumerate(rows):
        columns: dict[str, int] = {}
        repeated: list[str] = []
        for position, value in enumerate(values):
            key = index.get(_squash(_cell_text(value)))
            if key is None:
                continue
            if key in columns:
                repeated.append(str(COLUMN_BY_KEY[key].header))
            columns.setdefault(key, position)
        if len(columns) >= 3 and (best is None or len(columns) > len(best[1])):
            best = (number, columns, repeated)
        if columns.keys() >= REQUIRED_KEYS:
            if repeated:
                raise RosterFileError(_("表头中“%(col)s”列出现了不止一次") % {"col": repeated[0]})
            return number, columns
        if count >= 9:
            break
    if best is not None:
        missing = [str(c.header) for c in COLUMNS if c.required and c.key not in best[1]]
        raise RosterFileError(_("表头缺少以下列:%(cols)s。请使用花名册模板。") % {"cols": "、".join(missing)})
    return None


def _open_xlsx(data: bytes) -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RosterFileError(_("无法读取该文件:文件已损坏或不是xlsx格式")) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise RosterFileError(_("文件解压后过大,无法读取"))
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise RosterFileError(_("该压缩文件不是Excel(xlsx)文件"))
    try:
        reader = _WorkbookReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read()
        workbook = reader.wb
        date_styles = set(workbook._date_formats)
        epoch = workbook.epoch
        sheets = [
            _SheetRows(reader.archive, path, reader.shared_strings, date_styles, epoch)
            for _name, path in reader.sheets
        ]
    except RosterFileError:
        raise
    except Exception:
        logger.info("unreadable xlsx upload", exc_info=True)
        raise RosterFileError(_("无法读取该Excel文件:文件已损坏或不是xlsx格式")) from None
    for sheet in sheets:
        try:
            head = sheet.head(10)
        except _READ_ERRORS:
            raise RosterFileError(_("无法读取该Excel文件:工作表内容已损坏")) from None
        found = _find_header(iter(head))
        if found is None:
            continue
        header_row, columns = found
        estimated = (sheet.dimension_rows or 0) - header_row
        if not sheet.dimension_rows:
            estimated = _count_rows(archive, sheet.path) - header_row
        rows = _guarded(item for item in sheet if item[0] > header_row)
        return Table(columns, header_row, rows, max(estimated, 0), "xlsx")
    raise RosterFileError(_("没有找到表头(小区、楼栋、室号、姓名、证件号码……)。请使用花名册模板。"))


def _count_rows(archive: zipfile.ZipFile, path: str) -> int:
    """Rows in a sheet that does not record its size (files written by some programs)."""
    count, tail = 0, b""
    with archive.open(path) as source:
        while chunk := source.read(1 << 20):
            data = tail + chunk  # a tag cut in two by the chunks is counted once, here
            count += data.count(b"<row ") + data.count(b"<row>")
            tail = data[-4:]
    return count


_READ_ERRORS = (xml.parsers.expat.ExpatError, ValueError, IndexError, KeyError, zipfile.BadZipFile, OSError,
                EOFError, zlib.error)


def _guarded(rows: Iterator) -> Iterator:
    try:
        yield from rows
    except _READ_ERRORS:
        raise RosterFileError(_("无法读取该Excel文件:工作表内容已损坏")) from None


def _decode_text(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:4096]:
        # UTF-8 (with or without BOM) first; Excel in China saves CSV as GBK/GB18030.
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise RosterFileError(_("无法识别文件编码,请另存为UTF-8或GBK编码的CSV文件"))


def _open_csv(data: bytes) -> Table:
    text = _decode_text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list]]:
        try:
            yield from enumerate(reader, start=1)
        except csv.Error:
            raise RosterFileError(_("CSV文件格式不正确,无法读取")) from None

    rows = numbered()
    head = []
    for item in rows:
        head.append(item)
        if len(head) >= 10:
            break
    found = _find_header(iter(head))
    if found is None:
        raise RosterFileError(_("没有找到表头(小区、楼栋、室号、姓名、证件号码……)。请使用花名册模板。"))
    header_row, columns = found
    estimated = max(text.count("\n") - header_row, 0)
    remaining = (item for item in head if item[0] > header_row)
    return Table(columns, header_row, itertools.chain(remaining, rows), estimated, "csv")


def open_table(data: bytes, filename: str) -> Table:
    """The roster table of an uploaded file, or RosterFileError with a message for the user."""
    if not data:
        raise RosterFileError(_("文件是空的"))
    suffix = Path(filename or "").suffix.lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _open_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(_("不支持旧版Excel(.xls)文件,请在Excel中另存为.xlsx或CSV后上传"))
    if suffix == ".xlsx":
        raise RosterFileError(_("无法读取该文件:文件已损坏或不是xlsx格式"))
    if suffix in (".csv", ".txt"):
        return _open_csv(data)
    raise RosterFileError(_("只能上传Excel(.xlsx)或CSV文件"))


# --------------------------------------------------------------------------------------------
# Checking rows (what the file alone can tell, plus the committee's place tree)
# --------------------------------------------------------------------------------------------


@dataclass
class Problem:
    row: int
    column: str
    message: str

    def __post_init__(self) -> None:
        # Messages quote what was typed; an identity number typed in the wrong column is masked.
        if _LONG_NUMBER.search(self.message):
            self.message = _LONG_NUMBER.sub(lambda m: mask_identity(m.group()), self.message)


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
            places.compounds[_squash(name)] = pk
            places.buildings[pk] = {}
            places.building_cores[pk] = {}
        buildings = OrgUnit.objects.filter(parent_id__in=list(places.buildings), kind=Kind.BUILDING)
        for pk, name, parent_id in buildings.values_list("pk", "name", "parent_id"):
            places.buildings[parent_id][_squash(name)] = pk
            cores = places.building_cores[parent_id]
            core = building_core(name)
            cores[core] = None if core in cores and cores[core] != pk else pk
        for pk, name, kind, parent_id in Grid.objects.filter(committee=committee).values_list(
            "pk", "name", "kind", "parent_id"
        ):
            places.grids[_squash(name)] = (pk, kind, parent_id)
        return places

    def compound(self, name: str) -> int | None:
        return self.compounds.get(_squash(name))

    def building(self, compound_id: int, name: str) -> int | None:
        key = (compound_id, name)
        if key not in self._seen:
            exact = self.buildings[compound_id].get(_squash(name))
            self._seen[key] = exact if exact is not None else self.building_cores[compound_id].get(building_core(name))
        return self._seen[key]


class RowChecker:
    """Turns one row of cells into clean values, or problems (column, message)."""

    def __init__(self, places: Places, columns: dict[str, int]) -> None:
        self.places = places
        self.columns = columns
        self.today = timezone.localdate()
        self.headers = {c.key: str(c.header) for c in COLUMNS}
        self.choice = {key: _choice_index(key) for key in CHOICES}

    def check(self, number: int, values: list) -> tuple[dict | None, list[Problem]]:
        """(clean values, problems); (None, []) for a blank row or the template's example."""
        problems: list[Problem] = []
        columns = self.columns
        raw: dict[str, Any] = {}
        text: dict[str, str] = {}
        width = len(values)
        blank = True
        for key, position in columns.items():
            value = values[position] if position < width else None
            raw[key] = value
            if value is None:
                text[key] = ""
            else:
                text[key] = cell = _cell_text(value)
                blank = blank and not cell
        if blank:
            return None, []
        if _is_example(text["name"]):
            return None, []

        def problem(key: str, message: str) -> None:
            problems.append(Problem(number, self.headers[key], message))

        for key in REQUIRED_KEYS:
            if not text[key]:
                problem(key, _("请填写%(col)s") % {"col": self.headers[key]})
        out: dict[str, Any] = {"row": number}

        # Address.
        if text["compound"]:
            compound_id = self.places.compound(text["compound"])
            if compound_id is None:
                problem("compound", _("本居委会没有名为“%(name)s”的小区") % {"name": text["compound"]})
            elif text["building"]:
                building_id = self.places.building(compound_id, text["building"])
                if building_id is None:
                    problem("building", _("小区“%(compound)s”中没有楼栋“%(name)s”(楼栋须先在地点中建立)")
                            % {"compound": text["compound"], "name": text["building"]})
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
            found = self.choice["id_type"].get(text["id_type"].upper())
            if found is None:
                problem("id_type", _("未知的证件类型“%(value)s”,可填:%(choices)s")
                        % {"value": text["id_type"], "choices": _choice_labels("id_type")})
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

        # Person.
        if text["name"]:
            if len(text["name"]) > TEXT_LIMITS["name"]:
                problem("name", _("姓名过长"))
            out["name"] = text["name"]
        # Sex and birth date: taken from the number where it holds them, and must agree with it.
        encodes = id_type in (IdType.RESIDENT_ID, IdType.RESIDENCE_PERMIT) if checked is None else bool(checked.sex)
        sex = None
        if "sex" in columns and text["sex"]:
            sex = self.choice["sex"].get(text["sex"].upper())
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
            relation = self.choice["relation"].get(text["relation"].upper())
            if relation is None:
                problem("relation", _("未知的与户主关系“%(value)s”,可填:%(choices)s")
                        % {"value": text["relation"], "choices": _choice_labels("relation")})
            out["relation"] = relation
        if "mobile" in columns:
            out["mobile"] = self._phone(text["mobile"], "mobile", problem)
        if "living_status" in columns:
            status = LivingStatus.HERE.value
            if text["living_status"]:
                found = self.choice["living_status"].get(text["living_status"].upper())
                if found is None:
                    problem("living_status", _("未知的居住状态“%(value)s”,可填:%(choices)s")
                            % {"value": text["living_status"], "choices": _choice_labels("living_status")})
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
            tags = set()
            tag_text = unicodedata.normalize("NFKC", str(raw["tags"] or "")) if text["tags"] else ""
            for part in _TAG_SPLIT.split(tag_text):
                if not part:
                    continue
                tag = self.choice["tags"].get(part.upper())
                if tag is None:
                    problem("tags", _("未知的标签“%(value)s”,可填:%(choices)s")
                            % {"value": part, "choices": _choice_labels("tags")})
                else:
                    tags.add(tag)
            out["tags"] = sorted(tags)
        for key in ("language", "specialty", "skills"):
            if key in columns:
                if len(text[key]) > TEXT_LIMITS[key]:
                    problem(key, _("%(col)s过长") % {"col": self.headers[key]})
                out[key] = text[key]

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
            out["landlord_name"] = text["landlord_name"]
        if "landlord_phone" in columns and text["landlord_phone"]:
            out["landlord_phone"] = self._phone(text["landlord_phone"], "landlord_phone", problem)
        grid_id = None
        for key, kind in (("grid", Grid.GridKind.GRID), ("micro_grid", Grid.GridKind.MICRO)):
            if key in columns and text[key]:
                found_grid = self.places.grids.get(_squash(text[key]))
                if found_grid is None or found_grid[1] != kind:
                    problem(key, _("本居委会没有名为“%(name)s”的%(col)s")
                            % {"name": text[key], "col": self.headers[key]})
                elif key == "micro_grid" and grid_id is not None and found_grid[2] != grid_id:
                    problem(key, _("微网格“%(name)s”不属于所填网格") % {"name": text[key]})
                else:
                    out[key] = found_grid[0]
                    grid_id = found_grid[0] if key == "grid" else grid_id
        return out, problems

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


def _household_key(row: dict) -> tuple[int, str]:
    return row["building"], row["room"]


def merge_households(rows: list[dict]) -> tuple[dict[tuple[int, str], dict], list[Problem]]:
    """The household columns, taken from whichever rows of a household fill them."""
    households: dict[tuple[int, str], dict] = {}
    problems: list[Problem] = []
    for row in rows:
        key = _household_key(row)
        merged = households.setdefault(key, {"first_row": row["row"], "compound": row["compound"], "given": {}})
        for attr in HOUSEHOLD_KEYS:
            if attr not in row:
                continue
            if attr in merged["given"] and merged["given"][attr][0] != row[attr]:
                problems.append(Problem(
                    row["row"], str(COLUMN_BY_KEY[attr].header),
                    _("同一户的%(col)s与第%(other)d行填写的不一致")
                    % {"col": COLUMN_BY_KEY[attr].header, "other": merged["given"][attr][1]},
                ))
            else:
                merged["given"].setdefault(attr, (row[attr], row["row"]))
    return households, problems


# --------------------------------------------------------------------------------------------
# Planning against the database, and writing
# --------------------------------------------------------------------------------------------


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

    def counts(self) -> dict[str, int]:
        return {
            "new": self.count_new, "updated": self.count_updated, "unchanged": self.count_unchanged,
            "households_new": len(self.new_households), "households_updated": len(self.changed_households),
        }


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_EXISTING_FIELDS = ("pk", "id_hash", "committee_id", "household_id") + RESIDENT_COMPARED
_HOUSEHOLD_FIELDS = ("pk", "building_id", "room", "is_rental", "landlord_name", "landlord_phone", "grid_id",
                     "micro_grid_id")


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
        for chunk in _chunks(unknown):
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
                "building_id": key[0], "room": key[1], "compound_id": info["compound"],
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
            plan.problems.append(Problem(info["first_row"], str(COLUMN_BY_KEY["landlord_phone"].header),
                                         _("出租房须填写房东联系电话")))

    for row, id_hash in zip(rows, hashes, strict=True):
        target = targets[_household_key(row)]
        found = mine.get(id_hash)
        if found is None:
            if id_hash in elsewhere:
                plan.problems.append(Problem(row["row"], str(COLUMN_BY_KEY["id_number"].header),
                                             _("该证件号码已在其他居委会登记,请联系街道核实")))
                continue
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
                wanted[name] = _as_date(row[name]) if name in ("birth_date", "away_until") else row[name]
        if wanted.get("living_status") != LivingStatus.AWAY:
            wanted["away_until"] = None
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
        else:
            plan.count_unchanged += 1
    plan.problems.sort(key=lambda p: p.row)
    return plan


def _registered_elsewhere(committee: OrgUnit, rows: list[dict]) -> list[Problem]:
    """For rows that have other problems: is the number already another committee's?"""
    by_hash = {identity_hash(row["id_type"], row["number"]): row["row"] for row in rows}
    problems = []
    for chunk in _chunks(sorted(by_hash)):
        found = Resident.objects.filter(id_hash__in=chunk).exclude(committee=committee)
        for id_hash in found.values_list("id_hash", flat=True):
            problems.append(Problem(by_hash[id_hash], str(COLUMN_BY_KEY["id_number"].header),
                                    _("该证件号码已在其他居委会登记,请联系街道核实")))
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


_HOUSEHOLD_COLUMNS = ["building_id", "room", "compound_id", "committee_id", "is_rental", "landlord_name",
                      "landlord_phone", "grid_id", "micro_grid_id", "created_at", "updated_at"]
_RESIDENT_COLUMNS = ["household_id", "committee_id", "name", "sex", "birth_date", "id_type", "id_encrypted",
                     "id_hash", "id_masked", "id_last4", "mobile", "relation", "living_status", "away_until",
                     "language", "specialty", "skills", "created_at", "updated_at"]


def _household_id(target: dict | int) -> int:
    return target if isinstance(target, int) else target["id"]


def _write(committee: OrgUnit, plan: Plan) -> None:
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
        for chunk in _chunks(ids):
            ResidentTag.objects.filter(tag=tag, resident_id__in=chunk).delete()
    tags = [
        {"resident_id": who if isinstance(who, int) else who["_resident"]["id"], "tag": tag,
         "committee_id": committee.pk}
        for who, tag in plan.tags_to_add
    ]
    _insert(ResidentTag, ["resident_id", "tag", "committee_id"], tags, len(tags))


# --------------------------------------------------------------------------------------------
# The import record: access, states, encrypted payload
# --------------------------------------------------------------------------------------------

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.UPLOADED: frozenset({Status.VALIDATING, Status.FAILED}),
    Status.VALIDATING: frozenset({Status.VALIDATED, Status.FAILED}),
    Status.VALIDATED: frozenset({Status.COMMITTING, Status.FAILED}),
    Status.COMMITTING: frozenset({Status.COMMITTED, Status.VALIDATED, Status.FAILED}),
    Status.COMMITTED: frozenset(),
    Status.FAILED: frozenset(),
}


class RosterStateError(ValidationError):
    """The import is not in a state that allows the step (already committed, has problems...)."""


def _require(actor, cap: str):
    membership = active_membership(actor)
    if membership is None or not membership.has(cap):
        raise PermissionDenied
    return membership


def check_committee_access(actor, committee: OrgUnit) -> None:
    """actor may import into committee (actor None is the system: the import_roster command)."""
    if actor is None:
        if committee.kind != Kind.COMMITTEE:
            raise PermissionDenied
        return
    membership = _require(actor, Cap.IMPORT_ROSTER)
    if (
        committee.kind != Kind.COMMITTEE
        or membership.grid_id
        or not committee.path.startswith(membership.org_unit.path)
    ):
        raise PermissionDenied


def importable_committees(user) -> QuerySet[OrgUnit]:
    membership = active_membership(user)
    if membership is None or not membership.has(Cap.IMPORT_ROSTER) or membership.grid_id:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=membership.org_unit.path).order_by("path")


def _move(roster_import: RosterImport, to: str, **changes) -> RosterImport:
    """The one way an import changes state: locked, checked against TRANSITIONS, saved."""
    with transaction.atomic():
        locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if to not in TRANSITIONS[locked.status]:
            raise RosterStateError(_("该导入当前为“%(status)s”,不能进行此操作")
                                   % {"status": locked.get_status_display()})
        locked.status = to
        for name, value in changes.items():
            setattr(locked, name, value)
        fields = {"status", *changes}
        if to in (Status.COMMITTED, Status.FAILED, Status.VALIDATED):
            locked.finished_at = timezone.now()
            fields.add("finished_at")
        locked.save(update_fields=sorted(fields))
    return locked


def _seal(data: bytes) -> str:
    return encrypt_text(base64.b64encode(zlib.compress(data, 1)).decode("ascii"))


def _unseal(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(decrypt_text(token)))


def _progress(roster_import: RosterImport) -> Callable[[int], None]:
    def report(done: int) -> None:
        RosterImport.objects.filter(pk=roster_import.pk).update(rows_done=done)
    return report


def _enqueue(task_name: str, *args) -> None:
    from . import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.enqueue(*args))


def _actor_ids(actor) -> tuple[int | None, int | None]:
    if actor is None:
        return None, None
    membership = active_membership(actor)
    return actor.pk, membership.pk if membership else None


# --------------------------------------------------------------------------------------------
# Import services
# --------------------------------------------------------------------------------------------


def _read_upload(uploaded_file) -> bytes:
    limit = settings.ROSTER_MAX_UPLOAD_BYTES
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise RosterFileError(_("文件过大(不能超过 %(mb)s MB)") % {"mb": limit // (1024 * 1024)})
    data = b"".join(uploaded_file.chunks()) if hasattr(uploaded_file, "chunks") else uploaded_file.read()
    if len(data) > limit:
        raise RosterFileError(_("文件过大(不能超过 %(mb)s MB)") % {"mb": limit // (1024 * 1024)})
    return data


def _has_data(table: Table, look_at: int = 200) -> bool:
    """A row with a value other than the template's example row, among the first rows."""
    name_at = table.columns["name"]
    for count, (_number, values) in enumerate(table.rows):
        if any(_cell_text(v) for v in values):
            name = _cell_text(values[name_at]) if name_at < len(values) else ""
            if not _is_example(name):
                return True
        if count >= look_at:
            break
    return False


def roster_import_upload(*, actor, committee: OrgUnit, uploaded_file, background: bool | None = None) -> RosterImport:
    """Check the file's shape, keep it encrypted and validate it (inline when small).

    Raises RosterFileError, with nothing written, for a file that is too big, of the wrong
    type, unreadable, empty or without the roster's header columns.
    """
    check_committee_access(actor, committee)
    data = _read_upload(uploaded_file)
    filename = Path(getattr(uploaded_file, "name", "") or "roster").name[:255]
    table = open_table(data, filename)
    if not _has_data(table):
        raise RosterFileError(_("表格中没有数据行"))
    if table.estimated_rows > _setting("ROSTER_MAX_ROWS", MAX_ROWS):
        raise RosterFileError(_("一次最多导入 %(n)d 行,请拆分文件") % {"n": _setting("ROSTER_MAX_ROWS", MAX_ROWS)})
    if background is None:
        background = table.estimated_rows >= _setting("ROSTER_INLINE_MAX_ROWS", INLINE_MAX_ROWS)
    with transaction.atomic():
        roster_import = RosterImport.objects.create(
            committee=committee, uploaded_by=actor, filename=filename,
            file_format=table.file_format, sha256=hashlib.sha256(data).hexdigest(),
            rows_total=table.estimated_rows, payload=_seal(data), payload_kind="file",
        )
        audit(actor=actor, action="roster_import_upload", obj=roster_import, committee_id=committee.pk,
              subject_label=filename, detail={"bytes": len(data), "format": table.file_format})
        if background:
            _enqueue("roster_import_validate_task", roster_import.pk)
    if not background:
        roster_import = roster_import_validate(actor=actor, roster_import=roster_import)
    return roster_import


def roster_import_validate(*, actor, roster_import: RosterImport) -> RosterImport:
    """Read every row, store the problems and counts; keep the clean rows (encrypted) if none."""
    check_committee_access(actor, roster_import.committee)
    roster_import = _move(roster_import, Status.VALIDATING, rows_done=0)
    try:
        return _validate(roster_import)
    except RosterFileError as exc:
        return _move(roster_import, Status.FAILED, error=exc.messages[0], payload="", payload_kind="")
    except Exception:
        logger.exception("roster import %s: validation failed", roster_import.pk)
        return _move(roster_import, Status.FAILED, error=_("校验时出现错误,请重新上传或联系管理员"),
                     payload="", payload_kind="")


def _validate(roster_import: RosterImport) -> RosterImport:
    committee = roster_import.committee
    table = open_table(_unseal(roster_import.payload), roster_import.filename)
    report = _progress(roster_import)
    total = table.estimated_rows
    checker = RowChecker(Places.load(committee), table.columns)
    rows: list[dict] = []
    problems: list[Problem] = []
    problem_rows: set[int] = set()
    first_of: dict[str, int] = {}
    limit = _setting("ROSTER_MAX_ROWS", MAX_ROWS)
    seen = 0
    identified: list[dict] = []  # rows with problems whose number is sound
    for number, values in table.rows:
        clean, row_problems = checker.check(number, values)
        if clean is None:
            continue
        seen += 1
        if seen > limit:
            raise RosterFileError(_("一次最多导入 %(n)d 行,请拆分文件") % {"n": limit})
        if seen % PROGRESS_EVERY == 0:
            report(seen if seen < total else max(total - 1, 0))
        if "number" in clean:
            key = f"{clean['id_type']}|{clean['number']}"
            other = first_of.setdefault(key, number)
            if other != number:
                row_problems.append(Problem(number, str(COLUMN_BY_KEY["id_number"].header),
                                            _("与第%(row)d行的证件号码重复(%(masked)s)")
                                            % {"row": other, "masked": mask_identity(clean["number"])}))
            elif row_problems:
                identified.append(clean)
        if row_problems:
            problems.extend(row_problems)
            problem_rows.add(number)
        else:
            rows.append(clean)
    problems.extend(_registered_elsewhere(committee, identified))
    if seen == 0:
        raise RosterFileError(_("表格中没有数据行"))
    _merged, household_problems = merge_households(rows)
    problems.extend(household_problems)
    problem_rows.update(p.row for p in household_problems)
    plan = plan_rows(committee, rows)
    problems.extend(plan.problems)
    problem_rows.update(p.row for p in plan.problems)
    ok_rows = [r for r in rows if r["row"] not in problem_rows]
    counts = plan.counts()
    if problem_rows:
        # Counts describe the rows without problems; the rows themselves are not kept.
        sub_plan = plan_rows(committee, ok_rows) if ok_rows else Plan()
        counts = sub_plan.counts()
    with transaction.atomic():
        RosterProblem.objects.filter(roster_import=roster_import).delete()
        RosterProblem.objects.bulk_create(
            [RosterProblem(roster_import=roster_import, row=p.row, column=p.column, message=p.message[:300])
             for p in sorted(problems, key=lambda p: p.row)],
            batch_size=BATCH_SIZE,
        )
        return _move(
            roster_import, Status.VALIDATED, rows_total=seen, rows_done=seen,
            count_new=counts["new"], count_updated=counts["updated"], count_unchanged=counts["unchanged"],
            households_new=counts["households_new"], households_updated=counts["households_updated"],
            count_problem_rows=len(problem_rows), error="",
            payload="" if problem_rows else _seal(json.dumps(rows, ensure_ascii=False).encode()),
            payload_kind="" if problem_rows else "rows",
        )


def roster_import_commit(*, actor, roster_import: RosterImport, background: bool | None = None) -> RosterImport:
    """Write a validated import: all rows or none. Refused while any row has a problem."""
    check_committee_access(actor, roster_import.committee)
    roster_import.refresh_from_db()
    if roster_import.status == Status.VALIDATED and roster_import.count_problem_rows:
        raise RosterStateError(_("还有 %(n)d 行存在问题,请修改文件后重新上传")
                               % {"n": roster_import.count_problem_rows})
    if roster_import.status == Status.VALIDATED and not roster_import.committable:
        raise RosterStateError(_("该导入不能提交,请重新上传"))
    if background is None:
        background = roster_import.rows_total >= _setting("ROSTER_INLINE_MAX_ROWS", INLINE_MAX_ROWS)
    with transaction.atomic():
        roster_import = _move(roster_import, Status.COMMITTING, rows_done=0)
        if background:
            _enqueue("roster_import_commit_task", roster_import.pk, *_actor_ids(actor))
    if background:
        return roster_import
    return roster_import_commit_run(actor=actor, roster_import=roster_import)


class _Refused(Exception):
    def __init__(self, plan: Plan) -> None:
        super().__init__("refused")
        self.plan = plan


def roster_import_commit_run(*, actor, roster_import: RosterImport) -> RosterImport:
    """The commit itself (inline, or in the worker): one transaction and one audit event."""
    try:
        check_committee_access(actor, roster_import.committee)
    except PermissionDenied:
        # The user lost the right between asking and the worker starting: nothing is written.
        if roster_import.status == Status.COMMITTING:
            _move(roster_import, Status.FAILED, payload="", payload_kind="", error=_("没有导入权限"))
        raise
    try:
        with transaction.atomic():
            # One import at a time per committee: the second waits for the first to finish.
            # (NO KEY: single registrations, which only take a key-share lock, go on meanwhile.)
            committee = OrgUnit.objects.select_for_update(no_key=True).get(pk=roster_import.committee_id)
            locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
            if locked.status != Status.COMMITTING or locked.payload_kind != "rows":
                raise RosterStateError(_("该导入当前为“%(status)s”,不能提交") % {"status": locked.get_status_display()})
            rows = json.loads(_unseal(locked.payload))
            places = Places.load(committee)
            known = {pk for buildings in places.buildings.values() for pk in buildings.values()}
            gone = [Problem(r["row"], str(COLUMN_BY_KEY["building"].header), _("该楼栋已不存在"))
                    for r in rows if r["building"] not in known]
            plan = plan_rows(committee, rows, check_elsewhere=False)
            plan.problems = gone + plan.problems
            if plan.problems:
                raise _Refused(plan)
            _write(committee, plan)
            counts = plan.counts()
            audit(actor=actor, action="roster_import_commit", obj=locked, committee_id=committee.pk,
                  subject_label=locked.filename, detail={"rows": len(rows), **counts})
            return _move(
                locked, Status.COMMITTED, rows_done=len(rows), count_new=counts["new"],
                count_updated=counts["updated"], count_unchanged=counts["unchanged"],
                households_new=counts["households_new"], households_updated=counts["households_updated"],
                payload="", payload_kind="",
            )
    except _Refused as refused:
        problems = refused.plan.problems
        with transaction.atomic():
            RosterProblem.objects.filter(roster_import=roster_import).delete()
            RosterProblem.objects.bulk_create(
                [RosterProblem(roster_import=roster_import, row=p.row, column=p.column, message=p.message)
                 for p in problems], batch_size=BATCH_SIZE)
            return _move(roster_import, Status.VALIDATED, count_problem_rows=len({p.row for p in problems}),
                         payload="", payload_kind="",
                         error=_("提交前发现数据已有变化,请查看问题并重新上传"))
    except RosterStateError:
        raise
    except (IntegrityError, DatabaseError):
        logger.exception("roster import %s: commit failed", roster_import.pk)
        return _move(roster_import, Status.FAILED, payload="", payload_kind="",
                     error=_("导入时数据已被他人修改,未写入任何数据,请重新上传"))
    except Exception:
        logger.exception("roster import %s: commit failed", roster_import.pk)
        return _move(roster_import, Status.FAILED, payload="", payload_kind="",
                     error=_("导入时出现错误,未写入任何数据,请重新上传或联系管理员"))


def roster_import_discard(*, actor, roster_import: RosterImport) -> RosterImport:
    """Give up a validated import: its encrypted rows are deleted, nothing is written."""
    check_committee_access(actor, roster_import.committee)
    with transaction.atomic():
        roster_import = _move(roster_import, Status.FAILED, payload="", payload_kind="", error=_("已放弃"))
        audit(actor=actor, action="roster_import_discard", obj=roster_import,
              committee_id=roster_import.committee_id, subject_label=roster_import.filename)
    return roster_import


def earlier_commit(roster_import: RosterImport) -> RosterImport | None:
    """The last committed import of the same file into the same committee, if any."""
    return (
        RosterImport.objects.filter(committee_id=roster_import.committee_id, sha256=roster_import.sha256,
                                    status=Status.COMMITTED)
        .exclude(pk=roster_import.pk).order_by("-created_at").first()
    )


# --------------------------------------------------------------------------------------------
# Template
# --------------------------------------------------------------------------------------------

def _choice_list(key: str) -> list[str]:
    if key in CHOICES:
        return [str(label) for _value, label in CHOICES[key].choices]
    if key == "is_rental":
        return [_("是"), _("否")]
    return []


_HEADER_FILL = PatternFill("solid", fgColor="FFE8E8")


def roster_template(*, committee: OrgUnit | None = None) -> bytes:
    """The roster template: header, one example row, drop-downs and an instructions sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("花名册")
    headers = [str(c.header) for c in COLUMNS]
    sheet.append(headers)
    compound, building = _("国和一村"), _("5号")
    if committee is not None:
        first = (OrgUnit.objects.filter(parent__parent=committee, kind=Kind.BUILDING)
                 .select_related("parent").order_by("path").first())
        if first is not None:
            compound, building = first.parent.name, first.name
    example = {
        "compound": compound, "building": building, "room": "302", "name": f"{EXAMPLE_MARK}:{_('张三(此行不会导入)')}",
        "sex": str(Sex.MALE.label), "birth_date": "1980-05-17", "id_type": str(IdType.RESIDENT_ID.label),
        "id_number": make_resident_id("110101", dt.date(1980, 5, 17), 1), "mobile": "13812345678",
        "relation": str(Relation.HEAD.label),
        "living_status": str(LivingStatus.HERE.label),
        "tags": f"{Tag.NO_SMARTPHONE.label}、{Tag.MEDICAL_PROFESSIONAL.label}",
        "specialty": _("内科"), "is_rental": _("否"),
    }
    sheet.append([example.get(c.key, "") for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="B3261E" if column.required else "000000")
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = column.width
        if column.text:
            # Text, so that Excel keeps ID numbers, phones and rooms as typed (no 3.1E+17).
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
        sheet.cell(row=2, column=index).font = Font(italic=True, color="808080")
    sheet.freeze_panes = "A2"
    for key in ("sex", "id_type", "relation", "living_status", "is_rental"):
        letter = sheet.cell(row=1, column=[c.key for c in COLUMNS].index(key) + 1).column_letter
        options = ",".join(_choice_list(key))
        validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True, showErrorMessage=False)
        validation.add(f"{letter}2:{letter}5000")
        sheet.add_data_validation(validation)

    notes = workbook.create_sheet(_("填写说明"))
    notes.append([_("列"), _("必填"), _("说明"), _("可填的值")])
    for column in COLUMNS:
        values = "、".join(_choice_list(column.key))
        notes.append([str(column.header), _("是") if column.required else "", str(column.help), values])
    notes.append([])
    for line in (
        _("每行一位居民;同一楼栋、同一室号的居民为一户。楼栋须已在“地点”中建立,室号不存在时自动建立。"),
        _("证件号码已在本居委会登记的居民会按表格更新(可换到本居委会的另一户);已在其他居委会登记的会被拒绝。"),
        _("导入只新增和更新,不会删除表格中没有的居民。"),
        _("上传后先显示校验结果,有问题的行须修改后重新上传;确认无误后点击“确认导入”才会写入。"),
        _("全角数字、字母和多余的空格会自动转换、去除。"),
        _("支持 .xlsx 和 CSV(UTF-8 或 GBK 编码)。"),
    ):
        notes.append([line])
    for letter, width in zip("ABCD", (14, 6, 48, 60), strict=True):
        notes.column_dimensions[letter].width = width
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

def roster_export_queryset(user, *, q: str = "", tag: str = "", status: str = "",
                           committee: OrgUnit | None = None, compound: OrgUnit | None = None,
                           building: OrgUnit | None = None) -> QuerySet[Resident]:
    """The residents an export holds: the search filters, plus a committee, compound or building."""
    residents = resident_search(user, q=q, tag=tag, status=status)
    if committee is not None:
        residents = residents.filter(committee_id=committee.pk)
    if compound is not None:
        residents = residents.filter(household__compound_id=compound.pk)
    if building is not None:
        residents = residents.filter(household__building_id=building.pk)
    return residents.order_by(
        "household__compound_id", "household__building_id", "household__room", "pk"
    ).select_related("household__building", "household__compound", "household__grid", "household__micro_grid")


def _describe(filters: dict, units: dict[str, OrgUnit | None]) -> str:
    parts = [str(unit) for unit in (units.get("committee"), units.get("compound"), units.get("building")) if unit]
    q = normalise(filters.get("q") or "")
    if q:
        if re.fullmatch(r"(\+?86)?1\d{10}", q):
            q = mask_phone(q[-11:])
        elif re.fullmatch(r"[A-Z0-9]{8,18}", q) and not q.isalpha():
            q = mask_identity(q)
        parts.append(_("关键词:%(q)s") % {"q": q})
    if filters.get("tag"):
        parts.append(_("标签:%(tag)s") % {"tag": Tag(filters["tag"]).label})
    if filters.get("status"):
        parts.append(_("状态:%(status)s") % {"status": LivingStatus(filters["status"]).label})
    return " · ".join(parts) or _("全部居民")


def _export_committee_id(actor, units: dict[str, OrgUnit | None]) -> int | None:
    for key in ("building", "compound", "committee"):
        unit = units.get(key)
        if unit is not None:
            return unit.pk if unit.kind == Kind.COMMITTEE else unit.committee_id
    membership = active_membership(actor)
    if membership is not None and membership.org_unit.kind == Kind.COMMITTEE:
        return membership.org_unit_id
    return None


def _check_units(actor, filters: dict) -> dict[str, OrgUnit | None]:
    units: dict[str, OrgUnit | None] = {}
    visible = OrgUnit.objects.visible_to(actor)
    kinds = {"committee": Kind.COMMITTEE, "compound": Kind.COMPOUND, "building": Kind.BUILDING}
    for key, kind in kinds.items():
        value = filters.get(key)
        if value in (None, ""):
            units[key] = None
            continue
        pk = value.pk if isinstance(value, OrgUnit) else int(str(value))
        unit = visible.filter(pk=pk, kind=kind).first()
        if unit is None:
            raise PermissionDenied
        units[key] = unit
    return units


def _export_rows(residents: QuerySet[Resident], full_ids: bool) -> Iterator[list]:
    labels = {
        "sex": dict(Sex.choices), "id_type": dict(IdType.choices), "relation": dict(Relation.choices),
        "living_status": dict(LivingStatus.choices), "tags": dict(Tag.choices),
    }
    yes, no = _("是"), _("否")
    for resident in residents.prefetch_related("tags").iterator(chunk_size=2000):
        household = resident.household
        number = decrypt_text(resident.id_encrypted) if full_ids else resident.id_masked
        yield [
            household.compound.name, household.building.name, household.room, resident.name,
            str(labels["sex"].get(resident.sex, resident.sex)), resident.birth_date,
            str(labels["id_type"].get(resident.id_type, resident.id_type)), number, resident.mobile,
            str(labels["relation"].get(resident.relation, resident.relation)),
            str(labels["living_status"].get(resident.living_status, resident.living_status)),
            resident.away_until, "、".join(str(labels["tags"][t.tag]) for t in resident.tags.all()),
            resident.language, resident.specialty, resident.skills, yes if household.is_rental else no,
            household.landlord_name, household.landlord_phone,
            household.grid.name if household.grid else "", household.micro_grid.name if household.micro_grid else "",
        ]


def _write_export(residents: QuerySet[Resident], full_ids: bool, target) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("花名册"))
    for index, column in enumerate(COLUMNS):
        sheet.column_dimensions[sheet_letter(index)].width = column.width
    sheet.append([str(c.header) for c in COLUMNS])
    count = 0
    for row in _export_rows(residents, full_ids):
        sheet.append([_as_text(sheet, value) for value in row])
        count += 1
    workbook.save(target)
    return count


def _as_text(sheet, value: Any) -> Any:
    """Text that starts with "=" stays text: openpyxl would write it as a formula."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def sheet_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


@dataclass
class ExportResult:
    """Either the file, at once, or a RosterExport that the worker is preparing."""

    content: bytes | None = None
    filename: str = ""
    rows: int = 0
    queued: RosterExport | None = None


def export_filename() -> str:
    return _("花名册_%(date)s.xlsx") % {"date": timezone.localtime().strftime("%Y%m%d_%H%M")}


def roster_export(*, actor, filters: dict, full_ids: bool = False, reason: str = "",
                  background: bool | None = None) -> ExportResult:
    """Export residents to xlsx, ID numbers masked unless full_ids (reveal_id and a reason)."""
    membership = _require(actor, Cap.EXPORT_ROSTER)
    reason = (reason or "").strip()[:200]
    if full_ids:
        if not membership.has(Cap.REVEAL_ID):
            raise PermissionDenied
        if len(reason) < 2:
            raise ValidationError({"reason": _("导出完整证件号须填写事由")})
    units = _check_units(actor, filters)
    plain = {k: str(filters.get(k) or "") for k in ("q", "tag", "status")}
    if plain["tag"] and plain["tag"] not in Tag.values:
        raise ValidationError({"tag": _("未知的标签")})
    if plain["status"] and plain["status"] not in LivingStatus.values:
        raise ValidationError({"status": _("未知的居住状态")})
    residents = roster_export_queryset(actor, q=plain["q"], tag=plain["tag"], status=plain["status"], **units)
    description = _describe(plain, units)
    committee_id = _export_committee_id(actor, units)
    if background is None:
        background = residents.count() > _setting("ROSTER_EXPORT_INLINE_MAX_ROWS", EXPORT_INLINE_MAX_ROWS)
    if background:
        with transaction.atomic():
            export = RosterExport.objects.create(
                requested_by=actor, membership=membership, committee_id=committee_id,
                filters={**plain, **{k: (u.pk if u else None) for k, u in units.items()}},
                description=description[:200], full_ids=full_ids, reason=reason,
            )
            _enqueue("roster_export_task", export.pk)
        return ExportResult(queued=export)
    buffer = io.BytesIO()
    count = _write_export(residents, full_ids, buffer)
    _audit_export(actor, full_ids=full_ids, reason=reason, count=count, description=description,
                  committee_id=committee_id, filters=plain, units=units)
    return ExportResult(content=buffer.getvalue(), filename=export_filename(), rows=count)


def _audit_export(actor, *, full_ids: bool, reason: str, count: int, description: str,
                  committee_id: int | None, filters: dict, units: dict, obj: Any = None) -> None:
    detail = {"rows": count, "tag": filters.get("tag", ""), "status": filters.get("status", ""),
              **{k: (u.pk if u else None) for k, u in units.items()}}
    audit(actor=actor, action="roster_export_full" if full_ids else "roster_export", obj=obj,
          committee_id=committee_id, subject_label=description, reason=reason, personal=True, detail=detail)


def exports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def roster_export_run(*, export: RosterExport) -> RosterExport:
    """Produce a queued export (in the worker), acting as the user and membership who asked."""
    with transaction.atomic():
        export = RosterExport.objects.select_for_update().get(pk=export.pk)
        if export.status != RosterExport.Status.PENDING:
            return export
        export.status = RosterExport.Status.RUNNING
        export.save(update_fields=["status"])
    actor = export.requested_by
    setattr(actor, "active_membership", export.membership)  # noqa: B010 - as the middleware does
    path = None
    try:
        _require(actor, Cap.EXPORT_ROSTER)
        if export.full_ids:
            _require(actor, Cap.REVEAL_ID)
        units = _check_units(actor, export.filters)
        plain = {k: str(export.filters.get(k) or "") for k in ("q", "tag", "status")}
        residents = roster_export_queryset(actor, q=plain["q"], tag=plain["tag"], status=plain["status"],
                                           **units)
        name = secrets.token_hex(16) + ".xlsx"
        path = exports_dir() / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            count = _write_export(residents, export.full_ids, handle)
        with transaction.atomic():
            _audit_export(actor, full_ids=export.full_ids, reason=export.reason, count=count,
                          description=export.description, committee_id=export.committee_id,
                          filters=plain, units=units, obj=export)
            export.status = RosterExport.Status.READY
            export.row_count, export.file_name, export.finished_at = count, name, timezone.now()
            export.save()
    except Exception as exc:
        if path is not None and path.exists():
            path.unlink()
        logger.exception("roster export %s failed", export.pk)
        message = _("没有导出权限") if isinstance(exc, PermissionDenied) else _("导出失败,请重试")
        RosterExport.objects.filter(pk=export.pk).update(
            status=RosterExport.Status.FAILED, error=message, finished_at=timezone.now())
        export.refresh_from_db()
    return export


def roster_export_download(*, actor, export: RosterExport):
    """The prepared file, once: it is deleted from disk as it is handed over."""
    _require(actor, Cap.EXPORT_ROSTER)
    with transaction.atomic():
        export = RosterExport.objects.visible_to(actor).select_for_update().get(pk=export.pk)
        if export.status != RosterExport.Status.READY or not export.file_name:
            raise RosterStateError(_("该导出文件不存在或已下载过"))
        path = exports_dir() / export.file_name
        try:
            handle = open(path, "rb")  # noqa: SIM115 - handed to the response, which closes it
        except FileNotFoundError:
            raise RosterStateError(_("该导出文件不存在或已下载过")) from None
        path.unlink()
        export.status = RosterExport.Status.DOWNLOADED
        export.file_name = ""
        export.save(update_fields=["status", "file_name"])
    return handle
