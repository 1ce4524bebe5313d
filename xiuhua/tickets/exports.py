"""The board's columns, declared once for its page and its Excel download (core.sheets), and its
rows as the download writes them: every row with the page's filters (not one page of fifty). No
names, phones or addresses: the board shows none either."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from xiuhua.core.sheets import DATETIME, Column, list_columns

from .calendar import WorkCalendar
from .escalation import deadline_state
from .models import Ticket

BOARD_COLUMNS = list_columns(
    Column(_("编号"), width=16), Column(_("类别"), width=12), Column(_("紧急程度"), width=10),
    Column(_("接收时间"), DATETIME, width=16), Column(_("办理时限"), DATETIME, width=16),
    Column(_("剩余时间"), width=22), Column(_("状态"), width=14), Column(_("办理方"), width=22),
    Column(_("督办"), width=12),
)


def board_rows(tickets: Iterable[Ticket], *, now: dt.datetime, state_labels: dict,
               remaining_text: Callable[[dt.timedelta], str], where_text: Callable[[Ticket], str]) -> Iterator[list]:
    """The values of each order (already filtered and ordered as the board), in BOARD_COLUMNS'
    order after 序号."""
    calendar = WorkCalendar()
    for ticket in tickets:
        state = deadline_state(ticket, now, calendar)
        status = ticket.get_status_display()
        if ticket.extension == "requested":
            status = f"{status} {ticket.get_extension_display()}"
        yield [
            ticket.number, ticket.get_category_display(), ticket.get_urgency_display(), ticket.received_at,
            ticket.deadline_at, f"{state_labels[state]} {remaining_text(ticket.deadline_at - now)}", status,
            where_text(ticket), ticket.get_escalation_display() if ticket.escalation else "—",
        ]
