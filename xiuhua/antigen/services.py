"""Every write of the antigen module (see models.py for the rules).

- `antigen_report_household(phone=…)`: the household's phone page and the SMS keyword; the phone
  was proven (an SMS code, or the provider's sender) and may report for the living members of the
  households where it is a living resident's mobile; one transaction and one audit event per
  submission.
- `antigen_report(actor=…)`: a building lead or grid worker (record_antigen) for one resident of
  their scope, with an optional photo of the cassette.
- A second report of the same resident and day with another result replaces the first
  (`antigen_report_replace`, old and new result in the event); the same result again changes
  nothing; a positive is replaced only by the committee's staff (confirm_antigen), so a
  mistaken "negative" tap cannot hide it.
- A new positive alerts the committee's staff by SMS at once (`antigen_positive_alert`) and opens
  the confirming single-tube review in the screening module (screening.services_antigen).
- `antigen_confirm_positive`: the committee's staff confirm a positive (the zone module's call
  goes there), `antigen_review_arrange` opens a missing review once a round is open,
  `antigen_photo_open` shows a photo (audited), `antigen_reminder_set` and `antigen_remind` are
  the daily SMS reminder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, access_unit, has_cap, require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_name, mask_phone
from xiuhua.core.images import PhotoError, photo_as_jpeg
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household, LivingStatus, Resident
from xiuhua.sms.services import BulkMessage, sms_send_many, sms_send_staff
from xiuhua.zones.models import PositiveSource
from xiuhua.zones.services import positive_record

from .models import AntigenReport, Channel, ReminderSetting, Result
from .notify import (
    GRID_PURPOSE,
    GRID_TEXT,
    POSITIVE_PURPOSE,
    POSITIVE_TEXT,
    REMIND_PURPOSE,
    REMIND_TEXT,
    committee_staff,
    grid_workers,
)

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_MEMBERS = 20  # one household's submission
# Members who report: those the roster has living here (away members test where they are).
REPORTING = (LivingStatus.HERE,)
# Members in the roster's order: the head first, then by registration.
HEAD_FIRST = Case(When(relation="head", then=Value(0)), default=Value(1), output_field=IntegerField())


def report_day(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now())


def parse_result(value) -> str:
    """"negative"/"阴性"/"阴" and the like → Result; "" for anything else."""
    text = str(value or "").strip().lower()
    for result, words in ((Result.NEGATIVE, ("negative", "阴性", "阴", "-")),
                          (Result.POSITIVE, ("positive", "阳性", "阳", "+")),
                          (Result.INVALID, ("invalid", "无效"))):
        if text in words:
            return result
    return ""


def clean_photo(upload):
    try:
        return photo_as_jpeg(upload, max_bytes=MAX_PHOTO_BYTES)
    except PhotoError as refused:
        raise ValidationError({"photo": refused.messages}) from None


@dataclass
class Outcome:
    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    positives: list[int] = field(default_factory=list)  # report ids of new positives
    reports: list[AntigenReport] = field(default_factory=list)


# ---------------------------------------------------------------- one resident


def _write(resident: Resident, result: str, *, channel: str, actor, now: dt.datetime, photo=None,
           may_replace_positive: bool, outcome: Outcome) -> AntigenReport:
    """Insert or replace today's report of `resident` (inside the caller's transaction)."""
    day = report_day(now)
    report = AntigenReport.objects.select_for_update().filter(resident=resident, day=day).first()
    if report is None:
        try:
            with transaction.atomic():
                report = AntigenReport.objects.create(
                    resident=resident, household_id=resident.household_id, committee_id=resident.committee_id,
                    building_id=resident.household.building_id, day=day, result=result, channel=channel,
                    reported_by=actor if actor is not None and actor.pk else None, reported_at=now)
                if photo is not None:
                    report.photo.save(photo.name, photo, save=True)
        except IntegrityError:  # a parallel report of the same person won: this one replaces it
            report = AntigenReport.objects.select_for_update().get(resident=resident, day=day)
        else:
            outcome.new += 1
            outcome.reports.append(report)
            if result == Result.POSITIVE:
                outcome.positives.append(report.pk)
            return report
    if report.result == result and photo is None:
        outcome.unchanged += 1
        outcome.reports.append(report)
        return report
    if report.result == Result.POSITIVE and result != Result.POSITIVE and not may_replace_positive:
        raise ValidationError({"result": [_("%(name)s今天已上报阳性,如报错请联系居委会更正") % {
            "name": mask_name(resident.name)}]})
    old = report.result
    report.result, report.channel, report.reported_at = result, channel, now
    report.reported_by = actor if actor is not None and actor.pk else None
    if photo is not None:
        report.photo.save(photo.name, photo, save=False)
    report.save()
    audit(actor=actor, action="antigen_report_replace", obj=report, committee_id=report.committee_id,
          subject_label=mask_name(resident.name), personal=True,
          detail={"old": old, "new": result, "channel": channel, "photo": photo is not None})
    outcome.replaced += 1
    outcome.reports.append(report)
    if result == Result.POSITIVE and old != Result.POSITIVE:
        outcome.positives.append(report.pk)
    return report


def _positives(report_ids: list[int], now: dt.datetime) -> None:
    """Alert the committee's staff and open the confirming review, for each new positive."""
    from xiuhua.screening.services_antigen import antigen_review_open

    for report in AntigenReport.objects.filter(pk__in=report_ids).select_related(
            "resident", "household", "building", "building__parent", "committee"):
        review = antigen_review_open(resident=report.resident, now=now)
        if review is not None:
            AntigenReport.objects.filter(pk=report.pk).update(review=review)
        address = f"{report.building.parent.name if report.building.parent else ''}{report.building.name}" \
                  f"{report.household.room}室"
        sent = sum(
            sms_send_staff(user=user, template=POSITIVE_TEXT.code, purpose=POSITIVE_PURPOSE,
                           params={"committee": report.committee.name, "address": address},
                           idempotency_key=f"antigen-positive-{report.pk}-{user.pk}", committee=report.committee)
            for user in committee_staff(report.committee_id)
        )
        audit(actor=None, action="antigen_positive_alert", obj=report, committee_id=report.committee_id,
              subject_label=mask_name(report.resident.name),
              detail={"texts": sent, "review": review.pk if review else None})


def antigen_report(*, actor, resident_id: int, result: str, photo=None,
                   now: dt.datetime | None = None) -> AntigenReport:
    """A building lead, grid worker or committee staff reports one resident of their scope."""
    require(actor, Cap.RECORD_ANTIGEN)
    now = now or timezone.now()
    parsed = parse_result(result)
    if not parsed:
        raise ValidationError({"result": [_("请选择结果:阴性、阳性或无效")]})
    jpeg = clean_photo(photo) if photo is not None else None
    outcome = Outcome()
    with transaction.atomic():
        resident = access_by_id(Resident.objects.select_related("household"), actor, pk=resident_id,
                                cap=Cap.RECORD_ANTIGEN)
        if resident.living_status not in REPORTING:
            raise ValidationError({"result": [_("该居民不在住,无需上报")]})
        report = _write(resident, parsed, channel=Channel.STAFF, actor=actor, now=now, photo=jpeg,
                        may_replace_positive=has_cap(actor, Cap.CONFIRM_ANTIGEN), outcome=outcome)
        if outcome.new:
            audit(actor=actor, action="antigen_report", obj=report, committee_id=report.committee_id,
                  subject_label=mask_name(resident.name), personal=True,
                  detail={"result": parsed, "channel": Channel.STAFF, "photo": jpeg is not None})
        _positives(outcome.positives, now)
    return report


# ---------------------------------------------------------------- a household's phone


def phone_members(phone: str):
    """The residents this phone reports for: the living members of every household where it is
    a living resident's mobile, in household and roster order."""
    households = Resident.objects.filter(mobile=phone, living_status__in=REPORTING).values("household_id")
    return (Resident.objects.filter(household_id__in=households, living_status__in=REPORTING)
            .select_related("household", "household__building", "household__building__parent")
            .order_by("household_id", HEAD_FIRST, "pk"))


def antigen_report_household(*, phone: str, reports: list[tuple[int, str]], channel: str = Channel.PHONE,
                             photos: dict[int, object] | None = None, now: dt.datetime | None = None) -> Outcome:
    """A proven phone reports (resident id, result) pairs for its household's members. Every pair is
    checked before anything is written: a member not of this phone's households (one answer for
    "missing" and "not yours") or an unreadable result refuses the whole submission."""
    now = now or timezone.now()
    if not reports:
        raise ValidationError({"reports": [_("请选择要上报的家庭成员和结果")]})
    if len(reports) > MAX_MEMBERS:
        raise ValidationError({"reports": [_("一次最多上报 %(n)s 人") % {"n": MAX_MEMBERS}]})
    wanted: dict[int, str] = {}
    for resident_id, result in reports:
        parsed = parse_result(result)
        if not parsed:
            raise ValidationError({"result": [_("请选择结果:阴性、阳性或无效")]})
        try:
            wanted[int(resident_id)] = parsed
        except (TypeError, ValueError):
            raise ValidationError({"reports": [_("未找到该家庭成员,请刷新页面后重试")]}) from None
    jpegs = {int(k): clean_photo(v) for k, v in (photos or {}).items() if v is not None}
    outcome = Outcome()
    with transaction.atomic():
        # The day's first reports of this phone's members (the usual case) in one INSERT … SELECT
        # that checks membership itself; anything else (a member reported already, a photo, a
        # resident not of this phone's households) is checked and written row by row below, and
        # a refusal rolls the INSERT back with the rest.
        inserted = {} if jpegs else _insert_new(phone, wanted, channel=channel, now=now)
        if len(inserted) < len(wanted):
            households = Resident.objects.filter(mobile=phone, living_status__in=REPORTING).values("household_id")
            members = set(Resident.objects.filter(pk__in=list(wanted), living_status__in=REPORTING,
                                                  household_id__in=households).values_list("pk", flat=True))
            if members != set(wanted):
                raise ValidationError({"reports": [_("未找到该家庭成员,请刷新页面后重试")]})
        for resident_id, (report_id, _household_id, _committee_id) in sorted(inserted.items()):
            report = AntigenReport(pk=report_id, resident_id=resident_id, result=wanted[resident_id])
            outcome.new += 1
            outcome.reports.append(report)
            if report.result == Result.POSITIVE:
                outcome.positives.append(report_id)
        rest = sorted(set(wanted) - set(inserted))
        if rest:
            residents = {r.pk: r for r in Resident.objects.filter(pk__in=rest).select_related("household")}
            for resident_id in rest:
                _write(residents[resident_id], wanted[resident_id], channel=channel, actor=None, now=now,
                       photo=jpegs.get(resident_id), may_replace_positive=False, outcome=outcome)
        if outcome.new:
            first = min(wanted)
            household_id, committee_id = (inserted[first][1:] if first in inserted
                                          else (residents[first].household_id, residents[first].committee_id))
            audit(actor=None, action="antigen_report", obj=Household(pk=household_id), committee_id=committee_id,
                  subject_label=mask_phone(phone), personal=True,
                  detail={"channel": channel, "new": outcome.new, "results": {
                      str(r.resident_id): r.result for r in outcome.reports}})
        if outcome.positives:
            _positives(outcome.positives, now)
    return outcome


def _insert_new(phone: str, wanted: dict[int, str], *, channel: str, now: dt.datetime) -> dict[int, tuple]:
    """INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING: the wanted residents who live in one of
    this phone's households and have no report today get one. Returns {resident id: (report id,
    household id, committee id)} of the rows written."""
    ops = connection.ops
    ids = sorted(wanted)
    living = list(REPORTING)
    case = " ".join("WHEN %s THEN %s" for _ in ids)
    case_params = [value for resident_id in ids for value in (resident_id, wanted[resident_id])]
    report, resident, household = (ops.quote_name(m._meta.db_table) for m in (AntigenReport, Resident, Household))
    marks = ", ".join(["%s"] * len(ids))
    living_marks = ", ".join(["%s"] * len(living))
    sql = (
        f"INSERT INTO {report} (resident_id, household_id, committee_id, building_id, day, result, channel, photo, "
        f"reported_at) SELECT r.id, r.household_id, r.committee_id, h.building_id, %s, CASE r.id {case} END, %s, '', "
        f"%s FROM {resident} r JOIN {household} h ON h.id = r.household_id "
        f"WHERE r.id IN ({marks}) AND r.living_status IN ({living_marks}) AND r.household_id IN "
        f"(SELECT o.household_id FROM {resident} o WHERE o.mobile = %s AND o.living_status IN ({living_marks})) "
        "ON CONFLICT (resident_id, day) DO NOTHING RETURNING resident_id, id, household_id, committee_id"
    )
    params = [ops.adapt_datefield_value(report_day(now)), *case_params, channel, ops.adapt_datetimefield_value(now),
              *ids, *living, phone, *living]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


# ---------------------------------------------------------------- the committee's follow-up


def _positive_report(actor, report_id: int) -> AntigenReport:
    report = access_by_id(AntigenReport.objects.select_related("resident"), actor, pk=report_id,
                          cap=Cap.CONFIRM_ANTIGEN, lock=True)
    if report.result != Result.POSITIVE:
        raise ValidationError({"report": [_("该上报结果不是阳性")]})
    return report


def antigen_review_arrange(*, actor, report_id: int, now: dt.datetime | None = None) -> AntigenReport:
    """Open the confirming single-tube review of a positive that has none (no round was open when
    it was reported); refused with why when there is still no round."""
    from xiuhua.screening.services_antigen import antigen_review_open

    now = now or timezone.now()
    with transaction.atomic():
        report = _positive_report(actor, report_id)
        if report.review_id is not None:
            raise ValidationError({"report": [_("已安排核酸单管复核")]})
        review = antigen_review_open(resident=report.resident, now=now)
        if review is None:
            raise ValidationError({"report": [_("街道目前没有采样中的核酸筛查轮次,请联系街道开启后再安排复核")]})
        report.review = review
        report.save(update_fields=["review"])
        audit(actor=actor, action="antigen_review_arrange", obj=report, committee_id=report.committee_id,
              subject_label=mask_name(report.resident.name), detail={"review": review.pk})
    return report


def antigen_confirm_positive(*, actor, report_id: int, now: dt.datetime | None = None) -> AntigenReport:
    """The committee's staff have reached the person and confirm the positive antigen result: a
    positive for the zones of the person's building, in this transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        report = _positive_report(actor, report_id)
        if report.confirmed_at is not None:
            raise ValidationError({"report": [_("该阳性已核实")]})
        report.confirmed_at, report.confirmed_by = now, actor
        report.save(update_fields=["confirmed_at", "confirmed_by"])
        audit(actor=actor, action="antigen_positive_confirm", obj=report, committee_id=report.committee_id,
              subject_label=mask_name(report.resident.name), personal=True, detail={"day": report.day.isoformat()})
        positive_record(actor=actor, system=True, building=report.building, day=report.day,
                        source=PositiveSource.ANTIGEN, source_ref=f"antigen-{report.pk}")
    return report


def antigen_photo_open(*, actor, report_id: int):
    """The photo of a report's cassette, for a member who sees the report; every view audited."""
    report = access_by_id(AntigenReport.objects.select_related("resident"), actor, pk=report_id,
                          cap=Cap.VIEW_ANTIGEN)
    if not report.photo:
        raise Http404
    audit(actor=actor, action="antigen_photo_view", obj=report, committee_id=report.committee_id,
          subject_label=mask_name(report.resident.name), personal=True)
    return report.photo.open("rb")


# ---------------------------------------------------------------- reminders


def antigen_reminder_set(*, actor, committee: OrgUnit, hour: int | None) -> ReminderSetting:
    """The committee's staff set the hour (0-23, Beijing time) of the daily reminder, or none."""
    if committee is None or committee.kind != Kind.COMMITTEE:
        raise PermissionDenied
    membership = access_unit(actor, committee, Cap.CONFIRM_ANTIGEN)
    if hour is not None and not (0 <= int(hour) <= 23):
        raise ValidationError({"hour": [_("提醒时间应为 0 到 23 点")]})
    with transaction.atomic():
        setting, _created = ReminderSetting.objects.select_for_update().get_or_create(committee=committee)
        old = setting.hour
        setting.hour = None if hour is None else int(hour)
        setting.updated_by = actor
        setting.save()
        audit(actor=actor, action="antigen_reminder_set", obj=setting, committee_id=committee.pk,
              subject_label=committee.name, detail={"old": old, "new": setting.hour, "role": membership.role})
    return setting


def households_not_reported(committee_id: int, day: dt.date) -> dict[int, str]:
    """Per household of the committee with a member living here and not reported on `day`, the
    mobile a reminder goes to (the head's, else the first member's with one)."""
    from django.db.models import Exists, OuterRef

    reported = AntigenReport.objects.filter(resident=OuterRef("pk"), day=day)
    missing = (Resident.objects.filter(committee_id=committee_id, living_status__in=REPORTING)
               .annotate(done=Exists(reported)).filter(done=False).values("household_id"))
    phones: dict[int, str] = {}
    rows = (Resident.objects.filter(household_id__in=missing, living_status__in=REPORTING).exclude(mobile="")
            .order_by("household_id", HEAD_FIRST, "pk").values_list("household_id", "mobile"))
    for household_id, mobile in rows:
        phones.setdefault(household_id, mobile)
    return phones


def _remind_grid_workers(committee_id: int, day: dt.date) -> int:
    """Text each grid worker of the committee their grid's not-reported count and the list's
    address (the list itself, with names, stays behind their login). Returns texts queued."""
    from django.conf import settings
    from django.db.models import Exists, OuterRef, Q

    reported = AntigenReport.objects.filter(resident=OuterRef("pk"), day=day)
    sent = 0
    for membership in grid_workers(committee_id):
        count = (Resident.objects.filter(committee_id=committee_id, living_status__in=REPORTING)
                 .filter(Q(household__grid_id=membership.grid_id) | Q(household__micro_grid_id=membership.grid_id))
                 .annotate(done=Exists(reported)).filter(done=False).count())
        if count:
            sent += sms_send_staff(
                user=membership.user, template=GRID_TEXT.code, purpose=GRID_PURPOSE,
                params={"grid": membership.grid.name, "count": count, "base": settings.PUBLIC_BASE_URL},
                idempotency_key=f"antigen-grid-{membership.pk}-{day}", committee=membership.org_unit)
    return sent


def antigen_remind(*, now: dt.datetime | None = None) -> int:
    """The sweep: for each committee whose reminder hour has come today and that has not been
    reminded today, queue one SMS per household not yet reported (idempotency key per household
    and day, so a second sweep or a second runner queues nothing). Returns texts queued."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    day = local.date()
    total = 0
    due = ReminderSetting.objects.filter(hour__isnull=False, hour__lte=local.hour).exclude(last_day=day)
    for setting_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            setting = (ReminderSetting.objects.select_for_update(skip_locked=True).filter(pk=setting_id)
                       .exclude(last_day=day).first())
            if setting is None:
                continue
            phones = households_not_reported(setting.committee_id, day)
            messages = [BulkMessage(to=mobile, params={}, idempotency_key=f"antigen-remind-{household_id}-{day}",
                                    committee_id=setting.committee_id)
                        for household_id, mobile in phones.items()]
            queued = sms_send_many(template=REMIND_TEXT.code, purpose=REMIND_PURPOSE, messages=messages)
            grids = _remind_grid_workers(setting.committee_id, day)
            ReminderSetting.objects.filter(pk=setting.pk).update(last_day=day)
            audit(actor=None, action="antigen_reminders_send", obj=setting, committee_id=setting.committee_id,
                  subject_label=day.isoformat(), detail={"households": len(phones), "queued": queued,
                                                         "grid_workers": grids})
            total += queued
    return total
