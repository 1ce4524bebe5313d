"""The daily count each committee sends upward (每日防控情况汇总), and its Excel file.

For a calendar day D (Asia/Shanghai), per committee of the user's unit:

- in_isolation: cases begun by D and not closed by the end of D;
- opened / released: cases opened on D, and released on D (transfers and hospital are not
  releases);
- contacts_overdue: contacts due on D that were missed or not reached, or are still unrecorded
  past their time;
- arrivals: people who arrived on D;
- list_open: tracing-list people the committee still has to report on (at the time of reading).

Each figure is one grouped query over the committees, so a street of 30 committees or a
district of 300 costs the same handful of queries.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, fields

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.tracing.models import EntryStatus, ListEntry

from .models import Arrival, ArrivalStatus, CaseStatus, Contact, ContactOutcome, IsolationCase


@dataclass
class DailyRow:
    in_isolation: int = 0
    opened: int = 0
    released: int = 0
    contacts_overdue: int = 0
    arrivals: int = 0
    list_open: int = 0


COLUMN_LABELS = {
    "in_isolation": gettext_lazy("居家隔离中"),
    "opened": gettext_lazy("当日新增隔离"),
    "released": gettext_lazy("当日解除隔离"),
    "contacts_overdue": gettext_lazy("当日漏联系"),
    "arrivals": gettext_lazy("当日抵沪人员"),
    "list_open": gettext_lazy("清单待落实"),
}


def committees_of(user) -> list[OrgUnit]:
    """The committees an isolation figure is given for: the user's own, or those of their unit."""
    membership = active_membership(user)
    if membership is None or not membership.has(Cap.VIEW_ISOLATION):
        return []
    unit = membership.org_unit
    if unit.kind == Kind.COMMITTEE:
        return [unit]
    return list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path).order_by("code", "name"))


def daily_report(
    *, user, day: dt.date, now: dt.datetime | None = None
) -> tuple[list[tuple[OrgUnit, DailyRow]], DailyRow]:
    """Rows per committee of the user's unit, and the total."""
    now = now or timezone.now()
    committees = committees_of(user)
    ids = [c.pk for c in committees]
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    rows = {pk: DailyRow() for pk in ids}

    def add(field: str, counts) -> None:
        for committee_id, n in counts:
            setattr(rows[committee_id], field, n)

    cases = IsolationCase.objects.filter(committee_id__in=ids)
    add("in_isolation", cases.filter(starts_on__lt=end.date()).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=end)).values_list("committee_id").annotate(n=Count("pk")))
    add("opened", cases.filter(created_at__gte=start, created_at__lt=end)
        .values_list("committee_id").annotate(n=Count("pk")))
    add("released", cases.filter(status=CaseStatus.RELEASED, closed_at__gte=start, closed_at__lt=end)
        .values_list("committee_id").annotate(n=Count("pk")))
    missed = Q(outcome__in=[ContactOutcome.MISSED, ContactOutcome.NOT_REACHED]) | Q(outcome="", due_at__lte=now)
    add("contacts_overdue", Contact.objects.filter(committee_id__in=ids, due_at__gte=start, due_at__lt=end)
        .filter(missed).values_list("committee_id").annotate(n=Count("pk")))
    # Registrations from phones that staff merged into another or rejected are not arrivals.
    add("arrivals", Arrival.objects.filter(committee_id__in=ids, arrival_date=day)
        .exclude(status__in=[ArrivalStatus.MERGED, ArrivalStatus.REJECTED])
        .values_list("committee_id").annotate(n=Count("pk")))
    add("list_open", ListEntry.objects.filter(committee_id__in=ids, status=EntryStatus.ASSIGNED)
        .values_list("committee_id").annotate(n=Count("pk")))
    total = DailyRow()
    for row in rows.values():
        for f in fields(DailyRow):
            setattr(total, f.name, getattr(total, f.name) + getattr(row, f.name))
    return [(c, rows[c.pk]) for c in committees], total


def daily_report_xlsx(
    *, unit_name: str, day: dt.date, rows: list[tuple[OrgUnit, DailyRow]], total: DailyRow
) -> bytes:
    """The report as an .xlsx: a title, one row per committee, a total row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = day.isoformat()
    sheet.append([_("%(unit)s 每日防控情况汇总 %(day)s") % {"unit": unit_name, "day": day.isoformat()}])
    sheet["A1"].font = Font(bold=True, size=14)
    headers = [_("居委会"), _("区划代码"), *[str(label) for label in COLUMN_LABELS.values()]]
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
    for committee, row in rows:
        sheet.append([committee.name, committee.code, *[getattr(row, key) for key in COLUMN_LABELS]])
    sheet.append([_("合计"), "", *[getattr(total, key) for key in COLUMN_LABELS]])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 15
    for letter in "CDEFGH":
        sheet.column_dimensions[letter].width = 12
    sheet.freeze_panes = "C3"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
