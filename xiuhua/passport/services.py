"""Every write of the passport: recording a volunteer or convenience stamp, withdrawing one, and
printing passport cards (audited: the cards carry addresses). Each checks capability and scope
through core.access and writes its audit event in its transaction."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, require
from xiuhua.core.audit import audit
from xiuhua.core.text import check_person_name
from xiuhua.core.workflow import move

from . import periods
from .models import RECORDED_KINDS, PassportHousehold, Stamp, StampKind, StampStatus

NOTE_LIMIT = 100


def _clean_note(text: str, field: str, errors: dict) -> str:
    text = " ".join((text or "").split())
    if len(text) > NOTE_LIMIT:
        errors[field] = _("说明不能超过%(n)s个字") % {"n": NOTE_LIMIT}
        return text
    try:
        # Refuses control and invisible format characters (bidi overrides), as names do.
        check_person_name(text)
    except ValidationError:
        errors[field] = _("说明中有不能使用的字符")
    return text


@transaction.atomic
def stamp_record(*, actor, household, kind: str, stamped_on: dt.date | None, note: str = "",
                 today: dt.date | None = None) -> Stamp:
    """A volunteer or convenience stamp for the household, in the week of `stamped_on` (this week
    or up to WEEKS_SHOWN - 1 weeks back, not in the future). A second one for the same household,
    kind and week is refused."""
    require(actor, Cap.STAMP_PASSPORT)
    household = access_by_id(PassportHousehold.objects, actor, pk=household.pk, cap=Cap.STAMP_PASSPORT)
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    if kind not in RECORDED_KINDS:
        errors["kind"] = _("请选择志愿服务或便民服务")
    oldest = periods.recent(today=today)[-1].start
    if stamped_on is None:
        errors["stamped_on"] = _("请填写服务日期")
    elif stamped_on > today:
        errors["stamped_on"] = _("服务日期不能晚于今天")
    elif stamped_on < oldest:
        errors["stamped_on"] = _("只能补盖最近%(n)s周的章(%(day)s 以后)") % {
            "n": periods.WEEKS_SHOWN, "day": oldest.isoformat()}
    note = _clean_note(note, "note", errors)
    if errors or stamped_on is None:
        raise ValidationError(errors)
    period = periods.of_day(stamped_on)
    stamp = Stamp(household=household, kind=kind, period_start=period.start, stamped_on=stamped_on, note=note,
                  stamped_by=actor)
    try:
        with transaction.atomic():
            stamp.save()
    except IntegrityError:
        raise ValidationError({"kind": _("本户%(week)s已盖过%(kind)s章,不能重复盖章") % {
            "week": period.label, "kind": StampKind(kind).label}}) from None
    audit(actor=actor, action="passport_stamp_record", obj=stamp, committee_id=stamp.committee_id,
          subject_label=f"{household.address} {StampKind(kind).label} {period.start}",
          detail={"kind": kind, "week": period.start.isoformat(), "on": stamped_on.isoformat()})
    return stamp


def stamp_record_for_service(*, household_id: int, stamped_on: dt.date, stamped_by, note: str) -> Stamp | None:
    """The system's path for another module that saw the service done (a volunteer's completed
    shift): the household's volunteer stamp for the week of `stamped_on`, once. `stamped_by` is
    the staff member answerable for the service (who set up the duty post). None, and nothing
    written, when the household has its stamp for that week already."""
    period = periods.of_day(stamped_on)
    with transaction.atomic():
        if Stamp.objects.filter(household_id=household_id, kind=StampKind.VOLUNTEER, period_start=period.start,
                                status=StampStatus.ACTIVE).exists():
            return None
        household = PassportHousehold.objects.select_related("building", "compound").get(pk=household_id)
        stamp = Stamp(household=household, kind=StampKind.VOLUNTEER, period_start=period.start,
                      stamped_on=stamped_on, note=note[:NOTE_LIMIT], stamped_by=stamped_by)
        try:
            with transaction.atomic():
                stamp.save()
        except IntegrityError:
            return None  # a parallel check-out stamped it first
        audit(actor=None, action="passport_stamp_record", obj=stamp, committee_id=stamp.committee_id,
              subject_label=f"{household.address} {StampKind.VOLUNTEER.label} {period.start}",
              detail={"kind": StampKind.VOLUNTEER, "week": period.start.isoformat(), "on": stamped_on.isoformat(),
                      "source": "volunteer_duty"})
    return stamp


def stamp_withdraw(*, actor, stamp: Stamp, reason: str) -> Stamp:
    """Withdraw a stamp entered by mistake, with a reason (core.workflow: one audit event)."""
    errors: dict[str, str] = {}
    reason = _clean_note(reason, "reason", errors)
    if len(reason) < 2 and "reason" not in errors:
        errors["reason"] = _("请填写撤销原因")
    if errors:
        raise ValidationError(errors)

    def change(locked: Stamp) -> dict:
        locked.withdrawn_by = actor
        locked.withdrawn_at = timezone.now()
        locked.withdraw_reason = reason
        return {"kind": locked.kind, "week": locked.period_start.isoformat()}

    return move(stamp, "withdraw", actor=actor, change=change, reason=reason)


@transaction.atomic
def cards_print(*, actor, households: list, scope_label: str) -> None:
    """Record that passport cards were printed (addresses and QR codes leave on paper)."""
    require(actor, Cap.VIEW_PASSPORT)
    committees = {h.committee_id for h in households}
    audit(actor=actor, action="passport_cards_print",
          committee_id=next(iter(committees)) if len(committees) == 1 else None,
          subject_label=scope_label, detail={"count": len(households)})


__all__ = ["stamp_record", "stamp_record_for_service", "stamp_withdraw", "cards_print", "StampStatus"]
