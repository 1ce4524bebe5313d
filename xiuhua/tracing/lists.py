"""The committee's worklist and the street's triage queue as working lists: their columns,
declared once for the page's table header and the Excel download (core.sheets), and the values
each row gives the download. A row carries what the page shows: the phone as the list gave it
(staff call it), the identity number masked, the list's own other columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.core.sheets import DATETIME, Column, list_columns

from .models import EntryStatus, ListEntry

WORKLIST_COLUMNS = list_columns(
    Column(gettext_lazy("姓名"), width=10), Column(gettext_lazy("手机号"), width=13),
    Column(gettext_lazy("清单地址"), width=24), Column(gettext_lazy("花名册住址"), width=24),
    Column(gettext_lazy("清单其他信息"), width=24), Column(gettext_lazy("匹配方式"), width=14),
    Column(gettext_lazy("清单"), width=18), Column(gettext_lazy("清单到达时间"), DATETIME, width=16),
)

TRIAGE_COLUMNS = list_columns(
    Column(gettext_lazy("姓名"), width=10), Column(gettext_lazy("状态"), width=20),
    Column(gettext_lazy("手机号"), width=13), Column(gettext_lazy("证件号码"), width=20),
    Column(gettext_lazy("清单地址"), width=24), Column(gettext_lazy("匹配说明"), width=24),
    Column(gettext_lazy("清单其他信息"), width=24), Column(gettext_lazy("清单"), width=18),
    Column(gettext_lazy("清单到达时间"), DATETIME, width=16),
)


def extra_text(entry: ListEntry) -> str:
    """The list's other columns, one "label:value" a line."""
    return "\n".join(_("%(label)s:%(value)s") % {"label": label, "value": value} for label, value in entry.extra)


def match_text(entry: ListEntry) -> str:
    if entry.match_confidence:
        return _("%(method)s · 可信度%(n)s") % {"method": entry.get_match_method_display(), "n": entry.match_confidence}
    return str(entry.get_match_method_display())


def list_text(entry: ListEntry) -> str:
    return _("%(reference)s · 第%(row)s行") % {"reference": entry.batch.reference, "row": entry.row}


def status_text(entry: ListEntry) -> str:
    """The state, where the entry came from if another street sent it, and a committee's "not at
    this address" with its note."""
    parts = [str(entry.get_status_display())]
    if entry.batch.street_id != entry.street_id:
        parts.append(_("%(street)s转来") % {"street": entry.batch.street.name})
    if entry.status == EntryStatus.NOT_HERE and entry.committee is not None:
        parts.append(f"{entry.committee.name}:{entry.outcome_note}")
    return " · ".join(parts)


def worklist_rows(entries: Iterable[ListEntry]) -> Iterator[list]:
    for e in entries:
        yield [
            e.name, e.phone, e.address_text, e.household.address if e.household is not None else "", extra_text(e),
            match_text(e), e.batch.reference, e.batch.received_at,
        ]


def triage_rows(entries: Iterable[ListEntry]) -> Iterator[list]:
    for e in entries:
        yield [
            e.name, status_text(e), e.phone, e.person.id_masked, e.address_text, e.match_note_text, extra_text(e),
            list_text(e), e.batch.received_at,
        ]
