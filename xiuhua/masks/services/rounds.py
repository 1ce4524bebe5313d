"""Rounds, designated pharmacies and paper form books: the set-up a district officer does."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.audit import audit
from xiuhua.core.scoping import covers, require
from xiuhua.places.models import KIND_RANK, Kind, OrgUnit

from ..models import AllocationMode, MaskRound, PaperFormBook, Pharmacy, PharmacyCommittee, RoundStatus

# The round's state machine, declared once; round_transition is the only code that moves it.
ROUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RoundStatus.DRAFT: frozenset({RoundStatus.OPEN}),
    RoundStatus.OPEN: frozenset({RoundStatus.CLOSED}),
    RoundStatus.CLOSED: frozenset({RoundStatus.FINISHED}),
    RoundStatus.FINISHED: frozenset(),
}

# The rules of a round: data, edited by an authorised user, every change audited old -> new.
ROUND_RULE_FIELDS = (
    "name",
    "masks_per_household",
    "opens_at",
    "closes_at",
    "allocation_mode",
    "lottery_seed",
    "special_share_percent",
    "voucher_valid_days",
)


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _clean_round(values: dict) -> None:
    errors: dict[str, str] = {}
    if not (values.get("name") or "").strip():
        errors["name"] = _("请填写轮次名称")
    if not values.get("opens_at") or not values.get("closes_at"):
        errors["closes_at"] = _("请填写登记开始和截止时间")
    elif values["closes_at"] <= values["opens_at"]:
        errors["closes_at"] = _("登记截止时间须晚于开始时间")
    if not 1 <= int(values.get("masks_per_household") or 0) <= 100:
        errors["masks_per_household"] = _("每户口罩数须在1到100之间")
    if not 0 <= int(values.get("special_share_percent") or 0) <= 100:
        errors["special_share_percent"] = _("特殊群体预留比例须在0到100之间")
    if not 1 <= int(values.get("voucher_valid_days") or 0) <= 60:
        errors["voucher_valid_days"] = _("凭证有效天数须在1到60之间")
    if values.get("allocation_mode") not in AllocationMode.values:
        errors["allocation_mode"] = _("分配方式不正确")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def round_create(
    *,
    actor,
    scope: OrgUnit,
    name: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    masks_per_household: int = 5,
    allocation_mode: str = AllocationMode.FIRST_COME,
    lottery_seed: str = "",
    special_share_percent: int = 10,
    voucher_valid_days: int = 3,
) -> MaskRound:
    membership = require(actor, Cap.MANAGE_ROUNDS)
    if not covers(membership, scope):
        raise PermissionDenied
    if KIND_RANK[Kind(scope.kind)] > KIND_RANK[Kind.STREET]:
        raise ValidationError({"scope": _("轮次由市、区或街道开设")})
    values = {
        "name": (name or "").strip(),
        "opens_at": opens_at,
        "closes_at": closes_at,
        "masks_per_household": masks_per_household,
        "allocation_mode": allocation_mode,
        "lottery_seed": (lottery_seed or "").strip(),
        "special_share_percent": special_share_percent,
        "voucher_valid_days": voucher_valid_days,
    }
    _clean_round(values)
    mask_round = MaskRound.objects.create(scope=scope, created_by=actor, **values)
    audit(
        actor=actor,
        action="mask_round_create",
        obj=mask_round,
        subject_label=mask_round.name,
        detail={"rules": {f: _jsonable(values[f]) for f in ROUND_RULE_FIELDS}},
    )
    return mask_round


def _locked_round(actor, mask_round: MaskRound) -> MaskRound:
    membership = require(actor, Cap.MANAGE_ROUNDS)
    locked = MaskRound.objects.select_for_update().select_related("scope").get(pk=mask_round.pk)
    if not covers(membership, locked.scope):
        raise MaskRound.DoesNotExist
    return locked


@transaction.atomic
def round_update(*, actor, round: MaskRound, **changes) -> MaskRound:
    """Change a round's rules; the audit event keeps each field's old and new value."""
    locked = _locked_round(actor, round)
    unknown = set(changes) - set(ROUND_RULE_FIELDS)
    if unknown:
        raise TypeError(f"not a round rule: {sorted(unknown)}")
    if locked.status == RoundStatus.FINISHED:
        raise ValidationError(_("轮次已结束,不能修改"))
    fixed_once_open = ("allocation_mode", "lottery_seed", "opens_at")
    if locked.status != RoundStatus.DRAFT and any(
        changes[f] != getattr(locked, f) for f in fixed_once_open if f in changes
    ):
        raise ValidationError(_("登记开始后不能修改分配方式、摇号种子和开始时间"))
    values = {f: changes.get(f, getattr(locked, f)) for f in ROUND_RULE_FIELDS}
    _clean_round(values)
    diff = {
        f: [_jsonable(getattr(locked, f)), _jsonable(values[f])]
        for f in ROUND_RULE_FIELDS
        if getattr(locked, f) != values[f]
    }
    if not diff:
        return locked
    for field in diff:
        setattr(locked, field, values[field])
    locked.save(update_fields=list(diff))
    audit(actor=actor, action="mask_round_update", obj=locked, subject_label=locked.name, detail={"changes": diff})
    return locked


@transaction.atomic
def round_transition(*, actor, round: MaskRound, to: str, now: dt.datetime | None = None) -> MaskRound:
    """The one function that moves a round along ROUND_TRANSITIONS, with the row locked."""
    now = now or timezone.now()
    locked = _locked_round(actor, round)
    if to not in ROUND_TRANSITIONS[locked.status]:
        raise ValidationError(
            _("轮次不能从“%(old)s”改为“%(new)s”") % {"old": locked.get_status_display(), "new": RoundStatus(to).label}
        )
    detail: dict = {"from": locked.status, "to": to}
    fields = ["status"]
    if to == RoundStatus.OPEN and locked.allocation_mode == AllocationMode.LOTTERY and not locked.lottery_seed:
        raise ValidationError({"lottery_seed": _("摇号方式须在开始登记前公布摇号种子")})
    if to == RoundStatus.CLOSED and now < locked.closes_at:
        # Closing early moves the deadline, so late SMS and paper forms are judged against it.
        detail["closes_at"] = [locked.closes_at.isoformat(), now.isoformat()]
        locked.closes_at = max(now, locked.opens_at + dt.timedelta(microseconds=1))
        fields.append("closes_at")
    locked.status = to
    locked.save(update_fields=fields)
    audit(actor=actor, action=f"mask_round_{to}", obj=locked, subject_label=locked.name, detail=detail)
    return locked


def round_open(*, actor, round: MaskRound) -> MaskRound:
    return round_transition(actor=actor, round=round, to=RoundStatus.OPEN)


def round_close(*, actor, round: MaskRound, now: dt.datetime | None = None) -> MaskRound:
    return round_transition(actor=actor, round=round, to=RoundStatus.CLOSED, now=now)


def round_finish(*, actor, round: MaskRound) -> MaskRound:
    return round_transition(actor=actor, round=round, to=RoundStatus.FINISHED)


# Pharmacies


@transaction.atomic
def pharmacy_create(*, actor, street: OrgUnit, name: str, address: str, opening_hours: str = "") -> Pharmacy:
    membership = require(actor, Cap.MANAGE_ROUNDS)
    if street.kind != Kind.STREET:
        raise ValidationError({"street": _("请选择街道")})
    if not covers(membership, street):
        raise PermissionDenied
    name, address = (name or "").strip(), (address or "").strip()
    if not name or not address:
        raise ValidationError(_("请填写药店名称和地址"))
    if Pharmacy.objects.filter(street=street, name=name).exists():
        raise ValidationError({"name": _("本街道已有同名药店")})
    pharmacy = Pharmacy.objects.create(street=street, name=name, address=address, opening_hours=opening_hours)
    audit(actor=actor, action="pharmacy_create", obj=pharmacy, subject_label=name)
    return pharmacy


def _managed_pharmacy(actor, pharmacy: Pharmacy):
    membership = require(actor, Cap.MANAGE_ROUNDS)
    locked = Pharmacy.objects.select_for_update().select_related("street").get(pk=pharmacy.pk)
    if not covers(membership, locked.street):
        raise Pharmacy.DoesNotExist
    return membership, locked


@transaction.atomic
def pharmacy_assign_committee(*, actor, pharmacy: Pharmacy, committee: OrgUnit) -> PharmacyCommittee:
    """Make `pharmacy` the committee's designated one (a committee is served by one pharmacy).

    Reservations already made keep the pharmacy they were made for."""
    _membership, locked = _managed_pharmacy(actor, pharmacy)
    if committee.kind != Kind.COMMITTEE or not committee.path.startswith(locked.street.path):
        raise ValidationError({"committee": _("请选择本街道的居委会")})
    link = PharmacyCommittee.objects.select_for_update().filter(committee=committee).first()
    if link is None:
        link, created = PharmacyCommittee.objects.get_or_create(committee=committee, defaults={"pharmacy": locked})
        old = None if created else link.pharmacy_id
    else:
        old = link.pharmacy_id
    if old == locked.pk:
        return link
    if link.pharmacy_id != locked.pk:
        link.pharmacy = locked
        link.save(update_fields=["pharmacy"])
    audit(
        actor=actor,
        action="pharmacy_assign_committee",
        obj=locked,
        committee_id=committee.pk,
        subject_label=f"{locked.name} → {committee.name}",
        detail={"old_pharmacy": old, "pharmacy": locked.pk},
    )
    return link


@transaction.atomic
def pharmacy_add_clerk(*, actor, pharmacy: Pharmacy, membership: Membership) -> None:
    _membership, locked = _managed_pharmacy(actor, pharmacy)
    if membership.role != Role.PHARMACY_CLERK or not membership.active:
        raise ValidationError(_("只能添加指定药店店员"))
    if locked.clerks.filter(pk=membership.pk).exists():
        return
    locked.clerks.add(membership)
    audit(
        actor=actor,
        action="pharmacy_add_clerk",
        obj=locked,
        subject_label=f"{locked.name}: {membership.user}",
        detail={"membership": membership.pk},
    )


# Paper form books


@transaction.atomic
def paper_book_create(
    *,
    actor,
    round: MaskRound,
    committee: OrgUnit,
    first_serial: int,
    last_serial: int,
    handed_out_at: dt.datetime | None = None,
) -> PaperFormBook:
    """Record a book of pre-printed forms handed out; its serials must not overlap another book."""
    membership = require(actor, Cap.RESERVE_FOR_RESIDENT)
    if committee.kind != Kind.COMMITTEE or not covers(membership, committee):
        raise PermissionDenied
    # Lock the round: books of one round are created one at a time, so the overlap check holds.
    locked = MaskRound.objects.select_for_update().get(pk=round.pk)
    handed_out_at = handed_out_at or timezone.now()
    if not 0 < first_serial <= last_serial:
        raise ValidationError({"last_serial": _("登记单编号范围不正确")})
    if locked.status not in (RoundStatus.DRAFT, RoundStatus.OPEN) or handed_out_at >= locked.closes_at:
        raise ValidationError(_("本轮登记已截止"))
    if handed_out_at < locked.opens_at:
        raise ValidationError({"handed_out_at": _("登记单须在登记开始后发放")})
    overlapping = PaperFormBook.objects.filter(
        round=locked, committee=committee, first_serial__lte=last_serial, last_serial__gte=first_serial
    )
    if overlapping.exists():
        raise ValidationError({"first_serial": _("登记单编号与已发放的登记簿重叠")})
    book = PaperFormBook.objects.create(
        round=locked,
        committee=committee,
        first_serial=first_serial,
        last_serial=last_serial,
        handed_out_at=handed_out_at,
        created_by=actor,
    )
    audit(
        actor=actor,
        action="paper_book_create",
        obj=book,
        committee_id=committee.pk,
        subject_label=f"{first_serial}-{last_serial}",
        detail={"handed_out_at": handed_out_at.isoformat()},
    )
    return book
