"""Importing the 12345 hotline's export (xlsx or CSV) into work orders.

A street officer uploads the export the hotline gives the street. The file is read by the
roster's hardened reader (`residents/roster/files.py`: zip-bomb and grid-size checks, CSV in
UTF-8/GBK/GB18030/UTF-16) with this module's header spec; a file that cannot be read, is over
MAX_FILE_BYTES or has more than MAX_ROWS rows is refused as a whole and nothing is written.

Columns (any of the spellings in COLUMN_HEADERS):
- 工单编号 (required): the hotline's number; a ticket is taken once per number, so a number
  already on file is reported as "已存在" and the same file uploaded twice creates nothing new;
- 受理时间 and/or 派单时间 (at least one, required per row): the received time, Asia/Shanghai;
  when both are filled the hotline's acceptance (受理时间) is used: the resident's clock starts
  there, so the deadline is never later than the hotline's own;
- 办理时限/时限类别: 咨询, 督办, 求助, 投诉, 复杂 (or the working days 1/3/5/15, or the due date,
  read back into its class with the working-day calendar); empty means 求助;
- 诉求类别/问题分类: words mapped to a Category (透析, 配药, 食品 ...), anything else "其他";
- 紧急程度: 紧急 or 一般 (empty: 一般);
- 诉求内容 (required), 联系人, 联系电话 (a mobile, as ticket_create requires);
- 地址: read with the address parser against the compounds of the officer's street only; one
  household: that household and its committee; no household but compounds of one committee:
  that committee; otherwise 居委会 (a committee name of the street, with or without 居委会/居民
  委员会) places the row. A row that cannot be placed in one of the street's committees is an
  error for that row.

Every row is checked alone; a bad row is reported by its row number in the file with a Chinese
reason (several reasons when several things are wrong) and skipped, while good rows proceed.
Good rows become tickets through `services.ticket_create` (source hotline, actor = the officer,
`now` = the row's received time, so its deadline counts from that time across holidays). Each
row is its own transaction (ticket_create's, with its own audit event), so a long import never
holds the database (SQLite's single writer) for more than a row, and an interrupted import is
completed by uploading the same file again; one more audit event sums up the import. The result
is returned (not stored) and shown on the page.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers, require
from xiuhua.core.audit import audit
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.places import addresses
from xiuhua.places.models import KIND_RANK, Kind, OrgUnit
from xiuhua.residents.models import Household
from xiuhua.residents.roster.columns import cell_text, squash
from xiuhua.residents.roster.files import HeaderSpec, RosterFileError, Table, open_table

from . import services
from .calendar import DeadlineClass, WorkCalendar
from .models import Category, Source, Ticket, Urgency
from .selectors import calendar_is_maintained

MAX_FILE_BYTES = 10 * 1024 * 1024
# Rows are taken one by one through ticket_create (about 4 ms each on SQLite, 8 ms on PostgreSQL,
# with the confirmation SMS queued), inside the request: 2,000 rows stay well under a proxy's timeout.
MAX_ROWS = 2_000
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A received time this far ahead of the server's clock is a mistake in the file.
FUTURE_SLACK = dt.timedelta(minutes=5)
MAX_EXTERNAL_NUMBER = 40

COLUMN_HEADERS: dict[str, tuple[str, ...]] = {
    "external_number": ("工单编号", "工单号", "12345工单号", "12345工单编号", "热线工单号", "工单流水号", "编号"),
    "accepted_at": ("受理时间", "来电时间", "受理日期", "登记时间"),
    "dispatched_at": ("派单时间", "派发时间", "转派时间", "交办时间"),
    "deadline_class": ("办理时限", "时限类别", "办理时限类别", "时限", "处理时限"),
    "category": ("诉求类别", "问题分类", "诉求分类", "问题类别", "事项分类", "类别"),
    "urgency": ("紧急程度", "缓急程度", "紧急度"),
    "description": ("诉求内容", "来电内容", "问题描述", "诉求描述", "工单内容", "内容"),
    "requester_name": ("联系人", "来电人", "诉求人", "市民姓名", "姓名"),
    "requester_phone": ("联系电话", "来电号码", "联系方式", "手机号", "手机号码", "电话"),
    "address": ("地址", "诉求地址", "事发地址", "联系地址", "详细地址"),
    "committee": ("居委会", "所属居委", "居委", "居村委", "居委会名称", "所属居委会"),
}
COLUMN_LABELS = {
    "external_number": gettext_lazy("工单编号"),
    "accepted_at": gettext_lazy("受理时间"),
    "dispatched_at": gettext_lazy("派单时间"),
    "deadline_class": gettext_lazy("办理时限"),
    "category": gettext_lazy("诉求类别"),
    "urgency": gettext_lazy("紧急程度"),
    "description": gettext_lazy("诉求内容"),
    "requester_name": gettext_lazy("联系人"),
    "requester_phone": gettext_lazy("联系电话"),
    "address": gettext_lazy("地址"),
    "committee": gettext_lazy("居委会"),
}
TIME_KEYS = ("accepted_at", "dispatched_at")


def _header_index() -> dict[str, str]:
    return {squash(text): key for key, texts in COLUMN_HEADERS.items() for text in texts}


HOTLINE_HEADERS = HeaderSpec(
    index=_header_index,
    required=frozenset({"external_number", "description"}),
    label=lambda key: str(COLUMN_LABELS[key]),
    order=tuple(COLUMN_HEADERS),
    not_found=lambda: _("没有找到表头:12345工单导出表至少要有“工单编号”“受理时间”(或“派单时间”)和“诉求内容”列"),
)

# Words of the hotline's classification -> our categories, the more specific first.
CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (Category.DIALYSIS, ("透析",)),
    (Category.CHEMOTHERAPY, ("化疗", "放疗", "肿瘤")),
    (Category.WOUND_CARE, ("伤口", "换药")),
    (Category.CHILDBIRTH, ("待产", "分娩", "孕", "产检", "生产")),
    (Category.MENTAL_HEALTH, ("心理", "情绪")),
    (Category.MEDICINE, ("配药", "药品", "买药", "取药", "用药", "慢性病", "慢病")),
    (Category.FOOD, ("食品", "生活物资", "物资", "买菜", "蔬菜", "粮", "食物", "团购")),
    (Category.ELDERLY_CARE, ("老人", "独居", "养老", "高龄")),
    (Category.CHILD_CARE, ("儿童", "婴儿", "婴幼儿", "奶粉", "孩子")),
    (Category.UTILITIES, ("水电", "停水", "停电", "燃气", "煤气", "供水", "供电")),
)

DEADLINE_WORDS: tuple[tuple[str, str], ...] = (
    ("复杂", DeadlineClass.COMPLEX),
    ("督办", DeadlineClass.SUPERVISION),
    ("咨询", DeadlineClass.CONSULTATION),
    ("投诉", DeadlineClass.COMPLAINT),
    ("求助", DeadlineClass.HELP),
)
DEADLINE_BY_DAYS = {1: DeadlineClass.CONSULTATION, 3: DeadlineClass.SUPERVISION, 5: DeadlineClass.HELP,
                    15: DeadlineClass.COMPLEX}
URGENT_WORDS = ("紧急", "特急", "加急", "急")
NORMAL_WORDS = ("一般", "普通", "正常", "常规")

_COMMITTEE_SUFFIX = re.compile(r"(?:居民委员会|村民委员会|居委会|村委会|居委|村委)$")
_DATETIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:T|\s)*"
    r"(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?分?$"
)
_DATE_ONLY = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_DATE_PREFIX = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:$|[T\s])")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$")
_DAYS = re.compile(r"^(\d{1,2})(?:个)?(?:工作日|天|日)?$")
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?E\+\d+$", re.IGNORECASE)
# Excel's day 0 (its serial numbers count days from here, with the 1900 leap-year bug folded in).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


# ---------------------------------------------------------------- result


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str  # the column's label, "" for the row as a whole
    message: str


@dataclass(frozen=True)
class CreatedRow:
    row: int
    external_number: str
    ticket_id: int
    ticket_number: str
    committee: str
    placed_by: str  # how the committee was found: 住户 (household), 小区 (compound) or 居委会 (name)
    received_at: dt.datetime
    deadline_at: dt.datetime


@dataclass(frozen=True)
class ExistingRow:
    row: int
    external_number: str
    ticket_number: str  # our number when the order is this street's, else ""


@dataclass
class ImportResult:
    street: OrgUnit
    filename: str
    file_format: str
    rows_total: int
    created: list[CreatedRow] = field(default_factory=list)
    existing: list[ExistingRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems})


# ---------------------------------------------------------------- reading values


class _RowError(ValueError):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _aware(value: dt.datetime) -> dt.datetime:
    if timezone.is_aware(value):
        return value
    return value.replace(tzinfo=SHANGHAI)


def parse_received(value) -> dt.datetime:
    """A received time: an Excel date-time, a serial number, or text such as 2022-04-01 18:30,
    2022/4/1 18:30:05, 2022年4月1日 18时30分 or 20220401183000. Naive times are Asia/Shanghai.
    A date without a time is refused: the hotline records the minute."""
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, dt.date):
        raise ValueError(_("只有日期,缺少时分"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 20_000 < value < 80_000:
            raise ValueError(_("无法识别的时间"))
        if float(value).is_integer():
            raise ValueError(_("只有日期,缺少时分"))
        moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))
        return _aware(moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6)))
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    if not text:
        raise ValueError(_("缺少受理时间"))
    found = _DATETIME.match(text) or _COMPACT.match(text)
    if found is None:
        if _DATE_ONLY.match(text):
            raise ValueError(_("只有日期,缺少时分"))
        raise ValueError(_("无法识别的时间“%(text)s”,请写成 2022-04-01 18:30") % {"text": text[:30]})
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in found.groups())
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)
    except ValueError:
        raise ValueError(_("时间不存在:“%(text)s”") % {"text": text[:30]}) from None


def parse_deadline_class(value, received_at: dt.datetime | None, calendar: WorkCalendar) -> str:
    """咨询/督办/求助/投诉/复杂 (with or without 类/事项), a number of working days (1, 3, 5, 15), or
    a due date read back into its class; empty: 求助."""
    if isinstance(value, dt.date):
        if received_at is None:
            return DeadlineClass.HELP  # the row is refused for its received time already
        due = value.date() if isinstance(value, dt.datetime) else value
        days = calendar.working_days_between(timezone.localtime(received_at, SHANGHAI).date(), due)
        if days in DEADLINE_BY_DAYS:
            return DEADLINE_BY_DAYS[days]
        raise ValueError(ngettext(
            "办理时限为%(n)d个工作日,不是1、3、5或15个工作日", "办理时限为%(n)d个工作日,不是1、3、5或15个工作日", days,
        ) % {"n": days})
    text = squash(cell_text(value))
    if not text:
        return DeadlineClass.HELP
    for word, klass in DEADLINE_WORDS:
        if word in text:
            return klass
    days_match = _DAYS.match(text)
    if days_match and int(days_match[1]) in DEADLINE_BY_DAYS:
        return DEADLINE_BY_DAYS[int(days_match[1])]
    found = _DATE_PREFIX.match(unicodedata.normalize("NFKC", cell_text(value)).strip())
    if found:
        try:
            due = dt.date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            raise ValueError(_("办理时限的日期不存在:“%(text)s”") % {"text": text[:30]}) from None
        return parse_deadline_class(due, received_at, calendar)
    raise ValueError(_("办理时限“%(text)s”无法识别,应为咨询、督办、求助、投诉或复杂") % {"text": text[:20]})


def parse_category(value) -> str:
    text = squash(cell_text(value))
    for category, words in CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    return Category.OTHER


def parse_urgency(value) -> str:
    text = squash(cell_text(value))
    if not text or any(word in text for word in NORMAL_WORDS):
        return Urgency.NORMAL
    if any(word in text for word in URGENT_WORDS):
        return Urgency.URGENT
    raise ValueError(_("紧急程度“%(text)s”无法识别,应为紧急或一般") % {"text": text[:20]})


def parse_external_number(value) -> str:
    if isinstance(value, float) and value >= 1e15:
        # Excel keeps 15 significant digits: a longer number typed as a number has lost its end.
        raise ValueError(_("工单编号被存成了数字,末几位可能已丢失;请把该列设为文本后重新导出"))
    text = unicodedata.normalize("NFKC", cell_text(value)).strip().replace(" ", "")
    if not text:
        raise ValueError(_("缺少工单编号"))
    if _SCIENTIFIC.match(text):
        raise ValueError(_("工单编号被存成了科学计数法,末几位已丢失;请把该列设为文本后重新导出"))
    if len(text) > MAX_EXTERNAL_NUMBER:
        raise ValueError(ngettext("工单编号过长(超过%(n)d个字符)", "工单编号过长(超过%(n)d个字符)",
                                  MAX_EXTERNAL_NUMBER) % {"n": MAX_EXTERNAL_NUMBER})
    return text


def committee_key(name: str) -> str:
    """国和一村居委会, 国和一村居民委员会, 国和一村 -> 国和一村."""
    return _COMMITTEE_SUFFIX.sub("", squash(name))


# ---------------------------------------------------------------- placing rows in the street


class StreetPlaces:
    """The street's committees, compounds and households, loaded once per import."""

    def __init__(self, street: OrgUnit):
        committees = list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=street.path))
        self.committees = {c.pk: c for c in committees}
        by_key: dict[str, list[OrgUnit]] = defaultdict(list)
        for committee in committees:
            by_key[committee_key(committee.name)].append(committee)
        self._by_key = dict(by_key)
        compounds = list(
            OrgUnit.objects.filter(kind=Kind.COMPOUND, committee_id__in=list(self.committees)).values_list(
                "pk", "name", "aliases", "committee__parent__parent__name", "committee__parent__name", "committee_id"
            )
        )
        self._compound_committee = {row[0]: row[5] for row in compounds}
        self.gazetteer = addresses.CompoundGazetteer([row[:5] for row in compounds])
        self.households: dict[int, tuple[int, int]] = {}  # household -> (committee, compound)
        self._index = addresses.HouseholdIndex([])

    def load_households(self, parsed: list[addresses.ParsedAddress]) -> None:
        """The households of the compounds the addresses name (one query for the whole file)."""
        compound_ids = {cid for p in parsed for cid in p.compound_ids}
        rows = list(Household.objects.filter(compound_id__in=compound_ids).values_list(
            "pk", "compound_id", "building__name", "room", "committee_id"))
        self._index = addresses.HouseholdIndex([row[:4] for row in rows])
        self.households = {row[0]: (row[4], row[1]) for row in rows}

    def by_address(self, parsed: addresses.ParsedAddress | None) -> tuple[int | None, int | None]:
        """(committee, household) from a parsed address: a single household, else the committee
        when every candidate compound is in the same one."""
        if parsed is None:
            return None, None
        household_id = self._index.match(parsed)
        if household_id is not None:
            return self.households[household_id][0], household_id
        committees = {self._compound_committee[c] for c in parsed.compound_ids}
        if len(committees) == 1:
            return committees.pop(), None
        return None, None

    def by_name(self, name: str) -> OrgUnit | None:
        found = self._by_key.get(committee_key(name), [])
        return found[0] if len(found) == 1 else None

    def place(
        self, parsed: addresses.ParsedAddress | None, committee_text: str, *, has_address: bool,
        allow_code: bool = False,
    ) -> tuple[int | None, int | None, str, tuple[str, str] | None]:
        """Where an order goes: (committee, household, placed by, None) by its address, else by
        the committee's name (or, with `allow_code`, its 12-digit code); otherwise (None, None,
        "", (column key, message)) saying what to fix."""
        committee_id, household_id = self.by_address(parsed)
        if committee_id is not None:
            return committee_id, household_id, str(_("住户")) if household_id else str(_("小区")), None
        if committee_text:
            by_code = next((c for c in self.committees.values() if c.code == committee_text), None)
            committee = (by_code if allow_code else None) or self.by_name(committee_text)
            if committee is not None:
                return committee.pk, None, str(_("居委会")), None
            return None, None, "", ("committee", _("居委会“%(name)s”不是本街道的居委会") % {"name": committee_text})
        if has_address:
            return None, None, "", ("address", _("地址无法对应到本街道的住户或小区,请填写居委会"))
        return None, None, "", ("address", _("缺少地址和居委会,无法确定所属居委会"))


# ---------------------------------------------------------------- rows


@dataclass
class HotlineRow:
    row: int
    external_number: str = ""
    received_at: dt.datetime | None = None
    deadline_class: str = DeadlineClass.HELP
    category: str = Category.OTHER
    urgency: str = Urgency.NORMAL
    description: str = ""
    requester_name: str = ""
    requester_phone: str = ""
    address: str = ""
    committee_name: str = ""
    committee_id: int | None = None
    household_id: int | None = None
    placed_by: str = ""
    problems: list[RowProblem] = field(default_factory=list)


def _label(key: str) -> str:
    return str(COLUMN_LABELS[key]) if key else ""


def read_rows(table: Table, *, places: StreetPlaces, calendar: WorkCalendar, now: dt.datetime) -> list[HotlineRow]:
    """Every data row of the file, read and checked alone (problems on the row itself)."""

    def cell(values: list, key: str):
        position = table.columns.get(key)
        return values[position] if position is not None and position < len(values) else ""

    out: list[HotlineRow] = []
    for number, values in table.rows:
        item = HotlineRow(row=number)

        def problem(key: str, message: str, item: HotlineRow = item) -> None:
            item.problems.append(RowProblem(item.row, _label(key), message))

        try:
            item.external_number = parse_external_number(cell(values, "external_number"))
        except ValueError as exc:
            problem("external_number", str(exc))
        raw_time, time_key = "", "accepted_at" if "accepted_at" in table.columns else "dispatched_at"
        for key in TIME_KEYS:
            value = cell(values, key)
            if value not in ("", None):
                raw_time, time_key = value, key
                break
        try:
            item.received_at = parse_received(raw_time)
        except ValueError as exc:
            problem(time_key, str(exc))
        else:
            if item.received_at > now + FUTURE_SLACK:
                problem(time_key, _("%(col)s晚于当前时间") % {"col": _label(time_key)})
                item.received_at = None
        try:
            item.deadline_class = parse_deadline_class(cell(values, "deadline_class"), item.received_at, calendar)
        except ValueError as exc:
            problem("deadline_class", str(exc))
        item.category = parse_category(cell(values, "category"))
        try:
            item.urgency = parse_urgency(cell(values, "urgency"))
        except ValueError as exc:
            problem("urgency", str(exc))
        item.description = cell_text(cell(values, "description")).strip()
        if not item.description:
            problem("description", _("缺少诉求内容"))
        item.requester_name = cell_text(cell(values, "requester_name")).strip()[:50]
        raw_phone = cell_text(cell(values, "requester_phone")).strip()
        try:
            item.requester_phone = normalise_mobile(raw_phone)
        except PhoneError:
            fixed_line = services.landline(raw_phone)
            if fixed_line is None:
                problem("requester_phone", _("联系电话不是有效的手机号码或固定电话"))
            else:
                item.requester_phone = fixed_line
        item.address = cell_text(cell(values, "address")).strip()[:200]
        item.committee_name = cell_text(cell(values, "committee")).strip()[:60]
        out.append(item)

    parsed = {item.row: places.gazetteer.parse(item.address) for item in out if item.address}
    places.load_households([p for p in parsed.values() if p is not None])
    for item in out:
        committee_id, household_id, placed_by, unplaced = places.place(
            parsed.get(item.row), item.committee_name, has_address=bool(item.address)
        )
        if unplaced is not None:
            item.problems.append(RowProblem(item.row, _label(unplaced[0]), unplaced[1]))
        else:
            item.committee_id, item.household_id, item.placed_by = committee_id, household_id, placed_by
    return out


# ---------------------------------------------------------------- import


def import_street_for(actor, street: OrgUnit | None = None) -> OrgUnit:
    """The street an import goes to: the officer's own, or (for a district or city membership)
    the street given, which must be under it. A committee, compound or grid membership is refused."""
    membership = require(actor, Cap.RECORD_TICKET)
    unit = membership.org_unit
    if membership.grid_id or KIND_RANK[Kind(unit.kind)] > KIND_RANK[Kind.STREET]:
        raise PermissionDenied
    if unit.kind == Kind.STREET:
        if street is not None and street.pk != unit.pk:
            raise PermissionDenied
        return unit
    if street is None:
        raise ValidationError({"street": _("请选择街道")})
    if street.kind != Kind.STREET or not covers(membership, street):
        raise PermissionDenied
    return street


def hotline_import(
    *, actor, street: OrgUnit, data: bytes, filename: str, now: dt.datetime | None = None
) -> ImportResult:
    """Take a 12345 export into the street's committees (see the module docstring). A file that
    cannot be used raises ValidationError({"file": ...}) and writes nothing."""
    street = import_street_for(actor, street)
    now = now or timezone.now()
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": _("文件超过10MB,请拆分后上传")})
    try:
        table = open_table(data, filename, HOTLINE_HEADERS)
    except RosterFileError as exc:
        raise ValidationError({"file": exc.messages}) from None
    if not (set(TIME_KEYS) & table.columns.keys()):
        raise ValidationError({"file": _("表头缺少以下列:%(cols)s。") % {"cols": _label("accepted_at")}})
    if len(table.rows) > MAX_ROWS:
        too_many = ngettext(
            "每个文件最多%(n)d条工单,请拆分后再导入", "每个文件最多%(n)d条工单,请拆分后再导入", MAX_ROWS)
        raise ValidationError({"file": too_many % {"n": MAX_ROWS}})
    calendar = WorkCalendar()
    places = StreetPlaces(street)
    rows = read_rows(table, places=places, calendar=calendar, now=now)
    result = ImportResult(street=street, filename=(filename or "")[:200], file_format=table.file_format,
                          rows_total=len(rows))
    _check_repeats(rows)
    _write(actor, rows, places, result, calendar)
    audit(
        actor=actor, action="ticket_import", subject_label=result.filename, personal=True,
        detail={"street": street.pk, "rows": result.rows_total, "created": len(result.created),
                "existing": len(result.existing), "bad": result.bad_rows},
    )
    years = sorted({c.received_at.astimezone(SHANGHAI).year for c in result.created})
    for year in years:
        if not calendar_is_maintained(year):
            result.warnings.append(_(
                "%(year)d年的节假日尚未维护,办理时限暂按周一至周五计算(未扣除节假日);请管理员补录后核对时限"
            ) % {"year": year})
    return result


def _check_repeats(rows: list[HotlineRow]) -> None:
    first_row: dict[str, int] = {}
    for item in rows:
        if not item.external_number:
            continue
        earlier = first_row.setdefault(item.external_number, item.row)
        if earlier != item.row:
            item.problems.append(RowProblem(item.row, _label("external_number"), _(
                "与第%(row)d行的工单编号重复") % {"row": earlier}))


def _write(
    actor, rows: list[HotlineRow], places: StreetPlaces, result: ImportResult, calendar: WorkCalendar
) -> None:
    numbers = [r.external_number for r in rows if r.external_number]
    on_file = dict(Ticket.objects.filter(external_number__in=numbers).values_list("external_number", "pk"))
    ours = dict(Ticket.objects.filter(pk__in=list(on_file.values()), committee_id__in=list(places.committees))
                .values_list("pk", "number"))
    households = Household.objects.in_bulk([r.household_id for r in rows if r.household_id])
    for item in rows:
        if item.external_number in on_file and not any(p.row == item.row and p.column == _label("external_number")
                                                       for p in item.problems):
            result.existing.append(ExistingRow(item.row, item.external_number, ours.get(on_file[item.external_number],
                                                                                        "")))
            continue
        if item.problems:
            result.problems.extend(item.problems)
            continue
        assert item.received_at is not None and item.committee_id is not None
        committee = places.committees[item.committee_id]
        try:
            ticket, token = services.ticket_create(
                actor=actor, source=Source.HOTLINE, category=item.category, urgency=item.urgency,
                description=item.description, committee=committee,
                household=households.get(item.household_id) if item.household_id else None,
                requester_name=item.requester_name, requester_phone=item.requester_phone,
                external_number=item.external_number, deadline_class=item.deadline_class, now=item.received_at,
                calendar=calendar, send_sms=False,
            )
        except ValidationError as exc:
            for message in exc.messages:
                result.problems.append(RowProblem(item.row, "", message))
            continue
        if not token:  # taken meanwhile by another import of the same order
            ours_now = ticket.number if ticket.committee_id in places.committees else ""
            result.existing.append(ExistingRow(item.row, item.external_number, ours_now))
            continue
        result.created.append(CreatedRow(
            row=item.row, external_number=item.external_number, ticket_id=ticket.pk, ticket_number=ticket.number,
            committee=committee.name, placed_by=item.placed_by, received_at=ticket.received_at,
            deadline_at=ticket.deadline_at,
        ))
    result.problems.sort(key=lambda p: p.row)


__all__ = ["HOTLINE_HEADERS", "ImportResult", "hotline_import", "import_street_for"]
