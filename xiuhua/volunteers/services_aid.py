"""Mutual aid's writes: the street's pools, A/B pairs and rule; help requests (post, claim, done,
withdraw, widen); A/B cover and seconded officers (time-bound memberships).

The claim is one conditional UPDATE (`core.workflow.move_many` over the one row, narrowed to the
claimer's ring and to `claimed_by IS NULL`): of any number of parallel claims exactly one changes a
row; the others change nothing and are told who was first.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.models import Membership, Temporary, User
from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_unit, require
from xiuhua.core.audit import audit
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.workflow import move, move_many
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.sms.services import sms_send_staff
from xiuhua.sms.texts import register_purpose, register_template

from . import workflows_aid  # noqa: F401  (declares the state tables)
from .models_aid import (
    DEFAULT_WIDEN_MINUTES,
    RING_ORDER,
    AidCover,
    AidCoverStatus,
    AidPartner,
    AidPool,
    AidPoolMember,
    AidRequest,
    AidRequestStatus,
    AidRule,
    Ring,
)

WIDENED = register_template(
    "XH_AID_WIDENED", "互助需求#{number}({committee}:{what}){minutes}分钟无人认领,已扩大至{ring}。")
WIDENED_PURPOSE = register_purpose("aid_widened", gettext_lazy("互助需求超时未认领提醒"))

MAX_COVER_DAYS = 30
MAX_SECONDMENT_DAYS = 180


class AlreadyTaken(ValidationError):
    """A claim that came second: nothing changed; `request` says who was first."""

    def __init__(self, message: str, request: AidRequest):
        super().__init__(message)
        self.request = request


def street_of(committee: OrgUnit) -> OrgUnit:
    street = committee.parent
    if street is None or street.kind != Kind.STREET:
        raise ValidationError(_("居委会不属于任何街道"))
    return street


def _street_membership(actor, street: OrgUnit):
    """A street officer acting for exactly this street (pools, pairs, rule, cover)."""
    membership = access_unit(actor, street, Cap.MANAGE_PAIRING)
    if membership.org_unit_id != street.pk:
        raise PermissionDenied
    return membership


def _committee_of_street(street: OrgUnit, committee_id) -> OrgUnit:
    try:
        return OrgUnit.objects.get(pk=int(committee_id), kind=Kind.COMMITTEE, parent=street)
    except (OrgUnit.DoesNotExist, TypeError, ValueError):
        raise ValidationError(_("请选择本街道的居委会")) from None


# ------------------------------------------------------------------ the street's rule, pools, pairs


def widen_minutes(street_id: int) -> int:
    rule = AidRule.objects.filter(street_id=street_id).first()
    return rule.widen_minutes if rule else DEFAULT_WIDEN_MINUTES


def rule_set(*, actor, street: OrgUnit, minutes) -> AidRule:
    _street_membership(actor, street)
    try:
        value = int(str(minutes).strip())
    except ValueError:
        raise ValidationError({"minutes": _("请填写分钟数")}) from None
    if not 5 <= value <= 24 * 60:
        raise ValidationError({"minutes": _("分钟数须在5到1440之间")})
    with transaction.atomic():
        rule, _created = AidRule.objects.select_for_update().get_or_create(street=street)
        before = rule.widen_minutes if not _created else DEFAULT_WIDEN_MINUTES
        rule.widen_minutes, rule.updated_by = value, actor
        rule.save()
        audit(actor=actor, action="aid_rule_set", obj=rule, subject_label=street.name,
              detail={"from": before, "to": value})
    return rule


def pool_save(*, actor, street: OrgUnit, name: str, committee_ids: list, pool: AidPool | None = None) -> AidPool:
    """Create a pool or set its name and members; a committee already in another pool is refused."""
    _street_membership(actor, street)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写互助池名称")})
    committees = [_committee_of_street(street, pk) for pk in dict.fromkeys(committee_ids)]
    if len(committees) < 2:
        raise ValidationError({"committees": _("互助池至少要有两个居委会")})
    with transaction.atomic():
        if pool is None:
            if AidPool.objects.filter(street=street, name=name).exists():
                raise ValidationError({"name": _("已有同名的互助池")})
            pool = AidPool.objects.create(street=street, name=name, created_by=actor)
        else:
            pool = AidPool.objects.select_for_update().get(pk=pool.pk, street=street)
            pool.name = name
            pool.save(update_fields=["name"])
        elsewhere = (AidPoolMember.objects.filter(committee__in=committees).exclude(pool=pool)
                     .select_related("committee", "pool"))
        taken = [f"{m.committee.name}({m.pool.name})" for m in elsewhere]
        if taken:
            raise ValidationError({"committees": _("已在其他互助池:%(names)s") % {"names": "、".join(taken)}})
        AidPoolMember.objects.filter(pool=pool).exclude(committee__in=committees).delete()
        have = set(AidPoolMember.objects.filter(pool=pool).values_list("committee_id", flat=True))
        try:
            with transaction.atomic():
                AidPoolMember.objects.bulk_create(
                    [AidPoolMember(pool=pool, committee=c) for c in committees if c.pk not in have])
        except IntegrityError:
            raise ValidationError({"committees": _("有居委会刚被加入其他互助池,请刷新后重试")}) from None
        audit(actor=actor, action="aid_pool_save", obj=pool, subject_label=pool.name,
              detail={"committees": len(committees)})
    return pool


def pair_create(*, actor, street: OrgUnit, a_id, b_id) -> tuple[AidPartner, AidPartner]:
    """Pair two committees of the street as A/B partners; each has one partner at most."""
    _street_membership(actor, street)
    a, b = _committee_of_street(street, a_id), _committee_of_street(street, b_id)
    if a.pk == b.pk:
        raise ValidationError({"b": _("请选择两个不同的居委会")})
    taken = AidPartner.objects.filter(committee__in=[a, b]).select_related("committee", "partner")
    if taken:
        side = taken[0]
        raise ValidationError({"b": _("%(c)s已与%(p)s结对") % {"c": side.committee.name, "p": side.partner.name}})
    try:
        with transaction.atomic():
            rows = (AidPartner.objects.create(committee=a, partner=b, street=street, created_by=actor),
                    AidPartner.objects.create(committee=b, partner=a, street=street, created_by=actor))
            audit(actor=actor, action="aid_pair_create", obj=rows[0], committee_id=a.pk,
                  subject_label=f"{a.name} ⇄ {b.name}")
    except IntegrityError:
        raise ValidationError({"b": _("其中一个居委会刚被结对,请刷新后重试")}) from None
    return rows


def pair_remove(*, actor, street: OrgUnit, committee_id) -> None:
    _street_membership(actor, street)
    committee = _committee_of_street(street, committee_id)
    with transaction.atomic():
        side = AidPartner.objects.select_for_update().filter(committee=committee).select_related("partner").first()
        if side is None:
            raise ValidationError(_("该居委会没有结对"))
        partner = side.partner
        if AidCover.objects.filter(status=AidCoverStatus.ACTIVE, committee__in=[committee, partner]).exists():
            raise ValidationError(_("临时代管进行中,请先结束代管"))
        AidPartner.objects.filter(committee__in=[committee, partner]).delete()
        audit(actor=actor, action="aid_pair_remove", committee_id=committee.pk,
              subject_label=f"{committee.name} ⇄ {partner.name}")


# ------------------------------------------------------------------ help requests


def rings_for(committee: OrgUnit) -> list[str]:
    """The rings a committee's request passes through, narrowest first."""
    rings: list[str] = []
    if AidPartner.objects.filter(committee=committee).exists():
        rings.append(Ring.PARTNER)
    if AidPoolMember.objects.filter(committee=committee).exists():
        rings.append(Ring.POOL)
    rings.append(Ring.STREET)
    return rings


def request_post(*, actor, data: dict, now: dt.datetime | None = None) -> AidRequest:
    """A committee posts a request to its first ring (its partner) or a wider one it chooses."""
    membership = require(actor, Cap.MUTUAL_AID)
    committee = membership.org_unit
    if committee.kind != Kind.COMMITTEE:
        raise PermissionDenied
    now = now or timezone.now()
    errors: dict[str, str] = {}
    what = (data.get("what") or "").strip()
    if not what:
        errors["what"] = _("请写明需要协助的事")
    compound = building = None
    if data.get("compound"):
        compound = OrgUnit.objects.filter(pk=_int(data["compound"]), kind=Kind.COMPOUND, parent=committee).first()
        if compound is None:
            errors["compound"] = _("请选择本居委会的小区")
    if data.get("building"):
        building = OrgUnit.objects.filter(pk=_int(data["building"]), kind=Kind.BUILDING,
                                          parent__parent=committee).first()
        if building is None or (compound is not None and building.parent_id != compound.pk):
            errors["building"] = _("楼栋不在所选小区")
        elif compound is None:
            compound = building.parent
    people = _int(data.get("people_needed"))
    if not 1 <= people <= 500:
        errors["people_needed"] = _("需要人数须在1到500之间")
    needed_by: dt.datetime | None = data.get("needed_by")
    if not isinstance(needed_by, dt.datetime):
        errors["needed_by"] = _("请填写最晚到场时间")
    elif needed_by <= now:
        errors["needed_by"] = _("最晚到场时间须晚于现在")
    contact_name = (data.get("contact_name") or "").strip()
    if not contact_name:
        errors["contact_name"] = _("请填写联系人")
    try:
        contact_phone = normalise_mobile(data.get("contact_phone") or "")
    except PhoneError:
        contact_phone = ""
        errors["contact_phone"] = _("请填写正确的手机号码")
    rings = rings_for(committee)
    ring = data.get("ring") or rings[0]
    if ring not in rings:
        errors["ring"] = _("请选择求助范围")
    if errors or needed_by is None:
        raise ValidationError(errors)
    with transaction.atomic():
        request = AidRequest.objects.create(
            committee=committee, street=street_of(committee), what=what[:200], compound=compound, building=building,
            place_note=(data.get("place_note") or "").strip()[:100], people_needed=people, needed_by=needed_by,
            contact_name=contact_name[:30], contact_phone=contact_phone, ring=ring, ring_since=now,
            created_by=actor, created_at=now)
        audit(actor=actor, action="aid_request_post", obj=request, committee_id=committee.pk,
              subject_label=f"#{request.pk} {what[:60]}", detail={"ring": ring, "people": people})
    return request


def _int(value) -> int:
    """A posted id or number; -1 (matching nothing, refused by every range) when it is not one."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return -1


def taken_message(request: AidRequest) -> str:
    if request.status in (AidRequestStatus.CLAIMED, AidRequestStatus.DONE) and request.claimed_by_id:
        return _("已被认领:%(who)s(%(unit)s),%(at)s") % {
            "who": request.claimed_by, "unit": request.claimed_committee.name if request.claimed_committee else "",
            "at": timezone.localtime(request.claimed_at).strftime("%H:%M:%S") if request.claimed_at else ""}
    return _("该需求已撤回,不能认领")


def request_claim(*, actor, request_id: int, now: dt.datetime | None = None) -> AidRequest:
    """The first claim wins: one UPDATE … WHERE id = … AND status = 'open' AND claimed_by IS NULL
    AND (the ring reaches the claimer). A claim that comes second raises AlreadyTaken and writes
    nothing."""
    membership = require(actor, Cap.MUTUAL_AID)
    now = now or timezone.now()
    visible = AidRequest.objects.visible_to(actor)
    request = visible.filter(pk=request_id).select_related("committee").first()
    if request is None:
        raise PermissionDenied
    if request.committee_id == membership.org_unit_id:
        raise ValidationError(_("不能认领本居委会发布的需求"))
    moved = move_many(
        visible.filter(pk=request.pk, claimed_by__isnull=True), "claim", actor=actor,
        values={"claimed_by": actor, "claimed_committee": membership.org_unit, "claimed_at": now},
        committee_id=request.committee_id, subject_label=f"#{request.pk} {request.what[:60]}",
        detail={"request": request.pk, "ring": request.ring},
    )
    request = AidRequest.objects.select_related("claimed_by", "claimed_committee", "committee").get(pk=request.pk)
    if not moved:
        raise AlreadyTaken(taken_message(request), request)
    return request


def request_done(*, actor, request: AidRequest, note: str = "", now: dt.datetime | None = None) -> AidRequest:
    now = now or timezone.now()
    note = (note or "").strip()[:200]

    def change(locked: AidRequest) -> dict:
        locked.done_at, locked.done_note = now, note
        return {"request": locked.pk}

    return move(request, "done", actor=actor, change=change, now=now)


def request_cancel(*, actor, request: AidRequest) -> AidRequest:
    return move(request, "cancel", actor=actor)


def _street_officers(street_id: int):
    return (Membership.objects.current().filter(org_unit_id=street_id, role=Role.STREET_OFFICER,
                                                user__is_active=True).select_related("user").order_by("pk"))


def requests_widen(*, now: dt.datetime | None = None) -> int:
    """Widen each open request left unclaimed in its ring for the street's minutes to the next
    ring, and text the street's officers; returns how many widened. The move re-reads the row
    under its lock, so two sweeps (or a sweep and a claim) widen a request once."""
    now = now or timezone.now()
    count = 0
    minutes_by_street: dict[int, int] = {}
    due = AidRequest.objects.filter(status=AidRequestStatus.OPEN).exclude(ring=Ring.STREET).select_related("committee")
    for request in due:
        minutes = minutes_by_street.setdefault(request.street_id, widen_minutes(request.street_id))
        if request.ring_since > now - dt.timedelta(minutes=minutes):
            continue
        rings = rings_for(request.committee)
        later = [r for r in RING_ORDER if RING_ORDER.index(r) > RING_ORDER.index(Ring(request.ring)) and r in rings]
        target = later[0] if later else Ring.STREET
        ring_since = request.ring_since

        def change(locked: AidRequest, target=target, ring_since=ring_since) -> dict:
            if locked.ring_since != ring_since:  # another sweep widened it meanwhile
                raise ValidationError("widened already")
            before = locked.ring
            locked.ring, locked.ring_since, locked.escalated_at = target, now, now
            return {"ring_from": before, "ring_to": target}

        def notify(locked: AidRequest, minutes=minutes) -> None:
            for membership in _street_officers(locked.street_id):
                sms_send_staff(
                    user=membership.user, template=WIDENED.code, purpose=WIDENED_PURPOSE,
                    params={"number": locked.pk, "committee": locked.committee.name, "what": locked.what[:20],
                            "minutes": minutes, "ring": str(Ring(locked.ring).label)},
                    committee=locked.committee,
                    idempotency_key=f"aid-widen-{locked.pk}-{locked.ring}-{membership.user_id}")

        try:
            move(request, "widen", actor=None, change=change, notify=notify, now=now)
        except ValidationError:
            continue
        count += 1
    return count


# ------------------------------------------------------------------ A/B cover and seconded officers


def _end_at(value, now: dt.datetime, max_days: int) -> dt.datetime:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        # A date: the cover holds to the end of that day, Beijing time.
        value = timezone.make_aware(dt.datetime.combine(value + dt.timedelta(days=1), dt.time()))
    if not isinstance(value, dt.datetime):
        raise ValidationError({"ends_at": _("请填写结束日期")})
    if value <= now:
        raise ValidationError({"ends_at": _("结束时间须晚于现在")})
    if value > now + dt.timedelta(days=max_days):
        raise ValidationError({"ends_at": _("最长%(n)s天,到期可再办理") % {"n": max_days}})
    return value


def cover_start(*, actor, committee: OrgUnit, reason: str, ends_at, now: dt.datetime | None = None) -> AidCover:
    """Mark `committee` unable to act: its partner committee's staff get a committee-staff
    membership over it from now until `ends_at` (a date means to the end of that day)."""
    now = now or timezone.now()
    street = street_of(committee)
    _street_membership(actor, street)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请写明无法履职的原因")})
    ends = _end_at(ends_at, now, MAX_COVER_DAYS)
    side = AidPartner.objects.filter(committee=committee).select_related("partner").first()
    if side is None:
        raise ValidationError({"committee": _("该居委会尚未结对AB角,请先结对")})
    partner = side.partner
    with transaction.atomic():
        OrgUnit.objects.select_for_update().filter(pk=committee.pk).first()
        if AidCover.objects.filter(committee=committee, status=AidCoverStatus.ACTIVE).exists():
            raise ValidationError({"committee": _("该居委会已在临时代管中")})
        if AidCover.objects.filter(committee=partner, status=AidCoverStatus.ACTIVE).exists():
            raise ValidationError({"committee": _("结对居委会自己也无法履职,请派驻第二书记")})
        staff = list(Membership.objects.current(now).filter(org_unit=partner, role=Role.COMMITTEE_STAFF, temporary="",
                                                            user__is_active=True).select_related("user"))
        if not staff:
            raise ValidationError({"committee": _("结对居委会没有工作人员账号")})
        cover = AidCover.objects.create(committee=committee, partner=partner, street=street, reason=reason[:200],
                                        starts_at=now, ends_at=ends, created_by=actor)
        granted = [Membership.objects.create(
            user=m.user, org_unit=committee, role=Role.COMMITTEE_STAFF, temporary=Temporary.COVER,
            starts_at=now, ends_at=ends, granted_by=actor, reason=reason[:200]) for m in staff]
        cover.memberships.set(granted)
        audit(actor=actor, action="aid_cover_start", obj=cover, committee_id=committee.pk,
              subject_label=f"{partner.name} → {committee.name}", reason=reason,
              detail={"memberships": len(granted), "ends_at": ends.isoformat()})
    return cover


def _end_memberships(cover: AidCover, now: dt.datetime) -> int:
    return Membership.objects.filter(pk__in=cover.memberships.values("pk"), ends_at__gt=now).update(ends_at=now)


def cover_end(*, actor, cover: AidCover, now: dt.datetime | None = None) -> AidCover:
    """Either street ends the cover now; its memberships end with it."""
    now = now or timezone.now()

    def change(locked: AidCover) -> dict:
        locked.ended_by, locked.ended_at = actor, now
        return {"memberships": _end_memberships(locked, now)}

    return move(cover, "end", actor=actor, change=change, now=now)


def covers_expire(*, now: dt.datetime | None = None) -> int:
    """Close the covers past their end date (their memberships stopped at `ends_at` already)."""
    now = now or timezone.now()
    count = 0
    for cover in AidCover.objects.filter(status=AidCoverStatus.ACTIVE, ends_at__lte=now):
        def change(locked: AidCover) -> dict:
            locked.ended_at = locked.ends_at
            return {}

        try:
            move(cover, "expire", actor=None, change=change, now=now)
        except ValidationError:
            continue
        count += 1
    return count


def temporary_memberships_close(*, now: dt.datetime | None = None) -> int:
    """Mark temporary memberships past their end inactive. They stopped working at `ends_at`
    already (Membership.is_current); this takes them off the lists that pick recipients of alerts
    and reminders by `active`. One audit event for the batch."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = Membership.objects.filter(active=True, ends_at__lte=now).exclude(temporary="").update(active=False)
        if closed:
            audit(actor=None, action="aid_memberships_close", detail={"count": closed})
    return closed


def secondment_grant(*, actor, committee: OrgUnit, username: str, reason: str, ends_at,
                     now: dt.datetime | None = None) -> Membership:
    """Second an officer (第二书记) to a committee: a committee-staff membership until `ends_at`."""
    now = now or timezone.now()
    street = street_of(committee)
    _street_membership(actor, street)
    user = User.objects.filter(username=(username or "").strip(), is_active=True).first()
    if user is None:
        raise ValidationError({"username": _("没有这个用户名的账号")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请写明派驻事由")})
    ends = _end_at(ends_at, now, MAX_SECONDMENT_DAYS)
    with transaction.atomic():
        if Membership.objects.current(now).filter(user=user, org_unit=committee, role=Role.COMMITTEE_STAFF).exists():
            raise ValidationError({"username": _("该账号已在此居委会任职")})
        membership = Membership.objects.create(
            user=user, org_unit=committee, role=Role.COMMITTEE_STAFF, temporary=Temporary.SECONDED,
            starts_at=now, ends_at=ends, granted_by=actor, reason=reason[:200])
        audit(actor=actor, action="aid_secondment_grant", obj=membership, committee_id=committee.pk,
              subject_label=f"{user} → {committee.name}", reason=reason, detail={"ends_at": ends.isoformat()})
    return membership


def secondment_end(*, actor, membership_id, now: dt.datetime | None = None) -> Membership:
    now = now or timezone.now()
    with transaction.atomic():
        membership = (Membership.objects.select_for_update().filter(pk=_int(membership_id),
                                                                    temporary=Temporary.SECONDED)
                      .select_related("org_unit", "user").first())
        if membership is None:
            raise PermissionDenied
        _street_membership(actor, street_of(membership.org_unit))
        if not membership.is_current(now):
            raise ValidationError(_("该派驻已结束"))
        membership.ends_at = now
        membership.save(update_fields=["ends_at"])
        audit(actor=actor, action="aid_secondment_end", obj=membership, committee_id=membership.org_unit_id,
              subject_label=f"{membership.user} → {membership.org_unit.name}")
    return membership
