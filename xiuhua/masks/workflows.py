"""The mask module's declared state tables (core.workflow): the round.

A round is run by the round managers of its scope or above it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.scoping import covers
from xiuhua.core.workflow import Action, Workflow

from .models import MaskRound, RoundStatus

S = RoundStatus


def manages_round(membership, mask_round: MaskRound) -> bool:
    """Round managers of the round's scope or above it change its rules and move it."""
    return membership is not None and membership.has(Cap.MANAGE_ROUNDS) and covers(membership, mask_round.scope)


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


__all__ = ["MASK_ROUND", "manages_round"]
