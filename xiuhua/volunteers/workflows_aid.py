"""Mutual aid's declared state tables (core.workflow): a help request (claimed by the first
taker, marked done by the claimer's unit, withdrawn by the poster's, widened by the sweep) and the
A/B cover (ended by the street of either committee, or on its end date by the sweep)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.scoping import covers
from xiuhua.core.workflow import Action, Workflow

from .models_aid import AidCover, AidCoverStatus, AidRequest, AidRequestStatus

S = AidRequestStatus


def claimer_side(membership, request: AidRequest) -> bool:
    """The unit that claimed the request marks it done."""
    return request.claimed_committee_id == membership.org_unit_id


def poster_side(membership, request: AidRequest) -> bool:
    """The posting committee, or its street, withdraws an open request."""
    return membership.org_unit_id == request.committee_id or covers(membership, request.committee)


def either_street(membership, cover: AidCover) -> bool:
    return covers(membership, cover.committee) or covers(membership, cover.partner)


AID_REQUEST = Workflow(
    AidRequest, field="status", name="aid_request", states=S,
    committee=lambda r: r.committee_id, label=lambda r: f"#{r.pk} {r.what[:60]}",
    actions={
        # Taken by one conditional UPDATE (core.workflow.move_many), never by a locked read.
        "claim": Action({S.OPEN}, S.CLAIMED, Cap.MUTUAL_AID, label=_("认领")),
        "done": Action({S.CLAIMED}, S.DONE, Cap.MUTUAL_AID, guard=claimer_side, label=_("标记完成")),
        "cancel": Action({S.OPEN}, S.CANCELLED, Cap.MUTUAL_AID, guard=poster_side, label=_("撤回")),
        "widen": Action({S.OPEN}, S.OPEN, system=True, label=_("无人认领,扩大求助范围")),
    },
)

AID_COVER = Workflow(
    AidCover, field="status", name="aid_cover", states=AidCoverStatus,
    committee=lambda c: c.committee_id, label=lambda c: f"{c.partner.name} → {c.committee.name}",
    related=("committee", "partner"),
    actions={
        "end": Action({AidCoverStatus.ACTIVE}, AidCoverStatus.ENDED, Cap.MANAGE_PAIRING, guard=either_street,
                      label=_("结束临时代管")),
        "expire": Action({AidCoverStatus.ACTIVE}, AidCoverStatus.ENDED, system=True, label=_("临时代管到期结束")),
    },
)
