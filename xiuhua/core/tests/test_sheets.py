"""core.sheets: a working list's Excel file keeps its values' types and its name is safe."""

import datetime as dt
import io
from urllib.parse import unquote

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.sheets import (
    DATE,
    DATETIME,
    INT,
    NUMBER,
    PERCENT,
    Column,
    ListSheet,
    list_columns,
    safe_filename,
    xlsx_response,
)

COLUMNS = list_columns(Column("名称"), Column("人数", INT), Column("体温", NUMBER), Column("日期", DATE),
                       Column("时间", DATETIME), Column("比率", PERCENT), Column("手写", css="print-only"))


def test_values_keep_their_types_and_formats():
    moment = timezone.make_aware(dt.datetime(2026, 3, 1, 1, 30, 15, 123456), dt.UTC)
    sheet = ListSheet(COLUMNS, title="标题", filters="全部", rows=[
        ["第一\n第二", 12, 37.8, dt.date(2026, 3, 1), moment, 0.625, ""],
        ["", None, None, None, None, 0, None],
    ])
    book = load_workbook(io.BytesIO(sheet.xlsx()))
    rows = list(book.active.iter_rows())
    assert [c.value for c in rows[2]] == ["序号", "名称", "人数", "体温", "日期", "时间", "比率", "手写"]
    first = rows[3]
    assert [c.value for c in first] == [
        1, "第一\n第二", 12, 37.8, dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 1, 9, 30, 15), 0.625, None]
    assert [c.number_format for c in first[:1] + first[2:7]] == [
        "0", "0", "0.0", "yyyy-mm-dd", "yyyy-mm-dd hh:mm", "0%"]
    assert first[1].alignment.wrap_text and first[4].is_date and first[5].is_date
    assert [c.value for c in rows[4]] == [2, None, None, None, None, None, 0, None]
    assert sheet.count == 2 and book.active.freeze_panes == "A4"


def test_a_row_of_the_wrong_width_or_a_percent_as_text_is_a_programming_error():
    with pytest.raises(ValueError):
        ListSheet(COLUMNS, title="t", filters="f", rows=[["只有一列"]]).xlsx()
    with pytest.raises(TypeError):
        ListSheet(COLUMNS, title="t", filters="f", rows=[["a", 1, 1.0, None, None, "62%", ""]]).xlsx()


def test_the_download_has_a_safe_chinese_name_and_an_ascii_fallback():
    response = xlsx_response(ListSheet(COLUMNS, title="t", filters="f", rows=[]), filename='国和一村/居委会:"待联系"',
                             fallback="contacts due")
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="contacts-due-') and "filename*=UTF-8''" in disposition
    shown = unquote(disposition.split("filename*=UTF-8''")[1])
    assert shown.startswith("国和一村-居委会-待联系-") and shown.endswith(".xlsx")
    assert response["Cache-Control"] == "private, no-store"
    assert safe_filename("\u202eevil\u200b.exe") == "evil-.exe" and safe_filename("///") == "list"
