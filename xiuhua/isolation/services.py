"""Every write of the isolation module: arrivals, cases, the five steps, contacts, alerts.

Contacts are written as a schedule when a case opens (from the opening moment to the end of the
period, at the rule's daily times), so the overdue list is a query and the sweep only has to
mark what passed its grace time as missed. Alerts: a temperature at or above the rule's fever
line, any symptom or an "unwell" contact, and two contacts in a row not reached or missed. One
alert per contact (a unique constraint) listing all its reasons, however often the sweep runs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_unit, require
from xiuhua.core.audit import audit
from xiuhua.core.idnumbers import IdNumberError, check_id
from xiuhua.core.images import PhotoError, jpeg_file, photo_as_jpeg
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.core.workflow import move
from xiuhua.residents.identity import identity_fields
from xiuhua.residents.models import Household, Resident
from xiuhua.supply.services_stock import stock_issue_kit

from . import notify, selectors
from .models import (
    STEP_ORDER,
    Alert,
    AlertKind,
    Arrival,
    ArrivalStatus,
    CaseStatus,
    CaseStep,
    Channel,
    Contact,
    ContactOutcome,
    ContactVia,
    IsolationCase,
    IsolationRule,
    KeyRegion,
    PledgeKind,
    Purchase,
    Step,
    Transport,
)
from .workflows import CLOSED_STATES

MISSED_OUTCOMES = (ContactOutcome.NOT_REACHED, ContactOutcome.MISSED)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# A signature drawn on a phone screen, sent as a PNG data URL: a canvas of a few hundred CSS pixels
# at up to 3 device pixels each is far below these.
SIGNATURE_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 1024 * 1024
SIGNATURE_MIN_SIDE = 100
SIGNATURE_MAX_SIDE = 2000
# Ink: a pixel this dark once flattened onto white; a signature has at least this many of them,
# spread over at least this many pixels one way or the other (a stray tap is not a signature).
INK_LEVEL = 160
MIN_INK_PIXELS = 50
MIN_INK_SPAN = 20


def clean_photo(upload) -> ContentFile:
    """A photo of the signed pledge as a fresh JPEG without EXIF (core.images.photo_as_jpeg)."""
    try:
        return photo_as_jpeg(upload, max_bytes=MAX_PHOTO_BYTES)
    except PhotoError as refused:
        raise ValidationError({"pledge_photo": refused.messages}) from None


def clean_signature(data_url: str) -> ContentFile:
    """A signature drawn on the screen (a canvas sent as a PNG data URL) as a fresh JPEG: only
    `data:image/png;base64,` with strict base64, at most 1 MB decoded, a real PNG of 100 to 2000
    px a side, flattened onto white (a canvas is transparent where nobody drew) and not blank."""

    def refuse(message):
        return ValidationError({"pledge_signature": message})

    unreadable = _("无法识别该签名,请点“重写”后重新签名")
    if not data_url.startswith(SIGNATURE_PREFIX):
        raise refuse(unreadable)
    encoded = data_url[len(SIGNATURE_PREFIX):]
    # Checked before decoding, so an oversized field costs no memory beyond what arrived.
    if len(encoded) > (MAX_SIGNATURE_BYTES + 2) // 3 * 4:
        raise refuse(_("签名图片超过1MB,请点“重写”后重新签名"))
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise refuse(unreadable) from None
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise refuse(_("签名图片超过1MB,请点“重写”后重新签名"))
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as probe:
            width, height = probe.size
            if min(width, height) < SIGNATURE_MIN_SIDE or max(width, height) > SIGNATURE_MAX_SIDE:
                raise refuse(_("签名区大小异常,请刷新页面后重新签名"))
            probe.verify()
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as image:
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise refuse(unreadable) from None
    picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    ink = picture.convert("L").point(lambda level: 255 if level < INK_LEVEL else 0)
    box = ink.getbbox()
    inked = ink.histogram()[255]
    if box is None or inked < MIN_INK_PIXELS or max(box[2] - box[0], box[3] - box[1]) < MIN_INK_SPAN:
        raise refuse(_("签名区是空白的,请本人在框内签名"))
    return jpeg_file(picture)


def rule_in_effect(day: dt.date) -> IsolationRule:
    """The newest rule effective on `day`; the default rule (14 days, 09:00 and 16:00) when none."""
    rule = IsolationRule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if rule is None:
        rule, _created = IsolationRule.objects.get_or_create(effective_from=dt.date(2020, 1, 1))
    return rule


# ---------------------------------------------------------------- arrivals


@transaction.atomic
def arrival_register(
    *,
    actor,
    household: Household,
    name: str,
    id_type: str,
    id_number: str,
    phone: str,
    origin_text: str,
    transport: str,
    arrival_date: dt.date,
    household_size: int = 1,
    transport_number: str = "",
    origin: KeyRegion | None = None,
    channel: str = Channel.STAFF,
    now: dt.datetime | None = None,
) -> Arrival:
    """Register an arrival at a roster household. Staff need MANAGE_ISOLATION over the household;
    their arrival is ACCEPTED, and the same person and arrival day again returns it.

    A self-registration (channel SELF, actor None) comes from a phone page that proved the phone.
    It waits for staff (AWAITING) and is looked up only among this phone's own registrations: the
    same phone, person and day again returns it; anything other phones or staff registered for
    that number is neither looked at nor blocked, so the answer cannot say what exists elsewhere
    (design rule 8) and nobody can register a person's number first to keep them out. Staff see
    such registrations side by side and accept one (case_open), merge or reject the others."""
    now = now or timezone.now()
    self_registered = not (channel == Channel.STAFF or actor is not None)
    if not self_registered:
        access_unit(actor, household.committee, Cap.MANAGE_ISOLATION)
    errors: dict[str, str] = {}
    try:
        name = check_person_name(name)[:50]
    except ValidationError as exc:
        errors["name"] = exc.messages[0]
    else:
        if not name:
            errors["name"] = _("请填写姓名")
    fields: dict[str, str] = {}
    if id_number:
        try:
            fields = identity_fields(id_type, check_id(id_type, id_number).number)
        except IdNumberError as exc:
            errors["id_number"] = str(exc)
    try:
        phone = normalise_mobile(phone or "")
    except PhoneError as exc:
        errors["phone"] = str(exc)
    if not phone and "phone" not in errors:
        errors["phone"] = _("请填写手机号码,每日联系要用")
    if transport not in Transport.values:
        errors["transport"] = _("请选择交通方式")
    if arrival_date > timezone.localdate(now):
        errors["arrival_date"] = _("抵沪日期不能晚于今天")
    if not (origin_text or "").strip() and origin is None:
        errors["origin_text"] = _("请填写从哪里来")
    if not 1 <= int(household_size or 0) <= 20:
        errors["household_size"] = _("同住人数应在1到20之间")
    if errors:
        raise ValidationError(errors)

    def same_registration() -> Arrival | None:
        """The arrival this one repeats, as the unique constraints see it."""
        if not fields:
            return None
        if self_registered:
            return _own_registrations(fields["id_hash"], arrival_date, phone).first()
        existing = Arrival.objects.filter(
            id_hash=fields["id_hash"], arrival_date=arrival_date, status=ArrivalStatus.ACCEPTED
        ).first()
        if existing is not None and existing.committee_id != household.committee_id:
            # Never hand another committee's record to this caller.
            raise ValidationError({"id_number": _("此人当天的抵沪登记已在其他居委会,请与街道核实")})
        return existing

    if (existing := same_registration()) is not None:
        return existing
    resident = (
        Resident.objects.filter(household=household, id_hash=fields["id_hash"]).first() if fields else None
    )
    arrival = Arrival(
        household=household, resident=resident, name=name, phone=phone, origin=origin,
        origin_text=(origin_text or str(origin)).strip()[:60], household_size=int(household_size),
        transport=transport, transport_number=(transport_number or "").strip().upper()[:20],
        arrival_date=arrival_date, channel=channel, created_by=actor if actor is not None and actor.pk else None,
        created_at=now,
        status=ArrivalStatus.AWAITING if self_registered else ArrivalStatus.ACCEPTED,
        **{k: v for k, v in fields.items() if k != "id_last4"},
    )
    try:
        with transaction.atomic():
            arrival.save()
    except IntegrityError:
        existing = same_registration()  # registered meanwhile by a parallel request
        if existing is None:  # pragma: no cover - it was rejected or merged meanwhile
            raise
        return existing
    audit(actor=actor, action="arrival_register", obj=arrival, committee_id=arrival.committee_id,
          subject_label=arrival.name, detail={"channel": channel, "origin": arrival.origin_text,
                                              "status": arrival.status})
    return arrival


def _own_registrations(id_hash: str, arrival_date: dt.date, phone: str):
    """A phone's own live registrations of a person and day (the arrival_self_once_per_phone rows)."""
    return Arrival.objects.filter(
        id_hash=id_hash, arrival_date=arrival_date, phone=phone, channel=Channel.SELF,
        status__in=[ArrivalStatus.AWAITING, ArrivalStatus.ACCEPTED],
    )


# A registration from a phone is checked by staff (workflows.ARRIVAL): accepted when its case opens
# (case_open), merged into another registration of the same person, or rejected.


def arrival_reject(*, actor, arrival: Arrival, reason: str) -> Arrival:
    """Staff found a registration from a phone wrong (not this person, a wrong day, a prank)."""
    reason = (reason or "").strip()

    def change(locked: Arrival) -> None:
        if not reason:
            raise ValidationError({"reason": _("请填写不予通过的原因")})
        locked.status_reason = reason[:200]

    return move(arrival, "reject", actor=actor, change=change, reason=reason)


def arrival_merge(*, actor, arrival: Arrival, into: Arrival, note: str = "") -> Arrival:
    """Staff found a registration from a phone to be the same arrival as `into` (one of theirs,
    with the same identity number): it is kept, linked to `into`, and leaves the waiting list."""

    def change(locked: Arrival) -> dict:
        access_unit(actor, into.committee, Cap.MANAGE_ISOLATION)
        if into.pk == locked.pk or into.id_hash != locked.id_hash or not locked.id_hash:
            raise ValidationError({"into": _("只能合并到同一证件号码的另一条登记")})
        if into.status in (ArrivalStatus.MERGED, ArrivalStatus.REJECTED):
            raise ValidationError({"into": _("不能合并到已合并或未通过核实的登记")})
        locked.status_reason = (note or "").strip()[:200]
        locked.merged_into = into
        return {"into": into.pk}

    return move(arrival, "merge", actor=actor, change=change)


# ---------------------------------------------------------------- cases


def _schedule(case: IsolationCase, rule: IsolationRule, *, start: dt.datetime, end_day: dt.date) -> list[Contact]:
    """The contacts due from `start` to the end of `end_day - 1` (local time), at the rule's times."""
    tz = timezone.get_current_timezone()
    out: list[Contact] = []
    day = timezone.localtime(start).date()
    while day < end_day:
        for t in rule.times():
            due = dt.datetime.combine(day, t, tzinfo=tz)
            if due >= start:
                out.append(Contact(case=case, committee_id=case.committee_id, due_at=due))
        day += dt.timedelta(days=1)
    return out


@transaction.atomic
def case_open(
    *, actor, arrival: Arrival, starts_on: dt.date | None = None, contact_worker=None, now: dt.datetime | None = None
) -> IsolationCase:
    """Open home isolation for an arrival (once): the period from the rule in effect, the five
    steps, and the contact schedule from now to the end of the period."""
    access_unit(actor, arrival.committee, Cap.MANAGE_ISOLATION)
    now = now or timezone.now()
    existing = IsolationCase.objects.filter(arrival=arrival).first()
    if existing is not None:
        return existing
    if Arrival.objects.filter(pk=arrival.pk).values_list("status", flat=True).get() != ArrivalStatus.ACCEPTED:
        # A registration from a phone, checked now; another accepted one for the person and day
        # (the arrival_once constraint) refuses it.
        try:
            move(arrival, "accept", actor=actor, now=now)
        except IntegrityError:
            raise ValidationError(
                {"arrival": _("此人当天已有核实过的抵沪登记,请将本条合并到那条登记,或不予通过")}
            ) from None
    starts_on = starts_on or arrival.arrival_date
    rule = rule_in_effect(starts_on)
    ends_on = starts_on + dt.timedelta(days=rule.period_days)
    if ends_on <= timezone.localdate(now):
        raise ValidationError({"starts_on": _("隔离期已过,无需再开隔离")})
    case = IsolationCase.objects.create(
        arrival=arrival, household_id=arrival.household_id, committee_id=arrival.committee_id, rule=rule,
        starts_on=starts_on, ends_on=ends_on, contact_worker=contact_worker, created_at=now,
    )
    CaseStep.objects.bulk_create([CaseStep(case=case, step=step) for step in STEP_ORDER])
    Contact.objects.bulk_create(_schedule(case, rule, start=now, end_day=ends_on))
    audit(actor=actor, action="isolation_case_open", obj=case, committee_id=case.committee_id,
          subject_label=arrival.name, detail={"starts_on": str(starts_on), "ends_on": str(ends_on)})
    return case


@transaction.atomic
def step_complete(
    *,
    actor,
    case: IsolationCase,
    step: str,
    note: str = "",
    health_form: bool = False,
    pledge_signed: bool = False,
    kit_given: bool = False,
    pledge_photo=None,
    pledge_signature: str = "",
    now: dt.datetime | None = None,
) -> CaseStep:
    """Tick one of the five steps, with who and when. The door visit needs the health form, the
    signed pledge and the kit, and proof of the pledge: either a photo of the signed paper (an
    uploaded file) or the person's signature drawn on the staff member's screen (a PNG data URL),
    not both. Either is stored the same way, as a JPEG without metadata in private storage."""
    access_unit(actor, case.committee, Cap.MANAGE_ISOLATION)
    now = now or timezone.now()
    if step not in Step.values:
        raise ValidationError({"step": _("未知的步骤")})
    proof, kind = None, ""
    if step == Step.DOOR_VISIT:
        if not (health_form and pledge_signed and kit_given):
            raise ValidationError({"step": _("上门时须填写健康登记表、签署隔离承诺书并发放防疫包")})
        pledge_signature = (pledge_signature or "").strip()
        if pledge_photo is None and not pledge_signature:
            raise ValidationError({"pledge_photo": _("请拍下签好的隔离承诺书上传,或请本人在屏幕上签名")})
        if pledge_photo is not None and pledge_signature:
            raise ValidationError({"pledge_signature": _("照片和屏幕签名只需一种,请去掉其中一种")})
        if pledge_photo is not None:
            proof, kind = clean_photo(pledge_photo), PledgeKind.PHOTO
        else:
            proof, kind = clean_signature(pledge_signature), PledgeKind.SIGNATURE
    locked = CaseStep.objects.select_for_update().get(case=case, step=step)
    if locked.done_at is not None:
        return locked
    if step == Step.DOOR_VISIT:
        # The kit handed over at the door comes out of the committee's stock, when it has set one up.
        stock_issue_kit(actor=actor, committee=case.committee, ref=f"isolation_case:{case.pk}", now=now)
    locked.done_at, locked.done_by, locked.note = now, actor, (note or "").strip()[:200]
    locked.health_form, locked.pledge_signed, locked.kit_given = health_form, pledge_signed, kit_given
    if proof is not None:
        locked.pledge_photo.save(proof.name, proof, save=False)
        locked.pledge_kind = kind
    locked.save()
    detail = {"step": step} | ({"pledge": kind} if kind else {})
    audit(actor=actor, action="isolation_step", obj=case, committee_id=case.committee_id,
          subject_label=case.arrival.name, detail=detail)
    return locked


def _temperature(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        t = Decimal(str(value)).quantize(Decimal("0.1"))
    except InvalidOperation:
        raise ValidationError({"temperature": _("体温请填数字,如36.5")}) from None
    if not Decimal("34.0") <= t <= Decimal("43.0"):
        raise ValidationError({"temperature": _("体温应在34到43℃之间,请核对")})
    return t


@transaction.atomic
def contact_record(
    *,
    actor,
    contact: Contact,
    outcome: str,
    temperature=None,
    symptoms: str = "",
    via: str = ContactVia.PHONE,
    now: dt.datetime | None = None,
) -> Contact:
    """Record one scheduled contact. Recording it again with the same outcome changes nothing;
    a recorded contact is not rewritten (a later one is recorded instead)."""
    if via != ContactVia.SMS:  # by SMS: the phone registered for the case, matched by sms_checkin
        access_unit(actor, contact.committee, Cap.RECORD_CONTACT)
    now = now or timezone.now()
    if outcome not in (ContactOutcome.WELL, ContactOutcome.UNWELL, ContactOutcome.NOT_REACHED):
        raise ValidationError({"outcome": _("请选择联系结果")})
    t = _temperature(temperature)
    symptoms = (symptoms or "").strip()[:200]
    if outcome == ContactOutcome.NOT_REACHED and (t is not None or symptoms):
        raise ValidationError({"outcome": _("未联系上时不能填写体温和症状")})
    if outcome == ContactOutcome.UNWELL and t is None and not symptoms:
        raise ValidationError({"symptoms": _("身体不适时请填写体温或症状")})
    # The case is locked too: a case closing meanwhile waits, or this sees it closed.
    locked = (
        Contact.objects.select_for_update(of=("self", "case")).select_related("case__arrival", "case__rule")
        .get(pk=contact.pk)
    )
    if locked.outcome:
        if locked.outcome == outcome:
            return locked
        raise ValidationError(_("该次联系已记录过,请记录下一次联系"))
    if locked.case.status != CaseStatus.OPEN:
        raise ValidationError(_("该隔离已结束"))
    if locked.due_at > selectors.recordable_until(now):
        raise ValidationError(_("还没到这次联系的时间"))
    locked.outcome, locked.temperature, locked.symptoms, locked.via = outcome, t, symptoms, via
    locked.recorded_at, locked.recorded_by = now, actor if actor is not None and actor.pk else None
    locked.save()
    # The outcome only: the reading itself stays on the contact, out of the audit trail.
    audit(actor=actor, action="isolation_contact_record", obj=locked.case, committee_id=locked.committee_id,
          subject_label=locked.case.arrival.name, detail={"contact": locked.pk, "outcome": str(outcome),
                                                          "via": str(via)})
    _raise_alerts(locked, now, actor=actor)
    return locked


MAX_BULK_CONTACTS = 200


def contacts_record_well(*, actor, contact_ids: list[int], now: dt.datetime | None = None) -> list[Contact]:
    """Many due contacts reached by phone and well (no fever, no symptoms) at once: one act of the
    worker ticking the people they called, each still its own contact record through
    contact_record (its own checks and audit event), all in one transaction: when one cannot be
    recorded (recorded meanwhile, the case closed, not yet due, not the worker's), none is."""
    now = now or timezone.now()
    ids = sorted({int(pk) for pk in contact_ids})
    if not ids:
        raise ValidationError({"contacts": _("请先勾选已联系、情况良好的人员")})
    if len(ids) > MAX_BULK_CONTACTS:
        raise ValidationError({"contacts": _("一次最多记录%(n)s次联系") % {"n": MAX_BULK_CONTACTS}})
    require(actor, Cap.RECORD_CONTACT)
    recorded = []
    with transaction.atomic():
        contacts = list(Contact.objects.visible_to(actor).filter(pk__in=ids).select_related("case__arrival"))
        if len(contacts) != len(ids):
            raise ValidationError({"contacts": _("所选联系中有的不在您的范围内,请刷新页面后重新勾选")})
        for contact in sorted(contacts, key=lambda c: (c.due_at, c.pk)):
            try:
                locked = Contact.objects.get(pk=contact.pk)
                if locked.outcome:
                    raise ValidationError(_("该次联系已记录过"))
                recorded.append(contact_record(actor=actor, contact=contact, outcome=ContactOutcome.WELL,
                                               via=ContactVia.PHONE, now=now))
            except ValidationError as exc:
                due = timezone.localtime(contact.due_at).strftime("%m-%d %H:%M")
                raise ValidationError({"contacts": _("%(name)s %(due)s:%(why)s") % {
                    "name": contact.case.arrival.name, "due": due, "why": " ".join(exc.messages)}}) from None
    return recorded


def _raise_alerts(contact: Contact, now: dt.datetime, *, actor=None) -> list[Alert]:
    """The alert a recorded (or missed) contact raises: one per contact, listing every reason it
    gave (37.8 ℃ with a cough: fever and symptoms), so it is texted, audited and closed once. Raised
    by whoever recorded the contact (None: the sweep or the person's own SMS)."""
    rule = contact.case.rule
    kinds = []
    if contact.temperature is not None and contact.temperature >= rule.fever_celsius:
        kinds.append(AlertKind.FEVER)
    # Symptoms written down, or "unwell" for a reason other than a fever.
    if contact.symptoms or (contact.outcome == ContactOutcome.UNWELL and AlertKind.FEVER not in kinds):
        kinds.append(AlertKind.SYMPTOMS)
    if contact.outcome in MISSED_OUTCOMES:
        previous = (
            Contact.objects.filter(case=contact.case_id, due_at__lt=contact.due_at).exclude(outcome="")
            .order_by("-due_at").values_list("outcome", flat=True).first()
        )
        if previous in MISSED_OUTCOMES:
            kinds.append(AlertKind.MISSES)
    if not kinds:
        return []
    alert, created = Alert.objects.get_or_create(
        contact=contact,
        defaults={"case_id": contact.case_id, "committee_id": contact.committee_id, "raised_at": now,
                  "kind": kinds[0], "reasons": [str(kind) for kind in kinds]},
    )
    if not created:
        return []
    notify.send_alert(alert)  # queued; goes out when the transaction commits
    audit(actor=actor, action="isolation_alert_raise", obj=contact.case, committee_id=contact.committee_id,
          subject_label=alert.reasons_text,
          detail={"alert": alert.pk, "kind": str(kinds[0]), "reasons": alert.reasons, "contact": contact.pk})
    return [alert]


def contacts_sweep(*, now: dt.datetime | None = None) -> int:
    """Mark contacts past their grace time as missed (in due order, so two in a row raise the
    alert); returns how many. Run every few minutes (manage.py isolation_sweep). A run that marked
    any writes one audit event with its counts (each alert has its own)."""
    now = now or timezone.now()
    marked = alerts = 0
    due = (
        Contact.objects.filter(outcome="", case__status=CaseStatus.OPEN, due_at__lte=now)
        .select_related("case__rule")
        .order_by("case_id", "due_at")
    )
    for contact in due:
        if contact.due_at + dt.timedelta(minutes=contact.case.rule.grace_minutes) > now:
            continue
        with transaction.atomic():
            updated = Contact.objects.filter(pk=contact.pk, outcome="").update(
                outcome=ContactOutcome.MISSED, via=ContactVia.SYSTEM, recorded_at=now
            )
            if updated:
                contact.outcome = ContactOutcome.MISSED
                alerts += len(_raise_alerts(contact, now, actor=None))
                marked += 1
    if marked:
        audit(actor=None, action="isolation_contacts_sweep", detail={"missed": marked, "alerts": alerts})
    return marked


def case_close(*, actor, case: IsolationCase, status: str, note: str = "", now: dt.datetime | None = None):
    """Release on or after the end day, or transfer / send to hospital at any time (with a note).
    Contacts not yet due are removed; the recorded ones stay. Closing a case again the way it
    was closed (a form sent twice) changes nothing."""
    now = now or timezone.now()
    note = (note or "").strip()[:200]

    def change(locked: IsolationCase) -> None:
        if status == CaseStatus.RELEASED and timezone.localdate(now) < locked.ends_on:
            raise ValidationError(_("未到解除日期(%(day)s)") % {"day": locked.ends_on})
        if status in (CaseStatus.TRANSFERRED, CaseStatus.HOSPITAL) and not note:
            raise ValidationError({"note": _("请写明转往何处")})
        if status not in CLOSED_STATES:
            raise ValidationError({"status": _("请选择结束方式")})
        locked.closed_at, locked.closed_note = now, note
        Contact.objects.filter(case=locked, outcome="", due_at__gt=now).delete()

    try:
        return move(case, "close", actor=actor, change=change, to=status, now=now)
    except ValidationError:
        current = IsolationCase.objects.get(pk=case.pk)
        if status in CLOSED_STATES and current.status == status:
            return current
        raise


def case_extend(*, actor, case: IsolationCase, days: int, note: str, now: dt.datetime | None = None):
    """Extend an open case by `days` (a reason is required); the extra contacts are scheduled."""
    now = now or timezone.now()
    note = (note or "").strip()[:200]

    def change(locked: IsolationCase) -> dict:
        if not 1 <= int(days) <= 28:
            raise ValidationError({"days": _("延长天数应在1到28之间")})
        if not note:
            raise ValidationError({"note": _("请写明延长原因")})
        old_end = locked.ends_on
        locked.ends_on = old_end + dt.timedelta(days=int(days))
        tz = timezone.get_current_timezone()
        start = max(now, dt.datetime.combine(old_end, dt.time.min, tzinfo=tz))
        Contact.objects.bulk_create(_schedule(locked, locked.rule, start=start, end_day=locked.ends_on),
                                    ignore_conflicts=True)
        return {"ends_on": [str(old_end), str(locked.ends_on)]}

    return move(case, "extend", actor=actor, change=change, reason=note, now=now)


@transaction.atomic
def alert_handle(*, actor, alert: Alert, note: str, now: dt.datetime | None = None) -> Alert:
    """Close an alert with what was done (a call, a doctor's visit, sent to hospital)."""
    access_unit(actor, alert.committee, Cap.RECORD_CONTACT)
    now = now or timezone.now()
    note = (note or "").strip()[:200]
    if not note:
        raise ValidationError({"note": _("请写明如何处置")})
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.handled_at is not None:
        return locked
    locked.handled_at, locked.handled_by, locked.handled_note = now, actor, note
    locked.save(update_fields=["handled_at", "handled_by", "handled_note"])
    audit(actor=actor, action="isolation_alert_handle", obj=locked.case, committee_id=locked.committee_id,
          subject_label=locked.reasons_text, detail={"alert": locked.pk})
    return locked


@transaction.atomic
def purchase_log(
    *, actor, case: IsolationCase, items: str, amount=None, settled: bool = False, now: dt.datetime | None = None
) -> Purchase:
    """Log a purchase made on the person's behalf (what, how much, whether they have paid)."""
    access_unit(actor, case.committee, Cap.RECORD_CONTACT)
    now = now or timezone.now()
    items = (items or "").strip()[:200]
    if not items:
        raise ValidationError({"items": _("请填写代购了什么")})
    value = None
    if amount not in (None, ""):
        try:
            value = Decimal(str(amount)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ValidationError({"amount": _("金额请填数字,如 58.5")}) from None
        if not Decimal("0") <= value <= Decimal("99999"):
            raise ValidationError({"amount": _("金额应在0到99999元之间")})
    if IsolationCase.objects.filter(pk=case.pk).values_list("status", flat=True).get() != CaseStatus.OPEN:
        raise ValidationError(_("该隔离已结束"))
    purchase = Purchase.objects.create(case=case, items=items, amount=value, settled=settled, bought_at=now,
                                       bought_by=actor)
    audit(actor=actor, action="isolation_purchase", obj=case, committee_id=case.committee_id,
          subject_label=case.arrival.name, detail={"purchase": purchase.pk})
    return purchase


def pledge_photo_open(*, actor, case: IsolationCase) -> File | None:
    """The proof of the pledge (a photo of the signed paper or the signature drawn on the screen,
    both stored as JPEG), opened for reading; None when there is none. Personal, so every look at
    it is audited."""
    access_unit(actor, case.committee, Cap.VIEW_ISOLATION)
    step = CaseStep.objects.filter(case=case, step=Step.DOOR_VISIT).exclude(pledge_photo="").first()
    if step is None:
        return None
    audit(actor=actor, action="isolation_pledge_view", obj=case, committee_id=case.committee_id,
          subject_label=case.arrival.name, personal=True, detail={"pledge": step.pledge_kind or "photo"})
    return step.pledge_photo.open("rb")
