"""The mask module's declared state tables (core.workflow): the round, the reservation, the voucher.

A round is run by the round managers of its scope or above it. A reservation is verified or
rejected by committee staff who see it. Issuing, redemption and expiry move reservations along
with their vouchers: those moves are the system's (the stock and the voucher decide them, the
service has checked whoever stands behind them), issuing and expiry a whole pharmacy's batch at
once with one UPDATE (core.workflow.move_many). A reservation and a voucher are created in their
first state (queued or verifying; issued), which needs no action.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers
from xiuhua.core.workflow import Action, Workflow

from .models import MaskRound, Reservation, ReservationStatus, RoundStatus, Voucher, VoucherStatus

S = RoundStatus
R = ReservationStatus
V = VoucherStatus


def manages_round(membership, mask_round: MaskRound) -> bool:
    """Round managers of the round's scope or above it change its rules and move it."""
    return membership is not None and membership.has(Cap.MANAGE_ROUNDS) and covers(membership, mask_round.scope)


def sells_at(membership, voucher: Voucher) -> bool:
    """A voucher is redeemed only at its own pharmacy, by one of that pharmacy's clerks."""
    return voucher.pharmacy.clerks.filter(pk=membership.pk).exists()


def _round_refusal(mask_round: MaskRound, action: str) -> str:
    return _("轮次不能从“%(old)s”改为“%(new)s”") % {
        "old": S(mask_round.status).label, "new": S(MASK_ROUND.actions[action].target).label}


# The actions are named after the state they reach: the audit log has always called them
# mask_round_open, mask_round_closed and mask_round_finished.
MASK_ROUND = Workflow(
    MaskRound, name="mask_round", field="status", states=S, refusal=_round_refusal, related=("scope",),
    label=lambda mask_round: mask_round.name,
    actions={
        "open": Action({S.DRAFT}, S.OPEN, Cap.MANAGE_ROUNDS, guard=manages_round, label=_("开始登记")),
        "closed": Action({S.OPEN}, S.CLOSED, Cap.MANAGE_ROUNDS, guard=manages_round, label=_("截止登记")),
        "finished": Action({S.CLOSED}, S.FINISHED, Cap.MANAGE_ROUNDS, guard=manages_round, label=_("结束轮次")),
    },
)


def _reservation_refusal(reservation: Reservation, action: str) -> str:
    return _("预约状态不能从“%(old)s”改为“%(new)s”") % {
        "old": R(reservation.status).label, "new": R(RESERVATION.actions[action].target).label}


RESERVATION = Workflow(
    Reservation, name="reservation", field="status", states=R, refusal=_reservation_refusal,
    label=lambda reservation: reservation.number,
    actions={
        # An entry that could not be matched to the roster: staff match it to a household, or not.
        "verify": Action({R.VERIFYING}, R.QUEUED, Cap.VERIFY_RESERVATION, label=_("核实通过")),
        "reject": Action({R.VERIFYING}, R.REJECTED, Cap.VERIFY_RESERVATION, label=_("不予通过")),
        # Issuing a pharmacy's vouchers in queue order, as stock arrives.
        "issue": Action({R.QUEUED}, R.ISSUED, system=True, label=_("发放购买凭证")),
        # Following its voucher: bought at the pharmacy, or expired unused (the masks go to the next in line).
        "redeem": Action({R.ISSUED}, R.REDEEMED, system=True, label=_("购买")),
        "expire": Action({R.ISSUED}, R.CANCELLED, system=True, label=_("凭证过期")),
    },
)


def _voucher_refusal(voucher: Voucher, action: str) -> str:
    if voucher.status == V.REDEEMED and voucher.redeemed_at is not None:
        return _("该凭证已于%(when)s在%(where)s使用,不能重复购买") % {
            "when": timezone.localtime(voucher.redeemed_at).strftime("%Y-%m-%d %H:%M"),
            "where": voucher.pharmacy.name,
        }
    return voucher_expired(voucher)


def voucher_expired(voucher: Voucher) -> str:
    return _("该凭证已于%(when)s过期") % {"when": timezone.localtime(voucher.expires_at).strftime("%Y-%m-%d %H:%M")}


VOUCHER = Workflow(
    Voucher, name="voucher", field="status", states=V, refusal=_voucher_refusal,
    related=("pharmacy", "reservation"), label=lambda voucher: voucher.number,
    committee=lambda voucher: voucher.reservation.committee_id,
    actions={
        "redeem": Action({V.ISSUED}, V.REDEEMED, Cap.REDEEM_VOUCHER, guard=sells_at, label=_("核销")),
        "expire": Action({V.ISSUED}, V.EXPIRED, system=True, label=_("过期")),
    },
)

__all__ = ["MASK_ROUND", "RESERVATION", "VOUCHER", "manages_round", "sells_at", "voucher_expired"]
