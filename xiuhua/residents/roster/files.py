"""Opening an uploaded table file (xlsx with python-calamine, or CSV) into a Table.

The header is found by a HeaderSpec: the roster's (the default), or another module's (tracing
lists use the same hardened reader with their own columns)."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

from .columns import COLUMN_BY_KEY, COLUMNS, REQUIRED_KEYS, cell_text, header_index, squash

logger = logging.getLogger(__name__)


class RosterFileError(ValidationError):
    """The file cannot be used at all (type, size, shape); the message is for the user."""


# What an xlsx may unpack to. The sheets of a roster at ROSTER_MAX_ROWS (100,000 rows) unpack to
# about 100 MB as openpyxl writes them (inline strings; Excel's shared strings make them
# smaller), so twice that for the sheets; the rest of a workbook (styles, shared strings,
# pictures) gets 50 MB more. Sizes are counted while inflating, never taken from the zip's word.
MAX_UNPACKED_BYTES = 250 * 1024 * 1024
MAX_SHEET_BYTES = 200 * 1024 * 1024

# calamine holds a sheet as one dense grid from its first to its last cell: two cells far
# apart (A1 and XFD1048576, a 5 KB file) make it allocate 500 GB and abort the process
# (tafia/calamine#693). Every part of the workbook is measured before calamine opens it.
MAX_GRID_CELLS = 5_000_000
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
_CHUNK = 64 * 1024
# expat (2.5) holds an unfinished tag, comment or attribute and scans it again with every piece
# fed: time grows with its square (a 64 MB comment costs 40 s). Cell texts stop at 32,767
# characters, so a part that keeps more than this waiting is refused.
MAX_PENDING_BYTES = 1024 * 1024
# calamine reads a part as a worksheet when it holds a sheetData element; these are its name's
# bytes in the encodings a part may be written in.
_SHEET_MARKERS = tuple("sheetData".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be"))
_DIGITS = "0123456789"


class _GridTooLarge(Exception):
    pass


class _Unreadable(Exception):
    pass


def _too_large() -> RosterFileError:
    return RosterFileError(_("工作表的范围过大(行数或列数过多),请删除多余的行和列后重新上传"))


def _unreadable() -> RosterFileError:
    return RosterFileError(_("无法读取该Excel文件:工作表内容已损坏"))


def _column_number(letters: str) -> int:
    """0 for "", 1 for "A", 16,384 for "XFD"; letters of any case, as calamine reads them."""
    if len(letters) > 3:  # past XFD, where calamine's counting may also wrap around
        raise _GridTooLarge
    if not (letters.isascii() and letters.isalpha()) and letters:
        raise _Unreadable
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def _row_number(digits: str) -> int:
    if len(digits) > 7:
        raise _GridTooLarge
    if not (digits.isascii() and digits.isdigit()) or int(digits) == 0:
        raise _Unreadable
    return int(digits)


def _grid_measure() -> Callable[[str, dict[str, str]], None]:
    """An expat start-element handler that follows a part as calamine's cell reader does and
    raises _GridTooLarge as soon as the grid from A1 to the furthest cell, or to a corner of a
    declared dimension, passes MAX_GRID_CELLS or Excel's size.

    A cell without a reference takes the place after the cell before it; a row without one is
    the row after the one before it (calamine moves on at each row's end; a cell between rows,
    which calamine would put one row further, is the only difference). Names are compared
    without their prefix, as calamine does. Run for every cell of a sheet: kept lean."""
    row, next_column, rows, columns = 0, 0, 1, 1
    seen_row = False
    column_of: dict[str, int] = {}  # a sheet uses a few dozen column letters, over and over

    def reach(row: int, column: int) -> None:
        nonlocal rows, columns
        rows, columns = max(rows, row + 1), max(columns, column + 1)
        if rows > EXCEL_ROWS or columns > EXCEL_COLUMNS or rows * columns > MAX_GRID_CELLS:
            raise _GridTooLarge

    def position(reference: str) -> tuple[int, int]:
        letters = reference.rstrip(_DIGITS)
        column = column_of.get(letters)
        if column is None:
            column = _column_number(letters) - 1
            if column < 0:
                raise _Unreadable
            column_of[letters] = column
        return _row_number(reference[len(letters):]) - 1, column

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal row, next_column, seen_row
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            reference = attributes.get("r")
            if reference is None:
                cell_row, column = row, next_column
            else:
                cell_row, column = position(reference)
            next_column = column + 1
            if cell_row >= rows or column >= columns:
                reach(cell_row, column)
        elif name == "row":
            reference = attributes.get("r")
            if reference is None:
                row = row + 1 if seen_row else 0
            else:
                row = _row_number(reference[len(reference.rstrip(_DIGITS)):]) - 1
            next_column, seen_row = 0, True
        elif name == "dimension":
            for corner in attributes.get("ref", "").split(":"):
                reach(*position(corner))

    return start


def _refuse_doctype(*_args) -> None:
    raise _Unreadable  # an xlsx never has one; its entities could multiply the text


def check_workbook(archive: zipfile.ZipFile) -> None:
    """Refuse, before calamine opens it, a workbook whose parts unpack to more than
    MAX_UNPACKED_BYTES, whose sheets unpack to more than MAX_SHEET_BYTES, or whose grid (from
    cell references and declared dimensions) passes MAX_GRID_CELLS or Excel's own size.

    Every part is inflated in small pieces and parsed as XML while it streams, so nothing is held
    whole and the work stops at the first limit passed. A part that is not well-formed XML is
    refused if it could be a worksheet (calamine's parser is more forgiving than expat)."""
    unpacked = sheets = 0
    for info in archive.infolist():
        # Without namespace processing names arrive as written ("x:c"), as calamine sees them.
        parser = expat.ParserCreate()
        parser.StartElementHandler = _grid_measure()
        parser.StartDoctypeDeclHandler = _refuse_doctype
        well_formed, is_sheet, size, tail = True, False, 0, b""
        try:
            with archive.open(info) as part:
                while chunk := part.read(_CHUNK):
                    size += len(chunk)
                    unpacked += len(chunk)
                    if unpacked > MAX_UNPACKED_BYTES:
                        raise RosterFileError(_("文件解压后过大,无法读取"))
                    if not is_sheet and any(marker in tail + chunk for marker in _SHEET_MARKERS):
                        is_sheet, sheets = True, sheets + size - len(chunk)
                    tail = chunk[-32:]
                    if is_sheet:
                        sheets += len(chunk)
                        if sheets > MAX_SHEET_BYTES:
                            raise RosterFileError(_("工作表解压后过大,请拆分文件后上传"))
                    if well_formed:
                        try:
                            parser.Parse(chunk, False)
                        except expat.ExpatError:
                            well_formed = False
                        if well_formed and size - parser.CurrentByteIndex > MAX_PENDING_BYTES:
                            raise _Unreadable
            if well_formed:
                parser.Parse(b"", True)
        except expat.ExpatError:
            well_formed = False
        except _GridTooLarge:
            raise _too_large() from None
        except _Unreadable:
            raise _unreadable() from None
        if is_sheet and not well_formed:
            raise _unreadable()


@dataclass
class Table:
    """The data part of a roster file: where the columns are, and the rows below the header
    that are not blank, as (row number in the file, [values])."""

    columns: dict[str, int]
    header_row: int
    rows: list[tuple[int, list]]
    file_format: str
    # The header row's own cells, for a reader that keeps columns its spec does not name.
    header: list = field(default_factory=list)


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
    if unpacked > MAX_UNPACKED_BYTES:  # declared: refused without inflating anything
        raise RosterFileError(_("文件解压后过大,无法读取"))
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise RosterFileError(_("该压缩文件不是Excel(xlsx)文件"))
    try:
        check_workbook(archive)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError):
        raise _unreadable() from None
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
        return Table(columns, header_row, [item for item in rows if item[0] > header_row], "xlsx",
                     dict(rows)[header_row])
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
    return Table(columns, header_row, [item for item in rows if item[0] > header_row], "csv", dict(rows)[header_row])


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
