"""The declared state tables (core.workflow) of group buying: a leader's application, a filing
(报备) and a complaint. The committee's staff (REVIEW_GROUPBUY) of the row's committee decide;
the leader's own moves (resubmitting a filing from the phone) are system actions called by a
service that has matched the proven phone to the approved leader."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.workflow import Action, Workflow

from .models import Complaint, ComplaintStatus, Filing, FilingStatus, Leader, LeaderStatus

L, F, C = LeaderStatus, FilingStatus, ComplaintStatus

LEADER = Workflow(
    Leader, name="groupbuy_leader", states=L, label=lambda leader: str(leader),
    actions={
        "approve": Action({L.APPLIED}, L.APPROVED, Cap.REVIEW_GROUPBUY, label=_("批准")),
        "refuse": Action({L.APPLIED}, L.REFUSED, Cap.REVIEW_GROUPBUY, label=_("不批准")),
    },
)

FILING = Workflow(
    Filing, name="groupbuy_filing", states=F, label=lambda filing: filing.number,
    actions={
        "approve": Action({F.SUBMITTED}, F.APPROVED, Cap.REVIEW_GROUPBUY, label=_("通过")),
        "request_changes": Action({F.SUBMITTED}, F.CHANGES_REQUESTED, Cap.REVIEW_GROUPBUY, label=_("退回修改")),
        "refuse": Action({F.SUBMITTED}, F.REFUSED, Cap.REVIEW_GROUPBUY, label=_("不通过")),
        # The leader, on the phone, sends a corrected filing back.
        "resubmit": Action({F.CHANGES_REQUESTED}, F.SUBMITTED, system=True, label=_("重新提交")),
        # Committee staff send it back on the leader's behalf (a leader without a smartphone).
        "resubmit_for": Action({F.CHANGES_REQUESTED}, F.SUBMITTED, Cap.REVIEW_GROUPBUY, label=_("代为重新提交")),
    },
)

COMPLAINT = Workflow(
    Complaint, name="groupbuy_complaint", states=C, label=lambda complaint: str(complaint),
    actions={
        "handle": Action({C.OPEN}, C.HANDLED, Cap.REVIEW_GROUPBUY, label=_("处理完毕")),
    },
)
