"""Every write of the volunteers and duty tables. Each checks capability and scope through
core.access (or core.workflow.move, which does), runs in one transaction and writes its audit
event. A volunteer's own actions come from the phone pages after the one phone sign-in
(core.resident_phone): the page has matched the proven phone to the volunteer row and calls the
service with `actor=None`.

The last places of a shift: `duty_sign_up` raises `Shift.filled` with one conditional
`UPDATE … SET filled = filled + 1 WHERE filled < needed` (a CHECK constraint behind it), so of 20
people taking the last 3 places exactly 3 get one; the volunteer's row is locked first, so one
person's two parallel sign-ups cannot both pass the overlap check.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, access_unit, require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_name
from xiuhua.core.keyed_codes import KeyedCode
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import LivingStatus, Resident
from xiuhua.sms.services import BulkMessage, sms_send, sms_send_many
from xiuhua.sms.texts import register_purpose, register_template

from .models import (
    LIVE_DUTY,
    NEEDS_PROOF,
    USABLE,
    Duty,
    DutyStatus,
    Post,
    PostKind,
    Shift,
    Skill,
    Talent,
    TalentStatus,
    TaskSource,
    Volunteer,
    VolunteerTask,
)

LIVING = (LivingStatus.HERE, LivingStatus.AWAY)
# Check-in opens this long before a shift starts and closes this long after it ends.
CHECK_IN_MARGIN = dt.timedelta(minutes=30)
# The evening text of the next day's shifts goes out from this hour (Beijing time).
DUTY_TEXT_HOUR = 20
DETAIL_LIMIT = 60
SHIFT_MAX_NEEDED = 200

DUTY_TEXT = register_template(
    "XH_VOLUNTEER_DUTY", "{name}您好,明天({day})您的志愿者值班:{shifts}。请到岗扫岗位二维码签到。")
DUTY_TEXT_PURPOSE = register_purpose("volunteer_duty", gettext_lazy("志愿者次日值班提醒"))
TASK_TEXT = register_template("XH_VOLUNTEER_TASK", "居委会派给您一项志愿者任务({what}),请在{due}前完成,详情:{url}")
TASK_TEXT_PURPOSE = register_purpose("volunteer_task", gettext_lazy("志愿者任务通知"))

POST_CODE = KeyedCode("xiuhua.volunteers.post.v1")


def post_key(post_pk: int) -> str:
    return POST_CODE.key(post_pk)


def post_url(post_pk: int) -> str:
    """The full URL a post's QR code holds: the check-in page of that post."""
    path = reverse("volunteers:post_door", kwargs={"code": post_key(post_pk)})
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + path


def post_of(key: str) -> int | None:
    return POST_CODE.pk_of(key)


def volunteers_for_phone(phone: str):
    """The volunteer rows a proven phone speaks for (one per committee it signed up with)."""
    return Volunteer.objects.filter(mobile=phone)


def _clean_text(text: str, field: str, limit: int, errors: dict, *, required: str = "") -> str:
    text = " ".join((text or "").split())
    if not text and required:
        errors[field] = required
    elif len(text) > limit:
        errors[field] = _("不能超过%(n)s个字") % {"n": limit}
    else:
        try:
            check_person_name(text)
        except ValidationError:
            errors[field] = _("含有不能使用的字符")
    return text


def _committee_of(actor_or_none, compound: OrgUnit) -> None:
    if compound.kind != Kind.COMPOUND:
        raise ValidationError({"compound": _("请选择小区")})
    if actor_or_none is not None:
        access_unit(actor_or_none, compound, Cap.MANAGE_VOLUNTEERS)


@dataclass(frozen=True)
class TalentInput:
    skill: str
    detail: str = ""


def _clean_talents(talents: list[TalentInput], errors: dict) -> list[TalentInput]:
    seen: dict[str, TalentInput] = {}
    for talent in talents:
        if talent.skill not in Skill.values:
            errors["talents"] = _("请选择技能")
            continue
        detail = _clean_text(talent.detail, "talents", DETAIL_LIMIT, errors)
        seen[talent.skill] = TalentInput(talent.skill, detail)
    return list(seen.values())


def _clean_availability(days: str, start: dt.time | None, end: dt.time | None, errors: dict) -> str:
    days = "".join(sorted({d for d in (days or "") if d in "1234567"}))
    if (start is None) != (end is None):
        errors["available_to"] = _("请同时填写可服务的开始和结束时间")
    elif start is not None and end is not None and end <= start:
        errors["available_to"] = _("结束时间应晚于开始时间")
    return days


def _insert_talent(volunteer: Volunteer, talent: TalentInput) -> Talent:
    status = TalentStatus.PENDING if talent.skill in NEEDS_PROOF else TalentStatus.SELF
    return Talent.objects.create(volunteer=volunteer, skill=talent.skill, detail=talent.detail, status=status)


def index_token(skill: str, status: str, detail: str) -> str:
    """One talent in Volunteer.talents_index: "doctor/u/全科", spaces in the detail as "·"."""
    usable = "u" if status in USABLE else "p"
    return f"{skill}/{usable}/{'·'.join(detail.split()).replace('/', '／')}"


def talents_index(volunteer_id: int) -> str:
    """Rewrite the volunteer's search line from their talents (in the caller's transaction)."""
    tokens = [index_token(skill, status, detail) for skill, status, detail in
              Talent.objects.filter(volunteer_id=volunteer_id).order_by("skill")
              .values_list("skill", "status", "detail")]
    line = f" {' '.join(tokens)} " if tokens else ""
    Volunteer.objects.filter(pk=volunteer_id).update(talents_index=line)
    return line


@transaction.atomic
def volunteer_sign_up(*, actor, compound: OrgUnit, mobile: str, name: str = "", resident: Resident | None = None,
                      talents: list[TalentInput] = (), days: str = "", available_from: dt.time | None = None,  # type: ignore[assignment]
                      available_to: dt.time | None = None) -> Volunteer:
    """Sign a person up as a volunteer of the compound's committee: by staff (`actor`) or by the
    person on their phone (`actor=None`, `mobile` the proven phone). A roster resident is linked:
    the one chosen (staff) or the one living resident of the committee with that mobile, whose
    roster name is kept; an outsider is recorded with the name, mobile and compound only."""
    errors: dict[str, str] = {}
    _committee_of(actor, compound)
    try:
        mobile = normalise_mobile(mobile)
    except PhoneError as exc:
        errors["mobile"] = str(exc)
    else:
        if not mobile:
            errors["mobile"] = _("请填写手机号码")
    if resident is None and mobile and "mobile" not in errors:
        matches = list(Resident.objects.filter(committee_id=compound.committee_id, mobile=mobile,
                                               living_status__in=LIVING)[:2])
        if len(matches) == 1:
            resident = matches[0]
    if resident is not None:
        if resident.committee_id != compound.committee_id or resident.living_status not in LIVING:
            errors["resident"] = _("请选择本居委会在住的居民")
        else:
            name = resident.name
    name = _clean_text(name, "name", 50, errors, required=_("请填写姓名"))
    cleaned = _clean_talents(list(talents), errors)
    days = _clean_availability(days, available_from, available_to, errors)
    if errors:
        raise ValidationError(errors)
    if Volunteer.objects.filter(committee_id=compound.committee_id, mobile=mobile).exists():
        raise ValidationError({"mobile": _("这个手机号已登记为本居委会的志愿者")})
    volunteer = Volunteer(compound=compound, resident=resident, name=name, mobile=mobile, available_days=days,
                          available_from=available_from, available_to=available_to, entered_by=actor)
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError:
        raise ValidationError({"mobile": _("这个手机号已登记为本居委会的志愿者")}) from None
    for talent in cleaned:
        _insert_talent(volunteer, talent)
    volunteer.talents_index = talents_index(volunteer.pk)
    audit(actor=actor, action="volunteer_sign_up", obj=volunteer, committee_id=volunteer.committee_id,
          subject_label=f"{mask_name(name)} {compound.name}",
          detail={"roster": resident is not None, "by_staff": actor is not None,
                  "skills": [t.skill for t in cleaned]})
    return volunteer


@transaction.atomic
def volunteer_update(*, actor, volunteer: Volunteer, talents: list[TalentInput], days: str,
                     available_from: dt.time | None, available_to: dt.time | None) -> Volunteer:
    """Change a volunteer's skills and availability (staff, or the volunteer on the phone with
    `actor=None`). A skill kept keeps its confirmation unless its detail changes; a new or
    changed one that needs proof is 待确认 again."""
    if actor is not None:
        volunteer = access_by_id(Volunteer.objects, actor, pk=volunteer.pk, cap=Cap.MANAGE_VOLUNTEERS, lock=True)
    else:
        volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
    errors: dict[str, str] = {}
    cleaned = _clean_talents(list(talents), errors)
    days = _clean_availability(days, available_from, available_to, errors)
    if errors:
        raise ValidationError(errors)
    existing = {t.skill: t for t in volunteer.talents.all()}
    wanted = {t.skill: t for t in cleaned}
    removed = [skill for skill in existing if skill not in wanted]
    Talent.objects.filter(volunteer=volunteer, skill__in=removed).delete()
    changed = []
    for skill, talent in wanted.items():
        old = existing.get(skill)
        if old is None:
            _insert_talent(volunteer, talent)
            changed.append(skill)
        elif old.detail != talent.detail:
            # A changed claim is a new claim: the old one is replaced, and proof is asked again.
            old.delete()
            _insert_talent(volunteer, talent)
            changed.append(skill)
    volunteer.available_days, volunteer.available_from, volunteer.available_to = days, available_from, available_to
    volunteer.save(update_fields=["available_days", "available_from", "available_to"])
    volunteer.talents_index = talents_index(volunteer.pk)
    audit(actor=actor, action="volunteer_update", obj=volunteer, committee_id=volunteer.committee_id,
          subject_label=mask_name(volunteer.name),
          detail={"added_or_changed": changed, "removed": removed, "days": days})
    return volunteer


@transaction.atomic
def talent_decide(*, actor, talent: Talent, confirm: bool) -> Talent:
    """Staff confirm a qualification after seeing proof, or refuse it (who and when are kept)."""

    def change(locked: Talent) -> dict:
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        return {"skill": locked.skill}

    talent = move(talent, "confirm" if confirm else "reject", actor=actor, change=change)
    talents_index(talent.volunteer_id)
    return talent


# --- duty tables -------------------------------------------------------------------------------


@transaction.atomic
def post_create(*, actor, compound: OrgUnit, kind: str, name: str, duties: str = "", required_skill: str = "",
                health_statement: bool = False) -> Post:
    _committee_of(actor, compound)
    errors: dict[str, str] = {}
    if kind not in PostKind.values:
        errors["kind"] = _("请选择岗位类型")
    if required_skill and required_skill not in Skill.values:
        errors["required_skill"] = _("请选择技能")
    name = _clean_text(name, "name", 40, errors, required=_("请填写岗位名称"))
    duties = _clean_text(duties, "duties", 200, errors)
    if errors:
        raise ValidationError(errors)
    post = Post.objects.create(compound=compound, kind=kind, name=name, duties=duties, required_skill=required_skill,
                               health_statement=health_statement, created_by=actor)
    audit(actor=actor, action="volunteer_post_create", obj=post, committee_id=post.committee_id,
          subject_label=f"{compound.name} {name}", detail={"kind": kind, "skill": required_skill})
    return post


def _shift_times(day: dt.date | None, start: dt.time | None, end: dt.time | None, needed: int | None,
                 errors: dict) -> tuple[dt.datetime, dt.datetime] | None:
    if day is None:
        errors["day"] = _("请填写日期")
    if start is None:
        errors["start"] = _("请填写开始时间")
    if end is None:
        errors["end"] = _("请填写结束时间")
    if needed is None or needed < 1 or needed > SHIFT_MAX_NEEDED:
        errors["needed"] = _("需要人数应在1到%(n)s之间") % {"n": SHIFT_MAX_NEEDED}
    if day is None or start is None or end is None:
        return None
    if end <= start:
        errors["end"] = _("结束时间应晚于开始时间")
        return None
    zone = timezone.get_current_timezone()
    return (timezone.make_aware(dt.datetime.combine(day, start), zone),
            timezone.make_aware(dt.datetime.combine(day, end), zone))


@transaction.atomic
def shift_create(*, actor, post: Post, day: dt.date | None, start: dt.time | None, end: dt.time | None,
                 needed: int | None) -> Shift:
    post = access_by_id(Post.objects, actor, pk=post.pk, cap=Cap.MANAGE_VOLUNTEERS)
    errors: dict[str, str] = {}
    times = _shift_times(day, start, end, needed, errors)
    if day is not None and day < timezone.localdate():
        errors["day"] = _("日期不能早于今天")
    if errors or times is None or day is None or needed is None:
        raise ValidationError(errors)
    shift = Shift.objects.create(post=post, day=day, starts_at=times[0], ends_at=times[1], needed=needed,
                                 created_by=actor)
    audit(actor=actor, action="volunteer_shift_create", obj=shift, committee_id=shift.committee_id,
          subject_label=f"{post.name} {day} {start:%H:%M}-{end:%H:%M}", detail={"needed": needed})
    return shift


@transaction.atomic
def shift_update(*, actor, shift: Shift, start: dt.time | None, end: dt.time | None, needed: int | None) -> Shift:
    """Move a shift's times or change how many it needs (never below those signed up). Duties
    keep the shift's times; a volunteer who now has two overlapping duties is flagged on the
    day view, not taken off."""
    shift = access_by_id(Shift.objects.select_related("post"), actor, pk=shift.pk, cap=Cap.MANAGE_VOLUNTEERS,
                         lock=True)
    errors: dict[str, str] = {}
    times = _shift_times(shift.day, start, end, needed, errors)
    if needed is not None and needed < shift.filled:
        errors["needed"] = _("已有%(n)s人报名,需要人数不能少于报名人数") % {"n": shift.filled}
    if errors or times is None or needed is None:
        raise ValidationError(errors)
    before = {"start": timezone.localtime(shift.starts_at).strftime("%H:%M"),
              "end": timezone.localtime(shift.ends_at).strftime("%H:%M"), "needed": shift.needed}
    shift.starts_at, shift.ends_at, shift.needed = times[0], times[1], needed
    shift.save(update_fields=["starts_at", "ends_at", "needed"])
    Duty.objects.filter(shift=shift).update(starts_at=times[0], ends_at=times[1])
    audit(actor=actor, action="volunteer_shift_update", obj=shift, committee_id=shift.committee_id,
          subject_label=f"{shift.post.name} {shift.day}",
          detail={"before": before, "after": {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "needed": needed}})
    return shift


def has_usable_talent(volunteer: Volunteer, skill: str) -> bool:
    return not skill or Talent.objects.filter(volunteer=volunteer, skill=skill, status__in=USABLE).exists()


def overlapping(volunteer_id: int, starts_at: dt.datetime, ends_at: dt.datetime, *, exclude_shift: int | None = None):
    """The volunteer's live duties that overlap [starts_at, ends_at)."""
    rows = Duty.objects.filter(volunteer_id=volunteer_id, status__in=LIVE_DUTY, starts_at__lt=ends_at,
                               ends_at__gt=starts_at)
    return rows.exclude(shift_id=exclude_shift) if exclude_shift else rows


@transaction.atomic
def duty_sign_up(*, actor, shift: Shift, volunteer: Volunteer, now: dt.datetime | None = None) -> Duty:
    """A volunteer takes a place on a shift: on their phone (`actor=None`, the page has matched
    the proven phone to `volunteer`) or put there by staff. Refused: another committee's shift,
    a shift that has ended, a post's required skill the volunteer has not (confirmed), a shift
    that overlaps one of theirs, a full shift, a second sign-up for the same shift."""
    now = now or timezone.now()
    if actor is not None:
        shift = access_by_id(Shift.objects, actor, pk=shift.pk, cap=Cap.MANAGE_VOLUNTEERS)
        volunteer = access_by_id(Volunteer.objects, actor, pk=volunteer.pk, cap=Cap.MANAGE_VOLUNTEERS, lock=True)
    else:
        volunteer = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        shift = Shift.objects.get(pk=shift.pk)
    post = Post.objects.get(pk=shift.post_id)
    if shift.committee_id != volunteer.committee_id:
        raise PermissionDenied
    if shift.ends_at <= now:
        raise ValidationError(_("这个班次已结束"))
    if not has_usable_talent(volunteer, post.required_skill):
        raise ValidationError(_("这个岗位需要已确认的“%(skill)s”技能") % {"skill": Skill(post.required_skill).label})
    if Duty.objects.filter(shift=shift, volunteer=volunteer).exclude(status=DutyStatus.CANCELLED).exists():
        raise ValidationError(_("已报名这个班次"))
    clash = overlapping(volunteer.pk, shift.starts_at, shift.ends_at).select_related("shift__post").first()
    if clash is not None:
        raise ValidationError(_("与已报名的班次时间重叠:%(post)s %(start)s-%(end)s") % {
            "post": clash.shift.post.name, "start": timezone.localtime(clash.starts_at).strftime("%m-%d %H:%M"),
            "end": timezone.localtime(clash.ends_at).strftime("%H:%M")})
    # The place: one conditional UPDATE, so the last places go to exactly as many as there are.
    taken = Shift.objects.filter(pk=shift.pk, filled__lt=F("needed")).update(filled=F("filled") + 1)
    if not taken:
        raise ValidationError(_("这个班次已报满"))
    duty = Duty.objects.create(shift=shift, volunteer=volunteer, assigned_by=actor)
    audit(actor=actor, action="volunteer_duty_sign_up", obj=duty, committee_id=duty.committee_id,
          subject_label=f"{post.name} {shift.day} {mask_name(volunteer.name)}",
          detail={"shift": shift.pk, "by_staff": actor is not None})
    return duty


@transaction.atomic
def duty_health_declare(*, duty: Duty, now: dt.datetime | None = None) -> Duty:
    """The volunteer ticks the health statement for this shift on their phone (the page has
    matched the duty to the proven phone). Refused before the shift's day or once it has ended."""
    now = now or timezone.now()
    duty = Duty.objects.select_for_update().select_related("shift__post").get(pk=duty.pk)
    if duty.status not in (DutyStatus.SIGNED, DutyStatus.ON_DUTY):
        raise ValidationError(_("这个班次已结束或已取消"))
    if timezone.localdate(now) != duty.shift.day:
        raise ValidationError(_("健康承诺请在值班当天填写"))
    if duty.health_declared_at is None:
        duty.health_declared_at = now
        duty.save(update_fields=["health_declared_at"])
        audit(actor=None, action="volunteer_health_statement", obj=duty, committee_id=duty.committee_id,
              subject_label=f"{duty.shift.post.name} {duty.shift.day}")
    return duty


def check_in_window(duty: Duty) -> tuple[dt.datetime, dt.datetime]:
    return duty.starts_at - CHECK_IN_MARGIN, duty.ends_at + CHECK_IN_MARGIN


def duty_check_in(*, actor, duty: Duty, now: dt.datetime | None = None) -> Duty:
    """Check in: by the volunteer at the post's QR (`actor=None`) or by staff, only within the
    shift's window (30 minutes either side), after the health statement where the post asks."""
    now = now or timezone.now()

    def change(locked: Duty) -> dict:
        opens, closes = check_in_window(locked)
        if now < opens:
            raise ValidationError(_("还没到签到时间,%(time)s起可以签到") % {
                "time": timezone.localtime(opens).strftime("%m-%d %H:%M")})
        if now > closes:
            raise ValidationError(_("这个班次的签到时间已过"))
        if locked.shift.post.health_statement and locked.health_declared_at is None:
            raise ValidationError(_("请先填写今天的健康承诺"))
        locked.checked_in_at = now
        return {"by_staff": actor is not None}

    return move(duty, "check_in", actor=actor, change=change, now=now)


def _stamp_household(duty: Duty) -> None:
    volunteer = duty.volunteer
    if volunteer.resident_id is None:
        return
    resident = Resident.objects.filter(pk=volunteer.resident_id, living_status__in=LIVING).first()
    if resident is None:
        return
    from xiuhua.passport.services import stamp_record_for_service

    stamp_record_for_service(household_id=resident.household_id, stamped_on=duty.shift.day,
                             stamped_by=duty.shift.post.created_by, note=f"志愿者值班 {duty.shift.post.name}")


def duty_check_out(*, actor, duty: Duty, now: dt.datetime | None = None) -> Duty:
    """Check out: the minutes from check-in (counted up to the end of the check-in window) are
    added to the volunteer's hours, and a roster volunteer's household gets the week's volunteer
    stamp in the passport (once)."""
    now = now or timezone.now()

    def change(locked: Duty) -> dict:
        assert locked.checked_in_at is not None
        _opens, closes = check_in_window(locked)
        until = min(now, closes)
        minutes = max(int((until - locked.checked_in_at).total_seconds() // 60), 0)
        locked.checked_out_at = now
        locked.minutes = minutes
        Volunteer.objects.filter(pk=locked.volunteer_id).update(minutes_served=F("minutes_served") + minutes)
        _stamp_household(locked)
        return {"minutes": minutes, "by_staff": actor is not None}

    return move(duty, "check_out", actor=actor, change=change, now=now)


def duty_cancel(*, actor, duty: Duty, now: dt.datetime | None = None) -> Duty:
    """Give a place back before the shift starts (the volunteer) or any time before check-in
    (staff)."""
    now = now or timezone.now()

    def change(locked: Duty) -> dict:
        if actor is None and locked.starts_at <= now:
            raise ValidationError(_("班次已开始,不能自行取消,请联系居委会"))
        Shift.objects.filter(pk=locked.shift_id, filled__gt=0).update(filled=F("filled") - 1)
        return {"by_staff": actor is not None}

    return move(duty, "cancel", actor=actor, change=change, now=now)


# --- tasks handed to a volunteer ----------------------------------------------------------------


def task_source(*, actor, source: str, source_id: int):
    """The work order or isolation case a task is made from, as the actor may see it (404
    otherwise), with what the assignment form suggests: the place and the deadline."""
    if source == TaskSource.TICKET:
        from xiuhua.tickets.models import Ticket

        ticket = access_by_id(Ticket.objects.select_related("household__building", "household__compound"), actor,
                              pk=source_id, cap=Cap.VIEW_TICKETS)
        place = ticket.household.address if ticket.household_id else ""
        return ticket, ticket.committee_id, place, ticket.deadline_at, ticket.get_category_display()
    if source == TaskSource.ISOLATION:
        from xiuhua.isolation.models import IsolationCase

        case = access_by_id(IsolationCase.objects.select_related("household__building", "household__compound"),
                            actor, pk=source_id, cap=Cap.VIEW_ISOLATION)
        return case, case.committee_id, case.household.address, None, _("居家隔离户服务")
    raise ValidationError(_("未知的来源"))


@transaction.atomic
def task_assign(*, actor, source: str, source_id: int, volunteer: Volunteer, what: str, place: str,
                due_at: dt.datetime | None, contact: str, skill: str = "",
                now: dt.datetime | None = None) -> VolunteerTask:
    """Hand a work order or an isolation case to a volunteer of the same committee: the task
    keeps what staff write for the volunteer (what, where, by when, whom to call), nothing of the
    record, and the volunteer is texted a link to their phone page."""
    require(actor, Cap.MANAGE_VOLUNTEERS)
    now = now or timezone.now()
    _record, committee_id, _place, _due, _what = task_source(actor=actor, source=source, source_id=source_id)
    volunteer = access_by_id(Volunteer.objects, actor, pk=volunteer.pk, cap=Cap.MANAGE_VOLUNTEERS)
    errors: dict[str, str] = {}
    if volunteer.committee_id != committee_id:
        errors["volunteer"] = _("请选择本居委会的志愿者")
    if skill and skill not in Skill.values:
        errors["skill"] = _("请选择技能")
    elif skill and not has_usable_talent(volunteer, skill):
        errors["volunteer"] = _("这位志愿者没有已确认的“%(skill)s”技能") % {"skill": Skill(skill).label}
    what = _clean_text(what, "what", 200, errors, required=_("请填写任务内容"))
    place = _clean_text(place, "place", 60, errors, required=_("请填写地点"))
    contact = _clean_text(contact, "contact", 60, errors, required=_("请填写联系人及电话"))
    if due_at is None:
        errors["due_at"] = _("请填写完成时限")
    elif due_at <= now:
        errors["due_at"] = _("完成时限应晚于现在")
    if errors or due_at is None:
        raise ValidationError(errors)
    task = VolunteerTask.objects.create(committee_id=committee_id, volunteer=volunteer, source=source,
                                        source_id=source_id, skill=skill, what=what, place=place, due_at=due_at,
                                        contact=contact, assigned_by=actor)
    audit(actor=actor, action="volunteer_task_assign", obj=task, committee_id=committee_id,
          subject_label=f"{TaskSource(source).label} {mask_name(volunteer.name)}",
          detail={"source": source, "source_id": source_id, "skill": skill})
    url = str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("volunteers:my_start")
    sms_send(to=volunteer.mobile, template=TASK_TEXT.code, purpose=TASK_TEXT_PURPOSE,
             params={"what": what[:20], "due": timezone.localtime(due_at).strftime("%m-%d %H:%M"), "url": url},
             idempotency_key=f"volunteer-task-{task.pk}", committee=OrgUnit(pk=committee_id))
    return task


def task_finish(*, actor, task: VolunteerTask, now: dt.datetime | None = None) -> VolunteerTask:
    now = now or timezone.now()

    def change(locked: VolunteerTask) -> dict:
        locked.done_at = now
        return {"by_staff": actor is not None}

    return move(task, "finish", actor=actor, change=change, now=now)


def task_withdraw(*, actor, task: VolunteerTask) -> VolunteerTask:
    return move(task, "withdraw", actor=actor)


def tasks_for(source: str, source_id: int):
    return VolunteerTask.objects.filter(source=source, source_id=source_id)


# --- the day's duty table -----------------------------------------------------------------------


@transaction.atomic
def duty_sheet_print(*, actor, compound: OrgUnit, day: dt.date, count: int) -> None:
    """Record that a day's duty table left on paper (masked names and phone tails)."""
    access_unit(actor, compound, Cap.VIEW_VOLUNTEERS)
    audit(actor=actor, action="volunteer_duty_sheet_print", committee_id=compound.committee_id,
          subject_label=f"{compound.name} {day}", detail={"duties": count})


@transaction.atomic
def post_sheet_print(*, actor, post: Post) -> None:
    audit(actor=actor, action="volunteer_post_sheet_print", obj=post, committee_id=post.committee_id,
          subject_label=f"{post.compound.name} {post.name}")


def duty_texts_send(*, now: dt.datetime | None = None) -> int:
    """From 20:00 Beijing time, text every volunteer their shifts of the next day, once per
    volunteer and day (the SMS outbox's idempotency key `volunteer-duty-<volunteer>-<day>`).
    Returns how many texts were queued."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < DUTY_TEXT_HOUR:
        return 0
    tomorrow = local.date() + dt.timedelta(days=1)
    duties = (Duty.objects.filter(shift__day=tomorrow, status=DutyStatus.SIGNED)
              .select_related("shift__post", "volunteer").order_by("volunteer_id", "starts_at"))
    by_volunteer: dict[int, list[Duty]] = defaultdict(list)
    for duty in duties:
        by_volunteer[duty.volunteer_id].append(duty)
    messages = []
    for volunteer_id, rows in by_volunteer.items():
        volunteer = rows[0].volunteer
        shifts = ";".join(
            f"{timezone.localtime(d.starts_at):%H:%M}-{timezone.localtime(d.ends_at):%H:%M} {d.shift.post.name}"
            for d in rows)
        messages.append(BulkMessage(
            to=volunteer.mobile, idempotency_key=f"volunteer-duty-{volunteer_id}-{tomorrow.isoformat()}",
            committee_id=volunteer.committee_id,
            params={"name": mask_name(volunteer.name), "day": f"{tomorrow.month}月{tomorrow.day}日", "shifts": shifts}))
    if not messages:
        return 0
    with transaction.atomic():
        queued = sms_send_many(template=DUTY_TEXT.code, purpose=DUTY_TEXT_PURPOSE, messages=messages)
        if queued:
            audit(actor=None, action="volunteer_duty_texts", subject_label=tomorrow.isoformat(),
                  detail={"count": queued})
    return queued
