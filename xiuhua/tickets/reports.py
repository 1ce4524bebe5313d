"""The street's daily work-order report (工单日报), and its Excel file.

For a unit (a street, one of its committees, or a district) and a calendar day D in
Asia/Shanghai, [00:00, 24:00), computed from the records, never from what someone typed in.
Orders belong to the unit by their own committee (`Ticket.committee`, where the request came
from), wherever they were dispatched. Everything that happened on D is read from the
TicketEvent rows (action and `at`), not from the current status, so a later move does not
rewrite D, except where noted ("as known when the report is made").

Figures (each one also by category):
- received: orders whose received time is on D, by source (door QR, call, visit, 12345);
- accepted, dispatched, replied, closed, reopened, called back: the accept, dispatch, reply,
  close, reopen and call_back events on D (an order dispatched, closed or reopened twice on D
  counts twice: these are pieces of work done);
- every closing on D is exactly one of:
  - closed on time: not followed by a reopening (as known when the report is made) and made at
    or before the deadline in force at that moment;
  - closed late: not followed by a reopening, and made after that deadline;
  - closed, later reopened: the order came back, so that closing is not counted as a completion,
    on time or late, however fast it was;
- still open and overdue at the end of D: orders received before the end of D whose state at
  the end of D (the last event before it) was open, and whose deadline in force then had passed.
  For today every figure runs up to "now" instead of the end of the day;
- call-backs with a score: call_back events on D with the score recorded on the event itself, so
  an unhappy call-back that led to a reopening still counts (the ticket's own score is cleared on
  reopening). Events without a score are counted apart ("score not on record"), never guessed.

The deadline in force at a moment. `deadline_at` changes only three ways: set at intake, reset
to a fresh deadline of the order's class on reopening, and moved once by an approved extension
(only one can ever be approved; `original_deadline_at` keeps the deadline before it). An approved
extension moves the deadline legitimately, so a closing after the original deadline but within
the extended one is on time, as long as the approval came before the closing. An extension
approved after the closing does not make it on time: the deadline in force at the closing was
the original one. So for a closing not followed by a reopening, the deadline then is
`original_deadline_at` if an extension_approve event follows the closing, else `deadline_at`.
For "overdue at the end of D" the same holds for orders not reopened since; the few orders
reopened after D have their deadline at the end of D rebuilt in Python from their own events and
the working-day calendar (intake, each reopening, the approval with its `extension_days`).

Rates, each shown with its numerator and denominator:
- on-time closing rate = closed on time / all closings on D (a reopened closing counts in the
  denominator and never in the numerator);
- same-day closing rate = orders received on D with a closing on D not followed by a reopening /
  orders received on D;
- satisfied share = call-backs on D scored 4 or 5 / call-backs on D with a score on record;
- average satisfaction = sum of those scores / call-backs on D with a score on record.

Cost: one grouped query for what was received, one for the day's events (with the reopening and
extension checks as correlated EXISTS), one for the orders open and overdue at the end of the
day, one listing the orders reopened since (usually none), and only when there are some, one for
their events and one for the calendar: a street of any size costs the same handful of queries.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from xiuhua.places.models import Kind, OrgUnit

from .calendar import WorkCalendar
from .models import OPEN_STATUSES, Category, Source, Ticket, TicketEvent

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
EVENT_ACTIONS = ("accept", "dispatch", "reply", "close", "reopen", "call_back")
OPEN = [str(s) for s in OPEN_STATUSES]


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        if not self.denominator:
            return None
        return round(100 * self.numerator / self.denominator, 1)


@dataclass
class Figures:
    received: int = 0
    received_door_qr: int = 0
    received_call: int = 0
    received_walk_in: int = 0
    received_hotline: int = 0
    received_sms: int = 0
    accepted: int = 0
    dispatched: int = 0
    replied: int = 0
    closed: int = 0
    closed_on_time: int = 0
    closed_late: int = 0
    closed_reopened: int = 0
    overdue_open: int = 0
    reopened: int = 0
    called_back: int = 0
    scored: int = 0
    satisfied: int = 0
    satisfaction_sum: int = 0
    received_closed_same_day: int = 0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def unscored(self) -> int:
        return self.called_back - self.scored

    @property
    def on_time_rate(self) -> Rate:
        return Rate(self.closed_on_time, self.closed)

    @property
    def same_day_rate(self) -> Rate:
        return Rate(self.received_closed_same_day, self.received)

    @property
    def satisfied_share(self) -> Rate:
        return Rate(self.satisfied, self.scored)

    @property
    def average_satisfaction(self) -> float | None:
        return round(self.satisfaction_sum / self.scored, 2) if self.scored else None


# The figures in the order of the page and the workbook, with their definitions.
COUNT_LABELS: dict[str, tuple] = {
    "received": (
        gettext_lazy("当日接收"),
        gettext_lazy("接收时间在当日的工单"),
    ),
    "received_door_qr": (gettext_lazy("其中:门牌二维码"), ""),
    "received_call": (gettext_lazy("其中:来电"), ""),
    "received_walk_in": (gettext_lazy("其中:来访"), ""),
    "received_hotline": (gettext_lazy("其中:12345热线"), ""),
    "received_sms": (gettext_lazy("其中:短信"), ""),
    "accepted": (
        gettext_lazy("受理"),
        gettext_lazy("当日的受理操作次数"),
    ),
    "dispatched": (
        gettext_lazy("派单"),
        gettext_lazy("当日的派单操作次数(重新打开后再派单另计)"),
    ),
    "replied": (
        gettext_lazy("答复"),
        gettext_lazy("当日的答复操作次数"),
    ),
    "closed": (
        gettext_lazy("办结"),
        gettext_lazy("当日的办结操作次数 = 按时办结 + 超时办结 + 办结后被重新打开"),
    ),
    "closed_on_time": (
        gettext_lazy("按时办结"),
        gettext_lazy("未被重新打开,且不晚于办结当时有效的办理时限(含办结前已批准的延期)"),
    ),
    "closed_late": (
        gettext_lazy("超时办结"),
        gettext_lazy("未被重新打开,且晚于办结当时有效的办理时限(办结后才批准的延期不算)"),
    ),
    "closed_reopened": (
        gettext_lazy("办结后被重新打开"),
        gettext_lazy("当日的办结此后被重新打开(截至出表时),不计为按时办结"),
    ),
    "overdue_open": (
        gettext_lazy("日终仍未办结且已超时"),
        gettext_lazy("日终(当天为截至出表时)状态未办结,且当时有效的办理时限已过"),
    ),
    "reopened": (
        gettext_lazy("重新打开"),
        gettext_lazy("当日的重新打开操作次数"),
    ),
    "called_back": (
        gettext_lazy("回访"),
        gettext_lazy("当日的回访操作次数"),
    ),
    "scored": (
        gettext_lazy("有满意度记录的回访"),
        gettext_lazy("当日回访中记录了满意度的次数"),
    ),
    "unscored": (
        gettext_lazy("未记录评分的回访"),
        gettext_lazy("回访记录中没有评分,无法计入"),
    ),
}
RATE_LABELS: dict[str, tuple] = {
    "on_time_rate": (gettext_lazy("按时办结率"), gettext_lazy("按时办结"), gettext_lazy("当日全部办结")),
    "same_day_rate": (gettext_lazy("当日办结率"), gettext_lazy("当日接收且当日办结(未被重新打开)的工单"),
                      gettext_lazy("当日接收的工单")),
    "satisfied_share": (gettext_lazy("满意率(4-5分)"), gettext_lazy("评分4-5分的回访"),
                        gettext_lazy("有满意度记录的回访")),
}
CATEGORY_COLUMNS = ("received", "accepted", "dispatched", "replied", "closed", "closed_on_time", "closed_late",
                    "closed_reopened", "overdue_open", "reopened", "called_back", "scored")
SOURCE_FIELDS = {Source.DOOR_QR: "received_door_qr", Source.CALL: "received_call", Source.WALK_IN: "received_walk_in",
                 Source.HOTLINE: "received_hotline", Source.SMS: "received_sms"}


@dataclass
class DailyReport:
    unit: OrgUnit
    day: dt.date
    start: dt.datetime
    end: dt.datetime
    cut: dt.datetime  # the end of the day, or now for today
    total: Figures
    by_category: list[tuple[str, str, Figures]] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return self.cut < self.end


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)


def _committee_q(unit: OrgUnit, lookup: str = "committee") -> Q:
    if unit.kind == Kind.COMMITTEE:
        return Q(**{f"{lookup}_id": unit.pk})
    committees = OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path).values("pk")
    return Q(**{f"{lookup}_id__in": committees})


def _after(ref: str = "at") -> QuerySet:
    """Events of the outer row's ticket that come after the outer event (ties by id)."""
    return TicketEvent.objects.filter(ticket_id=OuterRef("ticket_id")).filter(
        Q(at__gt=OuterRef(ref)) | Q(at=OuterRef(ref), pk__gt=OuterRef("pk"))
    )


def daily_report(*, unit: OrgUnit, day: dt.date, now: dt.datetime | None = None) -> DailyReport:
    """The figures of `unit` (street, committee or district) for `day`; see the module docstring."""
    now = now or timezone.now()
    start, end = day_bounds(day)
    cut = min(end, max(now, start))
    per: dict[str, Figures] = {}

    def bucket(category: str) -> Figures:
        return per.setdefault(category, Figures())

    received = Ticket.objects.filter(_committee_q(unit), received_at__gte=start, received_at__lt=cut)
    for row in received.values("category", "source").annotate(n=Count("pk")).order_by():
        figures = bucket(row["category"])
        figures.received += row["n"]
        source_field = SOURCE_FIELDS.get(row["source"])
        if source_field:
            setattr(figures, source_field, getattr(figures, source_field) + row["n"])

    events = TicketEvent.objects.filter(
        _committee_q(unit, "ticket__committee"), at__gte=start, at__lt=cut, action__in=EVENT_ACTIONS
    ).annotate(
        reopened_after=Exists(_after().filter(action="reopen")),
        approved_after=Exists(_after().filter(action="extension_approve")),
    ).annotate(
        deadline_then=Case(
            When(approved_after=True, then=Coalesce(F("ticket__original_deadline_at"), F("ticket__deadline_at"))),
            default=F("ticket__deadline_at"),
        )
    )
    final_close = Q(action="close", reopened_after=False)
    scored = Q(action="call_back", satisfaction__isnull=False)
    aggregates = events.values("ticket__category").annotate(
        accepted=Count("pk", filter=Q(action="accept")),
        dispatched=Count("pk", filter=Q(action="dispatch")),
        replied=Count("pk", filter=Q(action="reply")),
        closed=Count("pk", filter=Q(action="close")),
        closed_on_time=Count("pk", filter=final_close & Q(at__lte=F("deadline_then"))),
        closed_late=Count("pk", filter=final_close & Q(at__gt=F("deadline_then"))),
        closed_reopened=Count("pk", filter=Q(action="close", reopened_after=True)),
        reopened=Count("pk", filter=Q(action="reopen")),
        called_back=Count("pk", filter=Q(action="call_back")),
        scored=Count("pk", filter=scored),
        satisfied=Count("pk", filter=scored & Q(satisfaction__gte=4)),
        satisfaction_sum=Sum("satisfaction", filter=scored),
        received_closed_same_day=Count(
            "ticket", distinct=True,
            filter=final_close & Q(ticket__received_at__gte=start, ticket__received_at__lt=cut),
        ),
    ).order_by()
    for row in aggregates:
        figures = bucket(row.pop("ticket__category"))
        for key, value in row.items():
            setattr(figures, key, value or 0)

    for category, n in _overdue_at(unit, cut):
        bucket(category).overdue_open += n

    total = Figures()
    for figures in per.values():
        total.add(figures)
    labels = dict(Category.choices)
    by_category = [(c, str(labels.get(c, c)), per[c]) for c in Category.values if c in per]
    by_category += [(c, c, f) for c, f in per.items() if c not in labels]
    return DailyReport(unit=unit, day=day, start=start, end=end, cut=cut, total=total, by_category=by_category)


def _overdue_at(unit: OrgUnit, cut: dt.datetime) -> Iterable[tuple[str, int]]:
    """(category, orders) open at `cut` with their deadline then passed."""
    after_cut = TicketEvent.objects.filter(ticket_id=OuterRef("pk"), at__gte=cut)
    state_then = TicketEvent.objects.filter(ticket_id=OuterRef("pk"), at__lt=cut).order_by("-at", "-pk")
    # Orders open now, or touched since the cut (an order closed since may have been open then).
    candidates = Ticket.objects.filter(_committee_q(unit), received_at__lt=cut).filter(
        Q(status__in=OPEN) | Q(Exists(after_cut))
    ).annotate(
        state_then=Subquery(state_then.values("to_status")[:1]),
        reopened_after=Exists(after_cut.filter(action="reopen")),
        approved_after=Exists(after_cut.filter(action="extension_approve")),
    ).filter(state_then__in=OPEN)
    fast = candidates.filter(reopened_after=False).annotate(
        deadline_then=Case(
            When(approved_after=True, then=Coalesce(F("original_deadline_at"), F("deadline_at"))),
            default=F("deadline_at"),
        )
    ).filter(deadline_then__lt=cut)
    yield from fast.values_list("category").annotate(n=Count("pk")).order_by()

    rebuilt = list(candidates.filter(reopened_after=True).values_list(
        "pk", "category", "received_at", "deadline_class", "extension_days"))
    if not rebuilt:
        return
    changes: dict[int, list[tuple[str, dt.datetime]]] = {}
    for ticket_id, action, at in TicketEvent.objects.filter(
        ticket_id__in=[r[0] for r in rebuilt], at__lt=cut, action__in=("reopen", "extension_approve")
    ).order_by("at", "pk").values_list("ticket_id", "action", "at"):
        changes.setdefault(ticket_id, []).append((action, at))
    calendar = WorkCalendar()
    counts: dict[str, int] = {}
    for pk, category, received_at, klass, extension_days in rebuilt:
        if deadline_at_moment(calendar, received_at, klass, extension_days, changes.get(pk, [])) < cut:
            counts[category] = counts.get(category, 0) + 1
    yield from counts.items()


def deadline_at_moment(
    calendar: WorkCalendar, received_at: dt.datetime, klass: str, extension_days: int | None,
    changes: list[tuple[str, dt.datetime]],
) -> dt.datetime:
    """The deadline an order had after the given deadline changes (reopen, extension_approve, in
    order), rebuilt the way the services set it."""
    deadline = calendar.deadline(received_at, klass)
    for action, at in changes:
        if action == "reopen":
            deadline = calendar.deadline(at, klass)
        elif action == "extension_approve":
            last_day = calendar.add_working_days(timezone.localtime(deadline, SHANGHAI).date(), extension_days or 1)
            deadline = dt.datetime.combine(last_day, dt.time(23, 59, 59), tzinfo=SHANGHAI)
    return deadline


# ---------------------------------------------------------------- Excel


# Rates are numbers (a share, shown as a percent), so the sheet can sum, sort and chart them; a
# rate without a denominator is an empty cell, never a dash among numbers.
PERCENT_FORMAT = "0.0%"


def _share(rate: Rate) -> float | None:
    return None if not rate.denominator else rate.numerator / rate.denominator


def _as_percent(cells) -> None:
    for cell in cells:
        cell.number_format = PERCENT_FORMAT


def daily_report_xlsx(report: DailyReport) -> bytes:
    """Counts only: no names, phones or addresses leave with the file."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("汇总")
    title = _("%(unit)s 工单日报 %(day)s") % {"unit": report.unit.name, "day": report.day.isoformat()}
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    if report.partial:
        sheet.append([_("当天尚未结束:数据截至 %(time)s") % {
            "time": timezone.localtime(report.cut, SHANGHAI).strftime("%Y-%m-%d %H:%M")}])
    sheet.append([])
    sheet.append([_("指标"), _("数量"), _("口径")])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    total = report.total
    for key, (label, definition) in COUNT_LABELS.items():
        sheet.append([str(label), getattr(total, key), str(definition)])
    sheet.append([])
    sheet.append([_("比率"), _("数值"), _("分子"), _("分母"), _("分子口径"), _("分母口径")])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for key, (label, numerator, denominator) in RATE_LABELS.items():
        rate: Rate = getattr(total, key)
        sheet.append([str(label), _share(rate), rate.numerator, rate.denominator, str(numerator), str(denominator)])
        _as_percent([sheet.cell(row=sheet.max_row, column=2)])
    sheet.append([_("平均满意度"), total.average_satisfaction, total.satisfaction_sum, total.scored,
                  _("评分之和"), _("有满意度记录的回访")])
    sheet.cell(row=sheet.max_row, column=2).number_format = "0.00"
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 60
    for letter in "DEF":
        sheet.column_dimensions[letter].width = 16

    by_category = book.create_sheet(_("按类别"))
    headers = [_("类别"), *[str(COUNT_LABELS[key][0]) for key in CATEGORY_COLUMNS], _("按时办结率"), _("满意率(4-5分)")]
    by_category.append(headers)
    for cell in by_category[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
    for _category, label, figures in [*report.by_category, ("", _("合计"), total)]:
        by_category.append([label, *[getattr(figures, key) for key in CATEGORY_COLUMNS],
                            _share(figures.on_time_rate), _share(figures.satisfied_share)])
        _as_percent(by_category[by_category.max_row][-2:])
    for cell in by_category[by_category.max_row]:
        cell.font = Font(bold=True)
    by_category.column_dimensions["A"].width = 14
    by_category.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
