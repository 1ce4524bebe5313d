"""The board as an Excel file: the page's columns, in its order, with its filters, every row (not
one page of fifty). No names, phones or addresses: the board shows none either."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .calendar import WorkCalendar
from .escalation import deadline_state
from .models import Ticket

SHEET_TIME = "yyyy-mm-dd hh:mm"


def board_columns() -> list[str]:
    """The board's columns, 序号 first, as the page shows them."""
    return [_("序号"), _("编号"), _("类别"), _("紧急程度"), _("接收时间"), _("办理时限"), _("剩余时间"), _("状态"),
            _("办理方"), _("督办")]


def board_xlsx(tickets: Iterable[Ticket], *, title: str, filters: str, now: dt.datetime, state_labels: dict,
               remaining_text, where_text) -> bytes:
    """The rows of `tickets` (already filtered and ordered as the board) in one sheet: a title,
    the filters in words, the header and one row per order. Written row by row (write-only), so
    ten thousand open orders take little memory."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("工单"))
    sheet.column_dimensions["A"].width = 6
    for letter in "BCDEFGHIJ":
        sheet.column_dimensions[letter].width = 16
    sheet.column_dimensions["G"].width = 22
    sheet.freeze_panes = "A4"
    sheet.append([_cell(sheet, title, Font(bold=True, size=14))])
    sheet.append([filters])
    sheet.append([_cell(sheet, label, Font(bold=True)) for label in board_columns()])
    calendar = WorkCalendar()
    for index, ticket in enumerate(tickets, start=1):
        state = deadline_state(ticket, now, calendar)
        status = ticket.get_status_display()
        if ticket.extension == "requested":
            status = f"{status} {ticket.get_extension_display()}"
        sheet.append([
            index, ticket.number, ticket.get_category_display(), ticket.get_urgency_display(),
            _time(sheet, ticket.received_at), _time(sheet, ticket.deadline_at),
            f"{state_labels[state]} {remaining_text(ticket.deadline_at - now)}", status, where_text(ticket),
            ticket.get_escalation_display() if ticket.escalation else "—",
        ])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet, value, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = font
    return cell


def _time(sheet, moment: dt.datetime) -> WriteOnlyCell:
    """Excel has no time zones: Beijing time, as the page shows it, formatted as a time."""
    cell = WriteOnlyCell(sheet, value=timezone.localtime(moment).replace(tzinfo=None))
    cell.number_format = SHEET_TIME
    return cell
