"""The screening module's declared state tables (core.workflow): the round, the tube, the box.

A round is run by the screening managers of its scope or above it. Tubes are closed and boxed at
the station by the people collecting there; a box is handed over by them and received by whoever
records results; a tube's result is recorded from the lab's file or its API push. Tubes and
boxes are created in their first state (open, packing) by the station's scans.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers
from xiuhua.core.workflow import Action, Workflow

from .models import AWAITING_RESULT, Box, BoxStatus, Review, ReviewStatus, ScreeningRound, Tube, TubeStatus
from .models import RoundStatus as S

T = TubeStatus
B = BoxStatus


def manages_round(membership, screening_round: ScreeningRound) -> bool:
    """Screening managers of the round's scope or above it move it."""
    return (membership is not None and membership.has(Cap.MANAGE_SCREENING)
            and covers(membership, screening_round.scope))


def _round_refusal(screening_round: ScreeningRound, action: str) -> str:
    return _("筛查轮次不能从“%(old)s”改为“%(new)s”") % {
        "old": S(screening_round.status).label, "new": S(SCREENING_ROUND.actions[action].target).label}


SCREENING_ROUND = Workflow(
    ScreeningRound, name="screening_round", field="status", states=S, refusal=_round_refusal,
    related=("scope",), label=lambda screening_round: screening_round.name, committee=lambda _round: None,
    actions={
        "open": Action({S.DRAFT}, S.OPEN, Cap.MANAGE_SCREENING, guard=manages_round, label=_("开始采样")),
        "close": Action({S.OPEN}, S.CLOSED, Cap.MANAGE_SCREENING, guard=manages_round, label=_("结束采样")),
        "reopen": Action({S.CLOSED}, S.OPEN, Cap.MANAGE_SCREENING, guard=manages_round, label=_("恢复采样")),
        "finish": Action({S.CLOSED}, S.FINISHED, Cap.MANAGE_SCREENING, guard=manages_round, label=_("结束轮次")),
    },
)


def _tube_refusal(tube: Tube, action: str) -> str:
    return _("试管 %(barcode)s 当前为“%(status)s”,不能%(action)s") % {
        "barcode": tube.barcode, "status": T(tube.status).label, "action": TUBE.actions[action].label}


TUBE = Workflow(
    Tube, name="screening_tube", field="status", states=T, refusal=_tube_refusal, related=("site",),
    label=lambda tube: tube.barcode,
    actions={
        "close": Action({T.OPEN}, T.CLOSED, Cap.COLLECT_SAMPLES, label=_("封管")),
        "box": Action({T.CLOSED}, T.BOXED, Cap.COLLECT_SAMPLES, label=_("装箱")),
        "hand_over": Action({T.BOXED}, T.HANDED_OVER, Cap.COLLECT_SAMPLES, label=_("转运交接")),
        "receive": Action({T.BOXED, T.HANDED_OVER}, T.RECEIVED, Cap.RECORD_RESULTS, label=_("实验室接收")),
        # A lab may result a tube whose box was never scanned in: any closed tube takes a result.
        "result": Action(AWAITING_RESULT, T.RESULTED, Cap.RECORD_RESULTS, label=_("录入结果")),
    },
)


def _box_refusal(box: Box, action: str) -> str:
    return _("转运箱 %(barcode)s 当前为“%(status)s”,不能%(action)s") % {
        "barcode": box.barcode, "status": B(box.status).label, "action": BOX.actions[action].label}


BOX = Workflow(
    Box, name="screening_box", field="status", states=B, refusal=_box_refusal, related=("site",),
    label=lambda box: box.barcode,
    actions={
        "hand_over": Action({B.PACKING}, B.HANDED_OVER, Cap.COLLECT_SAMPLES, label=_("转运交接")),
        "receive": Action({B.HANDED_OVER}, B.RECEIVED, Cap.RECORD_RESULTS, label=_("实验室接收")),
    },
)

R = ReviewStatus


def _review_refusal(review: Review, action: str) -> str:
    return _("该人员复核状态为“%(status)s”,不能%(action)s") % {
        "status": R(review.status).label, "action": REVIEW.actions[action].label}


# A review is opened with its pool's result (created pending). The door-to-door team takes the
# single tube; its result closes the review, or an invalid single sends it back for another tube.
REVIEW = Workflow(
    Review, name="screening_review", field="status", states=R, refusal=_review_refusal,
    label=lambda review: review.code.reference,
    actions={
        "sample": Action({R.PENDING}, R.SAMPLED, Cap.COLLECT_SAMPLES, label=_("单管采样")),
        # The single tube's result decides these (results_apply has checked who recorded it).
        "clear": Action({R.SAMPLED}, R.CLEARED, system=True, label=_("复核阴性")),
        "confirm": Action({R.SAMPLED}, R.POSITIVE, system=True, label=_("复核阳性")),
        "resample": Action({R.SAMPLED}, R.PENDING, system=True, label=_("单管无效,重新采样")),
    },
)

__all__ = ["BOX", "REVIEW", "SCREENING_ROUND", "TUBE", "manages_round"]
