"""Every write of the work-order module: intake, and the moves of its declared state tables
(workflows.py) with each action's own data: a dispatch target, a reply, a satisfaction score, a
reason to reopen, the days of an extension. core.workflow.move locks, checks, and writes the
TicketEvent and the audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers, require
from xiuhua.core.audit import audit
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household

from . import notify
from .calendar import DeadlineClass, WorkCalendar
from .models import (
    MEDICAL_CATEGORIES,
    OPEN_STATUSES,
    Category,
    Department,
    Escalation,
    RoutingRule,
    Source,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
)
from .workflows import TICKET, on_requester_side


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _locked_on_requester_side(actor, ticket: Ticket) -> Ticket:
    """The locked row, or PermissionDenied when the actor is not on the requester's side."""
    membership = require(actor, Cap.RECORD_TICKET)
    locked = Ticket.objects.select_for_update(of=("self",)).select_related("committee", "department").get(pk=ticket.pk)
    if not on_requester_side(membership, locked):
        raise PermissionDenied
    return locked


@transaction.atomic
def ticket_create(
    *,
    actor,
    source: str,
    category: str,
    urgency: str,
    description: str,
    committee: OrgUnit,
    household: Household | None = None,
    requester_name: str = "",
    requester_phone: str = "",
    external_number: str = "",
    deadline_class: str | None = None,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
    send_sms: bool = True,
    submission_key: str | None = None,
    follow_token: str | None = None,
) -> tuple[Ticket, str]:
    """Take in a request; returns the ticket and the secret of the resident's follow-up link
    (shown or texted once; only its hash is kept). A 12345 order sent again (same external number)
    returns the same ticket and no new secret ("").

    Staff-taken orders may carry a landline; only a mobile gets the confirmation SMS, and only
    when `send_sms` (an import of old hotline orders passes False: the hotline has told them).
    `calendar` lets a bulk import load the working-day calendar once. `submission_key` (a door
    form's hidden key, an inbound SMS) makes a resident's channel idempotent the same way as the
    external number: the same key again returns the ticket it made and no new secret.
    `follow_token` is the secret to use instead of a random one (a door form's, derived from its
    key, so that the same form sent twice can link to its request: door_requests.follow_token_of)."""
    now = now or timezone.now()
    if source == Source.DOOR_QR:
        if actor is not None and getattr(actor, "pk", None):
            raise ValidationError({"source": _("门牌二维码由居民本人提交")})
        if household is None:
            raise ValidationError({"household": _("缺少门牌信息")})
    elif source == Source.SMS:
        # Sent by the resident from a roster phone (sms_help); the provider vouches for the number.
        if actor is not None and getattr(actor, "pk", None):
            raise ValidationError({"source": _("短信求助由居民本人发送")})
    else:
        if not covers(require(actor, Cap.RECORD_TICKET), committee):
            raise PermissionDenied
    errors: dict[str, str] = {}
    if source not in Source.values:
        errors["source"] = _("未知的来源")
    if category not in Category.values:
        errors["category"] = _("请选择类别")
    if urgency not in Urgency.values:
        errors["urgency"] = _("请选择紧急程度")
    description = (description or "").strip()
    if not description:
        errors["description"] = _("请写明需要什么帮助")
    try:
        requester_name = check_person_name(requester_name)
    except ValidationError as exc:
        errors["requester_name"] = exc.messages[0]
    if committee.kind != Kind.COMMITTEE:
        errors["committee"] = _("请选择居委会")
    if household is not None and household.committee_id != committee.pk:
        errors["household"] = _("门牌与居委会不符")
    try:
        requester_phone = normalise_mobile(requester_phone or "")
    except PhoneError as exc:
        fixed_line = landline(requester_phone)
        if source in (Source.DOOR_QR, Source.SMS) or fixed_line is None:
            errors["requester_phone"] = str(exc)
        else:
            requester_phone = fixed_line
    external_number = (external_number or "").strip()[:40]
    if source == Source.HOTLINE and not external_number:
        errors["external_number"] = _("请填写12345工单号")
    if deadline_class is None:
        urgent_medical = urgency == Urgency.URGENT and category in MEDICAL_CATEGORIES
        deadline_class = DeadlineClass.EMERGENCY if urgent_medical else DeadlineClass.HELP
    if deadline_class not in DeadlineClass.values:
        errors["deadline_class"] = _("请选择办理时限类别")
    if errors:
        raise ValidationError(errors)
    existing = _taken(external_number, submission_key)
    if existing is not None:
        return existing, ""
    token = follow_token or secrets.token_urlsafe(18)
    ticket = Ticket(
        source=source, external_number=external_number, category=category, urgency=urgency,
        deadline_class=deadline_class, description=description[:2000], committee=committee, household=household,
        requester_name=requester_name[:50], requester_phone=requester_phone, received_at=now,
        deadline_at=(calendar or WorkCalendar()).deadline(now, deadline_class), follow_token_hash=token_hash(token),
        created_by=actor if actor is not None and getattr(actor, "pk", None) else None,
        submission_key=submission_key or None,
    )
    for _attempt in range(5):
        ticket.number = f"GD{timezone.localtime(now):%y%m%d}{secrets.randbelow(10**5):05d}"
        try:
            with transaction.atomic():
                ticket.save()
        except IntegrityError:
            existing = _taken(external_number, submission_key)  # committed by a parallel call
            if existing is not None:
                return existing, ""
            ticket.pk = None
            continue  # the random number was taken
        break
    TicketEvent.objects.create(ticket=ticket, at=now, actor=ticket.created_by, action="create",
                               to_status=TicketStatus.RECEIVED)
    audit(actor=actor, action="ticket_create", obj=ticket, committee_id=committee.pk, subject_label=ticket.number,
          detail={"source": source, "category": category, "urgency": urgency})
    if send_sms:
        notify.send_confirmation(ticket, token)
    return ticket, token


def _taken(external_number: str, submission_key: str | None) -> Ticket | None:
    """The ticket this hotline number or submission key already made, if any."""
    if external_number:
        existing = Ticket.objects.filter(external_number=external_number).first()
        if existing is not None:
            return existing
    if submission_key:
        return Ticket.objects.filter(submission_key=submission_key).first()
    return None


_LANDLINE = re.compile(r"(0\d{2,3})?-?([2-9]\d{6,7})")


def landline(raw: str) -> str | None:
    """A fixed-line number as callers give it to the hotline (021-65431234, 65431234), or None."""
    text = re.sub(r"[\s()()]", "", unicodedata.normalize("NFKC", raw or ""))
    match = _LANDLINE.fullmatch(text)
    if match is None:
        return None
    area, number = match.groups()
    return f"{area}-{number}" if area else number


def ticket_move(
    *,
    actor,
    ticket: Ticket,
    action: str,
    note: str = "",
    department: Department | None = None,
    committee: OrgUnit | None = None,
    reply: str = "",
    satisfaction: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Apply one action of the ticket's workflow (workflows.TICKET), with its own data."""
    now = now or timezone.now()
    note = (note or "").strip()[:500]
    reply = (reply or "").strip()[:500]

    def change(locked: Ticket) -> None:
        nonlocal department, committee
        if action in ("dispatch", "redispatch"):
            if department is not None and committee is not None:
                raise ValidationError({"to": _("请选择派往的部门或居委会")})
            if department is None and committee is None:
                department, committee = route_for(locked)  # the street's routing rules
            if action == "redispatch" and (department, committee) == (locked.department, locked.assigned_committee):
                raise ValidationError({"to": _("工单已在该处办理,请选择另一个部门或居委会")})
            if action == "redispatch" and not note:
                raise ValidationError({"note": _("请写明改派的原因")})
            street = locked.committee.parent
            if department is not None and department.street_id != (street.pk if street else None):
                raise ValidationError({"to": _("只能派往本街道的部门")})
            same_street = committee is not None and committee.parent_id == locked.committee.parent_id
            if committee is not None and (committee.kind != Kind.COMMITTEE or not same_street):
                raise ValidationError({"to": _("只能派往本街道的居委会")})
            locked.department, locked.assigned_committee = department, committee
        elif action == "reply":
            if not reply:
                raise ValidationError({"reply": _("请填写给居民的答复")})
            locked.reply_text = reply
            locked.replied_at = now
        elif action == "close":
            locked.closed_at = now
        elif action == "call_back":
            if satisfaction not in (1, 2, 3, 4, 5):
                raise ValidationError({"satisfaction": _("请选择满意度(1-5)")})
            locked.satisfaction = satisfaction
        elif action == "reopen":
            if not note:
                raise ValidationError({"note": _("请写明重新打开的原因")})
            locked.reopened_count += 1
            locked.closed_at, locked.satisfaction = None, None
            # Redone work gets a fresh deadline of its class; the reopening itself stays on record.
            locked.deadline_at = WorkCalendar().deadline(now, locked.deadline_class)
            locked.escalation = Escalation.NONE

    def replied(locked: Ticket) -> None:
        notify.send_replied(locked, TicketEvent.objects.filter(ticket=locked, action="reply").count())

    return move(ticket, action, actor=actor, change=change, note=note or reply, now=now,
                notify=replied if action == "reply" else None)


@transaction.atomic
def ticket_follow_link_reissue(*, actor, ticket: Ticket, now: dt.datetime | None = None) -> tuple[Ticket, str]:
    """A resident lost the follow-up link (no SMS, a new phone): the requester's committee or
    street makes a new one. The old link stops working; the new secret is returned once and
    texted to the requester's mobile, if any."""
    now = now or timezone.now()
    locked = _locked_on_requester_side(actor, ticket)
    token = secrets.token_urlsafe(18)
    locked.follow_token_hash = token_hash(token)
    locked.save(update_fields=["follow_token_hash"])
    reissues = TicketEvent.objects.filter(ticket=locked, action="link_reissue").count() + 1
    TicketEvent.objects.create(ticket=locked, at=now, actor=actor, action="link_reissue",
                               from_status=locked.status, to_status=locked.status)
    audit(actor=actor, action="ticket_link_reissue", obj=locked, committee_id=locked.committee_id,
          subject_label=locked.number)
    notify.send_confirmation(locked, token, sequence=reissues)
    return locked, token


@transaction.atomic
def ticket_urge(*, actor, ticket: Ticket, note: str, now: dt.datetime | None = None) -> int:
    """The street (or the requester's committee) presses whoever holds an open order (催办): the
    note goes to its history and, by SMS, to its handlers with a mobile. Returns how many texts
    were queued."""
    from .escalation import handlers

    now = now or timezone.now()
    locked = _locked_on_requester_side(actor, ticket)
    if locked.status not in OPEN_STATUSES:
        raise ValidationError(_("工单已办结,无需催办"))
    if locked.department_id is None and locked.assigned_committee_id is None:
        raise ValidationError(_("工单尚未派出,请先派单"))
    note = (note or "").strip()[:200]
    if not note:
        raise ValidationError({"note": _("请写明催办的要求")})
    urges = TicketEvent.objects.filter(ticket=locked, action="urge").count() + 1
    TicketEvent.objects.create(ticket=locked, at=now, actor=actor, action="urge", from_status=locked.status,
                               to_status=locked.status, note=note)
    audit(actor=actor, action="ticket_urge", obj=locked, committee_id=locked.committee_id,
          subject_label=locked.number)
    return sum(notify.send_urge(locked, user, note, urges) for user in handlers(locked))


@transaction.atomic
def ticket_reclassify(
    *, actor, ticket: Ticket, category: str, urgency: str, note: str = "", now: dt.datetime | None = None
) -> Ticket:
    """Correct what a resident picked, or what an SMS's words suggested (the requester's committee
    or street, while the order is open). The deadline already running stays as it is; a dispatch
    after this follows the routing rule of the new category."""
    now = now or timezone.now()
    locked = _locked_on_requester_side(actor, ticket)
    if locked.status not in OPEN_STATUSES:
        raise ValidationError(_("工单已办结,不能更改类别"))
    errors: dict[str, str] = {}
    if category not in Category.values:
        errors["category"] = _("请选择类别")
    if urgency not in Urgency.values:
        errors["urgency"] = _("请选择紧急程度")
    if errors:
        raise ValidationError(errors)
    if (category, urgency) == (locked.category, locked.urgency):
        raise ValidationError({"category": _("类别和紧急程度没有变化")})
    before = f"{Category(locked.category).label}/{Urgency(locked.urgency).label}"
    locked.category, locked.urgency = category, urgency
    locked.save(update_fields=["category", "urgency"])
    after = f"{Category(category).label}/{Urgency(urgency).label}"
    text = f"{before} → {after}" + (f":{note.strip()[:200]}" if note and note.strip() else "")
    TicketEvent.objects.create(ticket=locked, at=now, actor=actor, action="reclassify", from_status=locked.status,
                               to_status=locked.status, note=text)
    audit(actor=actor, action="ticket_reclassify", obj=locked, committee_id=locked.committee_id,
          subject_label=locked.number, detail={"category": category, "urgency": urgency})
    return locked


MAX_EXTENSION_DAYS = 15


def ticket_extension_request(
    *, actor, ticket: Ticket, days: int, reason: str, now: dt.datetime | None = None
) -> Ticket:
    """Whoever handles a complex order asks the street for more working days, before it is due."""
    now = now or timezone.now()
    reason = (reason or "").strip()[:300]

    def change(locked: Ticket) -> dict:
        errors: dict[str, str] = {}
        if locked.deadline_class != DeadlineClass.COMPLEX:
            errors["days"] = _("只有复杂事项可以申请延期")
        elif locked.status not in OPEN_STATUSES:
            errors["days"] = _("工单已办结,无需延期")
        elif now > locked.deadline_at:
            errors["days"] = _("已超过办理时限,不能再申请延期")
        if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
            errors.setdefault("days", ngettext("延期天数为1-%(max)d个工作日", "延期天数为1-%(max)d个工作日",
                                               MAX_EXTENSION_DAYS) % {"max": MAX_EXTENSION_DAYS})
        if not reason:
            errors["reason"] = _("请写明延期理由")
        if errors:
            raise ValidationError(errors)
        locked.extension_days, locked.extension_reason = days, reason
        return {"days": days}

    return move(ticket, "extension_request", actor=actor, change=change, now=now,
                note=ngettext("申请延期%(days)d个工作日:%(reason)s", "申请延期%(days)d个工作日:%(reason)s", days)
                % {"days": days, "reason": reason}
                if isinstance(days, int) else "")


def ticket_extension_decide(
    *, actor, ticket: Ticket, approve: bool, note: str = "", now: dt.datetime | None = None
) -> Ticket:
    """The street approves (the deadline moves by the working days asked) or refuses."""
    now = now or timezone.now()
    note = (note or "").strip()[:300]

    def change(locked: Ticket) -> dict:
        if locked.status not in OPEN_STATUSES:
            raise ValidationError(_("工单已办结,延期申请不再审批"))
        if approve:
            calendar = WorkCalendar()
            last_day = calendar.add_working_days(
                timezone.localtime(locked.deadline_at).date(), locked.extension_days or 1)
            locked.original_deadline_at = locked.original_deadline_at or locked.deadline_at
            locked.deadline_at = dt.datetime.combine(last_day, dt.time(23, 59, 59),
                                                     tzinfo=timezone.get_current_timezone())
            locked.escalation = Escalation.NONE  # reminders start again against the new deadline
        elif not note:
            raise ValidationError({"note": _("请写明不批准的理由")})
        return {"deadline": locked.deadline_at.isoformat()}

    action = "extension_approve" if approve else "extension_refuse"
    return move(ticket, action, actor=actor, change=change, note=note, now=now)


ACTION_LABELS = {action: act.label for action, act in TICKET.actions.items()}


def route_for(ticket: Ticket) -> tuple[Department | None, OrgUnit | None]:
    """The dispatch target of the street's rules: (department, None), or (None, the ticket's own
    committee) when no rule covers its category there."""
    rules = RoutingRule.objects.filter(street_id=ticket.committee.parent_id, category=ticket.category)
    rule = rules.filter(committee=ticket.committee).first() or rules.filter(committee__isnull=True).first()
    if rule is not None:
        return rule.department, None
    return None, ticket.committee


@transaction.atomic
def routing_rule_set(
    *, actor, street: OrgUnit, category: str, department: Department | None, committee: OrgUnit | None = None
) -> RoutingRule | None:
    """A street officer sets (or, with no department, removes) where a category goes."""
    membership = require(actor, Cap.RECORD_TICKET)
    if membership.org_unit.kind == Kind.COMMITTEE:
        raise PermissionDenied
    if street.kind != Kind.STREET or not covers(membership, street):
        raise PermissionDenied
    if category not in Category.values:
        raise ValidationError({"category": _("请选择类别")})
    if committee is not None and committee.parent_id != street.pk:
        raise ValidationError({"committee": _("请选择本街道的居委会")})
    if department is not None and department.street_id != street.pk:
        raise ValidationError({"department": _("只能派往本街道的部门")})
    existing = RoutingRule.objects.filter(street=street, category=category, committee=committee)
    before = existing.first()
    if department is None:
        existing.delete()
        rule = None
    elif before is None:
        rule = RoutingRule.objects.create(street=street, category=category, committee=committee, department=department)
    else:
        before.department = department
        before.save(update_fields=["department"])
        rule = before
    audit(actor=actor, action="routing_rule_set", obj=rule, subject_label=f"{category}",
          detail={"street": street.pk, "committee": committee.pk if committee else None,
                  "department": department.pk if department else None})
    return rule
