"""Opening an uploaded table file (xlsx with python-calamine, or CSV) into a Table.

The header is found by a HeaderSpec: the roster's (the default), or another module's (tracing
lists use the same hardened reader with their own columns)."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

from .columns import COLUMN_BY_KEY, COLUMNS, REQUIRED_KEYS, cell_text, header_index, squash

logger = logging.getLogger(__name__)

# A zip that unpacks to more than this is refused (zip bombs); 40,000 rows unpack to ~40 MB.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024


class RosterFileError(ValidationError):
    """The file cannot be used at all (type, size, shape); the message is for the user."""


# calamine holds a sheet as one dense grid from its first to its last cell: two cells far
# apart (A1 and XFD1048576, a 5 KB file) make it allocate 500 GB and abort the process
# (tafia/calamine#693). Sheets are measured before calamine reads them.
MAX_GRID_CELLS = 5_000_000
_PAST_Z_OR_99999 = re.compile(rb'r="(?:[A-Z]{2}|[A-Z]?\d{6})')
_PAST_EXCEL = re.compile(rb'r="(?:[A-Z]{4}|[A-Z]{0,3}\d{8})')
_REFERENCE = re.compile(rb'r="([A-Z]{0,3})(\d{0,7})"')
_CELL = re.compile(rb"[<:]c[\s/>]")
_CELL_NOT_R_FIRST = (re.compile(rb'<c(?! r=")[\s/>]'), re.compile(rb':c(?! r=")[\s/>]'))
_CELL_WITHOUT_REFERENCE = re.compile(rb'[<:]c(?![^>]*\sr=")[\s/>]')
_ROW_END = re.compile(rb"</(?:[\w.-]+:)?row>")


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + char - 64
    return number


def _grid_cells(xml: bytes) -> int:
    """How many cells calamine allocates for this worksheet's XML, at most: rows x columns.

    A roster lies within A1:Z99999, which one search tells; past that the references are read.
    """
    past_z_or_99999 = _PAST_Z_OR_99999.search(xml) is not None
    if past_z_or_99999 and _PAST_EXCEL.search(xml):
        return MAX_GRID_CELLS + 1
    # Excel, WPS and openpyxl write r="..." first in every cell; a cell without one follows
    # the cell before it, a row without one the row before it.
    unreferenced = (any(pattern.search(xml) for pattern in _CELL_NOT_R_FIRST)
                    and _CELL_WITHOUT_REFERENCE.search(xml) is not None)
    if not past_z_or_99999 and not unreferenced:
        return 99_999 * 26
    rows = columns = 1
    for letters, digits in _REFERENCE.findall(xml):
        if letters:
            columns = max(columns, _column_number(letters))
        if digits:
            rows = max(rows, int(digits))
    if unreferenced:
        parts = _ROW_END.split(xml)
        rows += len(parts)
        columns += max(len(_CELL.findall(part)) for part in parts)
    return rows * columns


def _check_sheet_sizes(archive: zipfile.ZipFile) -> None:
    for info in archive.infolist():
        with archive.open(info) as part:
            xml = part.read()
        if b"sheetData" in xml and _grid_cells(xml) > MAX_GRID_CELLS:
            raise RosterFileError(_("工作表的范围过大(行数或列数过多),请删除多余的行和列后重新上传"))


@dataclass
class Table:
    """The data part of a roster file: where the columns are, and the rows below the header
    that are not blank, as (row number in the file, [values])."""

    columns: dict[str, int]
    header_row: int
    rows: list[tuple[int, list]]
    file_format: str


@dataclass(frozen=True)
class HeaderSpec:
    """How to recognise a table's header: `index` maps squashed header texts to column keys;
    `required` keys must all be there; `label` names a key in messages."""

    index: Callable[[], dict[str, str]]
    required: frozenset[str]
    label: Callable[[str], str]
    order: tuple[str, ...]  # keys in the template's order, for the "missing columns" message
    not_found: Callable[[], str]  # the message when no header is found at all


ROSTER_HEADERS = HeaderSpec(
    index=header_index,
    required=frozenset(REQUIRED_KEYS),
    label=lambda key: str(COLUMN_BY_KEY[key].header),
    order=tuple(c.key for c in COLUMNS),
    not_found=lambda: _("没有找到表头(小区、楼栋、室号、姓名、证件号码……)。请使用花名册模板。"),
)


def _find_header(rows: list[tuple[int, list]], spec: HeaderSpec) -> tuple[int, dict[str, int]] | None:
    """Look at the first ten rows for the header (a title row above it is common)."""
    index = spec.index()
    best: tuple[int, dict[str, int], list[str]] | None = None
    for number, values in rows[:10]:
        columns: dict[str, int] = {}
        repeated: list[str] = []
        for position, value in enumerate(values):
            key = index.get(squash(cell_text(value)))
            if key is None:
                continue
            if key in columns:
                repeated.append(spec.label(key))
            columns.setdefault(key, position)
        if len(columns) >= 3 and (best is None or len(columns) > len(best[1])):
            best = (number, columns, repeated)
        if columns.keys() >= spec.required:
            if repeated:
                raise RosterFileError(_("表头中“%(col)s”列出现了不止一次") % {"col": repeated[0]})
            return number, columns
    if best is not None:
        missing = [spec.label(key) for key in spec.order if key in spec.required and key not in best[1]]
        raise RosterFileError(_("表头缺少以下列:%(cols)s。请使用模板。") % {"cols": "、".join(missing)})
    return None


def _filled(values: list) -> bool:
    # calamine gives "" for an empty cell; 0 and False are values.
    return any(values) or any(value is not None and value != "" for value in values)


def _open_xlsx(data: bytes, spec: HeaderSpec) -> Table:
    """The first worksheet with a roster header, read with calamine.

    Values are as calamine gives them: text, numbers as float, dates as date/datetime,
    booleans, formulas as their cached value, "" for empty cells and errors.
    """
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
        _check_sheet_sizes(archive)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError):
        raise RosterFileError(_("无法读取该Excel文件:工作表内容已损坏")) from None
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        worksheets = [i for i, sheet in enumerate(workbook.sheets_metadata) if sheet.typ == SheetTypeEnum.WorkSheet]
    except CalamineError:
        logger.info("unreadable xlsx upload", exc_info=True)
        raise RosterFileError(_("无法读取该Excel文件:文件已损坏或不是xlsx格式")) from None
    for index in worksheets:
        try:
            grid = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
        except CalamineError:
            logger.info("unreadable xlsx sheet", exc_info=True)
            raise RosterFileError(_("无法读取该Excel文件:工作表内容已损坏")) from None
        rows = [(number, values) for number, values in enumerate(grid, start=1) if _filled(values)]
        found = _find_header(rows, spec)
        if found is None:
            continue
        header_row, columns = found
        return Table(columns, header_row, [item for item in rows if item[0] > header_row], "xlsx")
    raise RosterFileError(spec.not_found())


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


def _open_csv(data: bytes, spec: HeaderSpec) -> Table:
    text = _decode_text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(number, values) for number, values in enumerate(reader, start=1) if any(values)]
    except csv.Error:
        raise RosterFileError(_("CSV文件格式不正确,无法读取")) from None
    found = _find_header(rows, spec)
    if found is None:
        raise RosterFileError(spec.not_found())
    header_row, columns = found
    return Table(columns, header_row, [item for item in rows if item[0] > header_row], "csv")


def open_table(data: bytes, filename: str, spec: HeaderSpec = ROSTER_HEADERS) -> Table:
    """The table of an uploaded file, or RosterFileError with a message for the user."""
    if not data:
        raise RosterFileError(_("文件是空的"))
    suffix = Path(filename or "").suffix.lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _open_xlsx(data, spec)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(_("不支持旧版Excel(.xls)文件,请在Excel中另存为.xlsx或CSV后上传"))
    if suffix == ".xlsx":
        raise RosterFileError(_("无法读取该文件:文件已损坏或不是xlsx格式"))
    if suffix in (".csv", ".txt"):
        return _open_csv(data, spec)
    raise RosterFileError(_("只能上传Excel(.xlsx)或CSV文件"))
