"""Lab results: a file from the lab (CSV or xlsx: tube barcode, result, time) or the same rows from
another source, applied to the round's tubes in one transaction.

- A negative pooled tube is only recorded: tubes are moved in batches (core.workflow.move_many,
  one audit event per batch and lab time), so a lab's 100,000 rows take seconds.
- A positive or invalid pooled tube turns each of its people into 待复核 (a Review) in the same
  transaction and queues the text that tells them to stay home; the committee's door-to-door team
  then takes a single tube from each (review_sample), and that tube's result closes the review.
- A positive single (a retest, or a 1:1 tube) opens a PositiveCase for the zone module.

Every row that cannot be used is reported with its reason and changes nothing: a barcode that is
not a tube of this round (unknown, or another round's), a tube never closed, a result that is not
阴性/阳性/无效, a time before the sampling or in the future, a tube already resulted otherwise, the
same tube twice in the file with different results. The same file imported twice is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, require
from xiuhua.core.audit import audit
from xiuhua.core.workflow import move, move_many
from xiuhua.residents.roster.columns import cell_text, squash
from xiuhua.residents.roster.files import HeaderSpec, open_table
from xiuhua.sms.services import BulkMessage, sms_send_many, sms_send_staff
from xiuhua.zones.models import PositiveSource
from xiuhua.zones.services import positive_record

from .barcodes import normalise_barcode
from .models import AWAITING_RESULT, Box, BoxStatus, PoolRule, RoundStatus, ScreeningRound, Tube, TubeMember, TubeStatus
from .models import TestResult as Result
from .models_results import PositiveCase, ResultImport, Review, ReviewStatus
from .notify import OVERDUE_PURPOSE, OVERDUE_TEXT, REVIEW_PURPOSE, REVIEW_TEXT, street_officers

MAX_ROWS = 200_000
MOVE_CHUNK = 5_000
# A lab's clock may run a little ahead of ours; more than this is a wrong time.
FUTURE_SLACK = dt.timedelta(minutes=10)

RESULT_WORDS = {
    Result.NEGATIVE: ("阴性", "阴", "negative", "neg", "-", "(-)", "阴性(-)"),
    Result.POSITIVE: ("阳性", "阳", "positive", "pos", "+", "(+)", "阳性(+)"),
    Result.INVALID: ("无效", "invalid", "检测无效", "样本无效"),
}
_RESULT_BY_WORD = {squash(word).lower(): result for result, words in RESULT_WORDS.items() for word in words}

RESULT_HEADERS = {
    "barcode": ("试管条码", "管码", "试管编号", "样本编号", "条码", "条形码", "Barcode", "Tube"),
    "result": ("检测结果", "结果", "Result"),
    "time": ("检测时间", "报告时间", "结果时间", "时间", "Time"),
}
RESULT_LABELS = {
    "barcode": gettext_lazy("试管条码"), "result": gettext_lazy("检测结果"), "time": gettext_lazy("检测时间"),
}
LAB_FILE = HeaderSpec(
    index=lambda: {squash(text): key for key, texts in RESULT_HEADERS.items() for text in texts},
    required=frozenset({"barcode", "result"}),
    label=lambda key: str(RESULT_LABELS[key]),
    order=("barcode", "result", "time"),
    not_found=lambda: _("没有找到表头:检测结果文件须有“试管条码”和“检测结果”两列(可另有“检测时间”)"),
)


@dataclass(frozen=True)
class ResultRow:
    row: int
    barcode: str  # as given
    result: str  # as given
    at: dt.datetime | None = None  # the lab's time; None: now
    at_text: str = ""  # the time as given, when it could not be read


@dataclass
class ResultsOutcome:
    applied: int = 0
    unchanged: int = 0
    reviews: int = 0
    positives: int = 0
    texts: int = 0
    problems: list[dict] = field(default_factory=list)

    def problem(self, row: ResultRow, message: str) -> None:
        self.problems.append({"row": row.row, "barcode": row.barcode.strip()[:40], "problem": str(message)})


def parse_result(text: str) -> str:
    """"阴性" → negative and the other words labs use; "" when it is none of them."""
    return _RESULT_BY_WORD.get(squash(text).lower(), "")


def results_apply(*, actor, screening_round: ScreeningRound, rows: list[ResultRow],
                  now: dt.datetime | None = None) -> ResultsOutcome:
    """Apply lab rows to the round's tubes (see the module's note); one transaction."""
    require(actor, Cap.RECORD_RESULTS)
    now = now or timezone.now()
    outcome = ResultsOutcome()
    with transaction.atomic():
        screening_round = access_by_id(ScreeningRound.objects, actor, pk=screening_round.pk, cap=Cap.RECORD_RESULTS,
                                       lock=True)
        accepted = _check_rows(screening_round, rows, now, outcome)
        pooled_negative: dict[dt.datetime, list[int]] = defaultdict(list)
        others: list[tuple[Tube, str, dt.datetime]] = []
        for tube, result, at in accepted:
            if result == Result.NEGATIVE and not tube.retest and tube.pool_rule != PoolRule.SINGLE:
                pooled_negative[at].append(tube.pk)
            else:
                others.append((tube, result, at))
        for at, ids in sorted(pooled_negative.items()):
            for start in range(0, len(ids), MOVE_CHUNK):
                outcome.applied += move_many(
                    Tube.objects.filter(round=screening_round, pk__in=ids[start:start + MOVE_CHUNK]), "result",
                    actor=actor, values={"result": Result.NEGATIVE, "resulted_at": at},
                    detail={"round": screening_round.pk, "result": Result.NEGATIVE},
                    subject_label=screening_round.name,
                )
        for tube, result, at in others:
            _apply_one(actor, screening_round, tube, result, at, now, outcome)
    return outcome


def _check_rows(screening_round: ScreeningRound, rows: list[ResultRow], now: dt.datetime,
                outcome: ResultsOutcome) -> list[tuple[Tube, str, dt.datetime]]:
    """The rows that can be applied, as (tube, result, time); the others go to the problems."""
    barcodes = {row.row: normalise_barcode(row.barcode) for row in rows}
    wanted = {b for b in barcodes.values() if b}
    tubes: dict[str, Tube] = {}
    for start in range(0, len(wanted), 10_000):
        chunk = list(itertools.islice(sorted(wanted), start, start + 10_000))
        for tube in Tube.objects.filter(barcode__in=chunk).only(
                "pk", "round_id", "barcode", "status", "result", "retest", "pool_rule", "opened_at", "committee_id"):
            tubes[tube.barcode] = tube
    # A tube twice in the file with different results: none of its rows is used.
    results_by_barcode: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if barcodes[row.row] and parse_result(row.result):
            results_by_barcode[barcodes[row.row]].add(parse_result(row.result))
    conflicting = {b for b, results in results_by_barcode.items() if len(results) > 1}
    seen: set[str] = set()
    accepted: list[tuple[Tube, str, dt.datetime]] = []
    for row in rows:
        barcode = barcodes[row.row]
        result = parse_result(row.result)
        tube = tubes.get(barcode)
        if not barcode:
            outcome.problem(row, _("试管条码为空或格式不对"))
        elif tube is None:
            outcome.problem(row, _("未找到该试管:不是本系统采样的试管"))
        elif tube.round_id != screening_round.pk:
            outcome.problem(row, _("该试管属于其他筛查轮次"))
        elif not result:
            outcome.problem(row, _("检测结果无法识别:应为阴性、阳性或无效"))
        elif barcode in conflicting:
            outcome.problem(row, _("同一试管在文件中出现多次且结果不同,均未录入"))
        elif row.at_text:
            outcome.problem(row, _("检测时间无法识别:%(time)s") % {"time": row.at_text[:40]})
        elif barcode in seen:
            outcome.unchanged += 1  # the same row again
        elif tube.status == TubeStatus.RESULTED:
            if tube.result == result:
                outcome.unchanged += 1
            else:
                outcome.problem(row, _("该试管已录入结果“%(old)s”,与本行不同;如需更正请联系街道") % {
                    "old": Result(tube.result).label})
        elif tube.status not in AWAITING_RESULT:
            outcome.problem(row, _("该试管尚未封管,不能录入结果"))
        else:
            at = row.at or now
            if at > now + FUTURE_SLACK:
                outcome.problem(row, _("检测时间晚于现在,请检查实验室系统时间"))
            elif at < tube.opened_at:
                outcome.problem(row, _("检测时间早于采样时间,请检查实验室系统时间"))
            else:
                seen.add(barcode)
                accepted.append((tube, result, at))
    return accepted


def _set_result(result: str, at: dt.datetime, tube: Tube) -> None:
    tube.result = result
    tube.resulted_at = at


def _apply_one(actor, screening_round: ScreeningRound, tube: Tube, result: str, at: dt.datetime,
               now: dt.datetime, outcome: ResultsOutcome) -> None:
    tube = move(tube, "result", actor=actor, change=partial(_set_result, result, at), now=now)
    outcome.applied += 1
    members = list(TubeMember.objects.filter(tube=tube).select_related("code"))
    if tube.retest:
        for member in members:
            _close_review(actor, screening_round, tube, member, result, now, outcome)
    elif tube.pool_rule == PoolRule.SINGLE:
        if result == Result.POSITIVE:
            for member in members:
                _open_case(screening_round, tube, member, outcome)
        elif result == Result.INVALID:
            _open_reviews(screening_round, tube, members, result, now, outcome)
    elif result in (Result.POSITIVE, Result.INVALID):
        _open_reviews(screening_round, tube, members, result, now, outcome)


def _open_reviews(screening_round: ScreeningRound, tube: Tube, members: list[TubeMember], result: str,
                  now: dt.datetime, outcome: ResultsOutcome) -> None:
    """Each person of the pool to 待复核, and one text per phone (a household shares one)."""
    created = Review.objects.bulk_create(
        [Review(round=screening_round, code=m.code, committee_id=m.code.committee_id, pool_tube=tube,
                pool_result=result, created_at=now) for m in members],
        ignore_conflicts=True,
    )
    outcome.reviews += len(created)
    messages: dict[str, BulkMessage] = {}
    for member in members:
        code = member.code
        if code.phone and code.phone not in messages:
            messages[code.phone] = BulkMessage(
                to=code.phone, params={"round": screening_round.name},
                idempotency_key=f"screening-review-{tube.pk}-{code.phone}", committee_id=code.committee_id,
            )
    outcome.texts += sms_send_many(template=REVIEW_TEXT.code, purpose=REVIEW_PURPOSE, messages=list(messages.values()))
    audit(actor=None, action="screening_reviews_open", obj=tube, committee_id=tube.committee_id,
          subject_label=tube.barcode, detail={"round": screening_round.pk, "result": result, "people": len(members)})


def _open_case(screening_round: ScreeningRound, tube: Tube, member: TubeMember, outcome: ResultsOutcome) -> None:
    code = member.code
    case, created = PositiveCase.objects.get_or_create(
        round=screening_round, code=code,
        defaults={"committee_id": code.committee_id, "building_id": code.building_id, "tube": tube,
                  "sampled_at": member.scanned_at, "resulted_at": tube.resulted_at},
    )
    outcome.positives += int(created)
    if created and code.building is not None:
        # The zones it touches are sealed, or their clocks start again, in this transaction.
        positive_record(actor=None, system=True, building=code.building, source=PositiveSource.SCREENING,
                        day=timezone.localtime(member.scanned_at).date(), source_ref=f"case-{case.pk}")


def _close_review(actor, screening_round: ScreeningRound, tube: Tube, member: TubeMember, result: str,
                  now: dt.datetime, outcome: ResultsOutcome) -> None:
    review = Review.objects.filter(round=screening_round, code=member.code, retest_tube=tube,
                                   status=ReviewStatus.SAMPLED).first()
    if result == Result.POSITIVE:
        _open_case(screening_round, tube, member, outcome)
    if review is None:
        return
    action = {"negative": "clear", "positive": "confirm", "invalid": "resample"}[result]
    move(review, action, actor=None, now=now, change=partial(_close_review_fields, action, now))


def _close_at(now: dt.datetime, tube: Tube) -> None:
    tube.closed_at = now


def _close_review_fields(action: str, now: dt.datetime, review: Review) -> None:
    if action == "resample":
        review.retest_tube = None
    else:
        review.closed_at = now


# ---------------------------------------------------------------- the lab's file


def results_import_file(*, actor, screening_round: ScreeningRound, data: bytes, filename: str,
                        now: dt.datetime | None = None) -> ResultImport:
    """Read a lab file and apply it (results_apply); the import and its problems are kept.
    The same file twice (same bytes) is refused with a ValidationError."""
    require(actor, Cap.RECORD_RESULTS)
    screening_round = access_by_id(ScreeningRound.objects, actor, pk=screening_round.pk, cap=Cap.RECORD_RESULTS)
    digest = hashlib.sha256(data).hexdigest()
    if ResultImport.objects.filter(round=screening_round, sha256=digest).exists():
        raise ValidationError({"file": [_("这个文件已经导入过,未重复录入")]})
    table = open_table(data, filename, LAB_FILE)
    if len(table.rows) > MAX_ROWS:
        raise ValidationError({"file": [_("文件行数超过 %(most)s 行,请分成几个文件上传") % {"most": MAX_ROWS}]})
    rows = [_lab_row(table, number, values) for number, values in table.rows]
    with transaction.atomic():
        outcome = results_apply(actor=actor, screening_round=screening_round, rows=rows, now=now)
        record = ResultImport.objects.create(
            round=screening_round, uploaded_by=actor, filename=filename[:255], sha256=digest, rows_total=len(rows),
            applied=outcome.applied, unchanged=outcome.unchanged, problems=outcome.problems[:5_000],
        )
        audit(actor=actor, action="screening_results_import", obj=record, subject_label=screening_round.name,
              detail={"rows": len(rows), "applied": outcome.applied, "unchanged": outcome.unchanged,
                      "problems": len(outcome.problems), "reviews": outcome.reviews, "positives": outcome.positives})
    record.outcome = outcome  # type: ignore[attr-defined]  # for the page that shows it
    return record


def _lab_row(table, number: int, values: list) -> ResultRow:
    def cell(key: str):
        position = table.columns.get(key)
        return values[position] if position is not None and position < len(values) else ""

    raw_time = cell("time")
    at, at_text = _lab_time(raw_time)
    return ResultRow(row=number, barcode=cell_text(cell("barcode")), result=cell_text(cell("result")), at=at,
                     at_text=at_text)


LAB_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def _lab_time(value) -> tuple[dt.datetime | None, str]:
    """A lab time as Beijing time: an Excel date, or text in one of LAB_TIME_FORMATS; empty is
    (None, ""): the import's time. Unreadable text gives (None, the text)."""
    beijing = timezone.get_default_timezone()
    if isinstance(value, dt.datetime):
        return (value if timezone.is_aware(value) else value.replace(tzinfo=beijing)), ""
    text = cell_text(value).strip()
    if not text:
        return None, ""
    for fmt in LAB_TIME_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=beijing), ""
    return None, text


# ---------------------------------------------------------------- the door-to-door retest


def review_sample(*, actor, review_id: int, barcode: str, now: dt.datetime | None = None) -> Review:
    """The door-to-door team took a single tube from a person under review: the tube is created
    closed (one person) and the review waits for its result."""
    now = now or timezone.now()
    normal = normalise_barcode(barcode)
    if not normal:
        raise ValidationError({"barcode": [_("试管条码为空或格式不对")]})
    with transaction.atomic():
        review = access_by_id(Review.objects.select_related("code", "round"), actor, pk=review_id,
                              cap=Cap.COLLECT_SAMPLES)
        if Tube.objects.filter(barcode=normal).exists():
            raise ValidationError({"barcode": [_("该试管条码已使用过,请换一支试管")]})
        tube = Tube.objects.create(
            round=review.round, site=None, committee_id=review.committee_id, barcode=normal,
            pool_rule=PoolRule.SINGLE, capacity=1, retest=True, opened_at=now,
        )
        TubeMember.objects.create(tube=tube, code=review.code, scanned_at=now)
        move(tube, "close", actor=actor, now=now, change=partial(_close_at, now))

        def attach(locked: Review) -> None:
            locked.retest_tube = tube

        return move(review, "sample", actor=actor, change=attach, now=now)


# ---------------------------------------------------------------- no result after N hours


def results_overdue_alert(*, now: dt.datetime | None = None) -> int:
    """Tubes sampled more than the round's result_alert_hours ago and still without a result are
    marked once, and the round's street officers are texted the count (the Shaoxing lesson: no
    result after 24 hours is likely abnormal). Returns how many tubes were newly overdue."""
    now = now or timezone.now()
    total = 0
    rounds = ScreeningRound.objects.filter(status__in=[RoundStatus.OPEN, RoundStatus.CLOSED]).select_related("scope")
    for screening_round in rounds:
        cutoff = now - dt.timedelta(hours=screening_round.result_alert_hours)
        with transaction.atomic():
            overdue = Tube.objects.select_for_update(skip_locked=True).filter(
                round=screening_round, status__in=AWAITING_RESULT, overdue_alerted_at__isnull=True,
                opened_at__lt=cutoff)
            ids = list(overdue.values_list("pk", flat=True))
            if not ids:
                continue
            Tube.objects.filter(pk__in=ids).update(overdue_alerted_at=now)
            audit(actor=None, action="screening_results_overdue", obj=screening_round,
                  subject_label=screening_round.name,
                  detail={"tubes": len(ids), "hours": screening_round.result_alert_hours})
            params = {"round": screening_round.name, "count": len(ids), "hours": screening_round.result_alert_hours}
            for user in street_officers(screening_round.scope):
                sms_send_staff(user=user, template=OVERDUE_TEXT.code, params=params, purpose=OVERDUE_PURPOSE,
                               idempotency_key=f"screening-overdue-{screening_round.pk}-{now:%Y%m%d%H%M}-{user.pk}")
        total += len(ids)
    return total


# ---------------------------------------------------------------- the lab receives a box


def box_receive(*, actor, screening_round: ScreeningRound, barcode: str, now: dt.datetime | None = None) -> Box:
    """The lab scans a transport box in: the box and its tubes are received, with the time (the
    turnaround's third step). A box of another round, one not handed over yet or received
    already is refused with why."""
    now = now or timezone.now()
    normal = normalise_barcode(barcode)
    if not normal:
        raise ValidationError({"barcode": [_("转运箱编号为空或格式不对")]})
    with transaction.atomic():
        screening_round = access_by_id(ScreeningRound.objects, actor, pk=screening_round.pk, cap=Cap.RECORD_RESULTS)
        box = Box.objects.visible_to(actor).filter(barcode=normal).first()
        if box is None:
            raise ValidationError({"barcode": [_("未找到该转运箱")]})
        if box.round_id != screening_round.pk:
            raise ValidationError({"barcode": [_("该转运箱属于其他筛查轮次")]})
        if box.status == BoxStatus.RECEIVED:
            raise ValidationError({"barcode": [_("该转运箱已于 %(time)s 接收") % {
                "time": timezone.localtime(box.received_at).strftime("%m-%d %H:%M") if box.received_at else ""}]})
        if box.status != BoxStatus.HANDED_OVER:
            raise ValidationError({"barcode": [_("该转运箱尚未交接转运,不能接收")]})

        def received(locked: Box) -> None:
            locked.received_at = now

        box = move(box, "receive", actor=actor, now=now, change=received)
        move_many(Tube.objects.filter(box=box), "receive", actor=actor, committee_id=box.committee_id,
                  subject_label=box.barcode, detail={"box": box.pk})
    return box
