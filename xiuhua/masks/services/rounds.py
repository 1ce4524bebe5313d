"""Rounds and paper form books: the set-up a district or street officer does (pharmacies: pharmacies.py)."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_unit
from xiuhua.core.audit import audit
from xiuhua.core.workflow import move
from xiuhua.places.models import KIND_RANK, Kind, OrgUnit

from ..models import AllocationMode, MaskRound, PaperFormBook, RoundStatus

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
    access_unit(actor, scope, Cap.MANAGE_ROUNDS)
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


@transaction.atomic
def round_update(*, actor, round: MaskRound, **changes) -> MaskRound:
    """Change a round's rules; the audit event keeps each field's old and new value."""
    access_unit(actor, round.scope, Cap.MANAGE_ROUNDS)  # the scope is not a rule: it never changes
    locked = MaskRound.objects.select_for_update().get(pk=round.pk)
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


def round_move(*, actor, round: MaskRound, action: str, now: dt.datetime | None = None) -> MaskRound:
    """Apply one action of the round's workflow (workflows.MASK_ROUND), with its own rules."""
    now = now or timezone.now()

    def change(locked: MaskRound) -> dict | None:
        if action == "open" and locked.allocation_mode == AllocationMode.LOTTERY and not locked.lottery_seed:
            raise ValidationError({"lottery_seed": _("摇号方式须在开始登记前公布摇号种子")})
        if action == "closed" and now < locked.closes_at:
            # Closing early moves the deadline, so late SMS and paper forms are judged against it.
            moved = [locked.closes_at.isoformat(), now.isoformat()]
            locked.closes_at = max(now, locked.opens_at + dt.timedelta(microseconds=1))
            return {"closes_at": moved}
        return None

    return move(round, action, actor=actor, change=change, now=now)


def round_open(*, actor, round: MaskRound) -> MaskRound:
    return round_move(actor=actor, round=round, action="open")


def round_close(*, actor, round: MaskRound, now: dt.datetime | None = None) -> MaskRound:
    return round_move(actor=actor, round=round, action="closed", now=now)


def round_finish(*, actor, round: MaskRound) -> MaskRound:
    return round_move(actor=actor, round=round, action="finished")


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
    access_unit(actor, committee, Cap.RESERVE_FOR_RESIDENT)
    if committee.kind != Kind.COMMITTEE:
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
