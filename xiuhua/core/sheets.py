"""A working list (工作清单) as an Excel file, from the same column declaration as its page.

Each list declares its columns once (`list_columns(Column(...), ...)`, 序号 first); the page's
table header is rendered from that declaration (`{% include "core/_list_head.html" %}`) and the
Excel file's header row is written from it, so the two cannot drift. The file is one sheet: the
title, the page's filters in words, the header, then one row per item, numbered from 1. It is
written row by row (openpyxl's write-only mode), so a list of ten thousand rows takes little
memory. Values keep their type: whole numbers and decimals are numbers, dates and times are Excel
dates (Beijing time, as the pages show them) with a number format, a percentage is a fraction
with a percent format. What a row carries is the caller's business: only what the page shows
(masked numbers where the page masks them). Each download is audited by its app.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django import forms
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from .audit import audit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEXT = "text"
INT = "int"
NUMBER = "number"
DATE = "date"
DATETIME = "datetime"
PERCENT = "percent"

FORMATS = {INT: "0", NUMBER: "0.0", DATE: "yyyy-mm-dd", DATETIME: "yyyy-mm-dd hh:mm", PERCENT: "0%"}


@dataclass(frozen=True)
class Column:
    """One column of a working list: its header, the kind of its values in Excel, its width in
    Excel (characters) and the class of the page's header cell (`print-only` for a column that
    only the printed sheet shows, such as a blank one to write in)."""

    label: Any
    kind: str = TEXT
    width: int = 14
    css: str = ""


SEQ = Column(gettext_lazy("序号"), INT, width=6, css="seq")


def list_columns(*columns: Column) -> tuple[Column, ...]:
    """A list's columns, 序号 first."""
    return (SEQ, *columns)


def download_committee_id(membership) -> int | None:
    """The committee a download's audit event is filed under: the one the membership's unit is or
    lies in (none for a street's or district's)."""
    return membership.org_unit.committee_id


def filters_in_words(form: forms.Form, filters: dict, *, everything: str) -> str:
    """The filters a form accepted, in words, for the printed page and the Excel file:
    '类别:透析;时限:已超时'; `everything` when there are none."""
    parts = []
    for name, value in filters.items():
        if value in (None, "", [], ()):
            continue
        field = form.fields[name]
        if isinstance(field, forms.ModelChoiceField):
            shown = field.label_from_instance(value)
        else:
            shown = dict(getattr(field, "choices", ())).get(value, value)
        parts.append(_("%(label)s:%(value)s") % {"label": field.label, "value": shown})
    return ";".join(str(p) for p in parts) if parts else str(everything)


@dataclass
class ListSheet:
    """A working list to download: its columns (from `list_columns`), a title, the filters in
    words and its rows (values without 序号, in the columns' order). `count` is the number of rows
    written, for the download's audit event."""

    columns: Sequence[Column]
    title: str
    filters: str
    rows: Iterable[Sequence[Any]]
    name: str = ""
    count: int = 0

    def xlsx(self) -> bytes:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(_safe_sheet_name(self.name or self.title))
        for number, column in enumerate(self.columns, start=1):
            sheet.column_dimensions[_letter(number)].width = column.width
        sheet.freeze_panes = "A4"
        sheet.append([_styled(sheet, self.title, font=Font(bold=True, size=14))])
        sheet.append([self.filters])
        sheet.append([_styled(sheet, str(c.label), font=Font(bold=True)) for c in self.columns])
        wrap = Alignment(wrap_text=True, vertical="top")
        count = 0
        try:
            for count, row in enumerate(self.rows, start=1):
                values = (count, *row)
                if len(values) != len(self.columns):
                    raise ValueError(f"row {count} has {len(values)} values for {len(self.columns)} columns")
                sheet.append([_cell(sheet, c, value, wrap) for c, value in zip(self.columns, values, strict=True)])
        except Exception:
            sheet.close()  # the write-only sheet's temporary file, not left for the garbage collector
            raise
        self.count = count
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


def xlsx_response(sheet: ListSheet, *, filename: str, fallback: str) -> HttpResponse:
    """The sheet as a download. `filename` is the Chinese name (without .xlsx) that browsers
    show (RFC 5987 `filename*`); `fallback` an ASCII name for old clients. Both get the time."""
    data = sheet.xlsx()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(data, content_type=XLSX)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", fallback).strip("-") or "list"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}-{stamp}.xlsx\"; "
        f"filename*=UTF-8''{quote(safe_filename(filename) + '-' + stamp + '.xlsx', safe='')}"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def safe_filename(name: str) -> str:
    """A file name without path separators, characters Windows refuses, control or invisible
    format characters; at most 80 characters."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+', "-", name)
    return cleaned.strip(" .-")[:80] or "list"


def _safe_sheet_name(name: str) -> str:
    return re.sub(r"[\\/*?:\[\]]+", "-", str(name))[:31] or "Sheet1"


def _letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _styled(sheet, value, *, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = font
    return cell


def _cell(sheet, column: Column, value: Any, wrap: Alignment) -> WriteOnlyCell:
    if value is None or value == "":
        return WriteOnlyCell(sheet, value=None)
    if column.kind == DATETIME and isinstance(value, dt.datetime):
        # Excel has no time zones: Beijing time, as the pages show it, to the second.
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).replace(tzinfo=None, microsecond=0)
    elif column.kind == PERCENT and not isinstance(value, (int, float)):
        raise TypeError(f"{column.label}: a percentage is a fraction, not {type(value).__name__}")
    elif column.kind == TEXT:
        value = str(value)
    cell = WriteOnlyCell(sheet, value=value)
    if column.kind in FORMATS:
        cell.number_format = FORMATS[column.kind]
    elif "\n" in value:
        cell.alignment = wrap
    return cell


def list_download(
    sheet: ListSheet, *, actor, membership, action: str, filename: str, fallback: str, personal: bool = True,
    obj: Any = None, detail: dict | None = None,
) -> HttpResponse:
    """A working list's download, written and then audited as one export: `action` names it on
    the audit page, filed under the membership's committee, with the filters in words and the
    number of rows (and `detail`)."""
    response = xlsx_response(sheet, filename=filename, fallback=fallback)
    audit(actor=actor, action=action, obj=obj, committee_id=download_committee_id(membership),
          subject_label=sheet.filters, personal=personal, detail={"rows": sheet.count, **(detail or {})})
    return response
