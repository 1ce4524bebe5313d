"""The declared state tables (core.workflow) of arrivals and home-isolation cases.

A registration from a phone waits for staff, who accept it (its case opens), merge it into another
registration of the same person, or reject it; staff registrations are accepted when made. A case
is open until it ends once: released on or after its end day, transferred, or sent to hospital;
while open it may be extended. Committee staff do all of it, within their committee (the rows'
visible_to).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.workflow import Action, Workflow

from .models import Arrival, ArrivalStatus, CaseStatus, IsolationCase

A = ArrivalStatus
C = CaseStatus


def _arrival_refusal(arrival: Arrival, action: str) -> str:
    return _("登记状态不能从“%(old)s”改为“%(new)s”") % {
        "old": A(arrival.status).label, "new": A(ARRIVAL.actions[action].target).label}


ARRIVAL = Workflow(
    Arrival, name="arrival", field="status", states=A, refusal=_arrival_refusal,
    label=lambda arrival: arrival.name,
    actions={
        "accept": Action({A.AWAITING}, A.ACCEPTED, Cap.MANAGE_ISOLATION, label=_("核实")),
        "merge": Action({A.AWAITING}, A.MERGED, Cap.MANAGE_ISOLATION, label=_("合并")),
        "reject": Action({A.AWAITING}, A.REJECTED, Cap.MANAGE_ISOLATION, label=_("不予通过")),
    },
)


def _case_refusal(case: IsolationCase, action: str) -> str:
    return str(_("该隔离已结束"))


ISOLATION_CASE = Workflow(
    IsolationCase, name="isolation_case", field="status", states=C, refusal=_case_refusal,
    related=("arrival", "rule"), label=lambda case: case.arrival.name,
    actions={
        # One decision with one audit name, whichever way the case ends (move's `to`).
        "close": Action({C.OPEN}, C.RELEASED, Cap.MANAGE_ISOLATION, alternatives={C.TRANSFERRED, C.HOSPITAL},
                        label=_("结束隔离")),
        "extend": Action({C.OPEN}, C.OPEN, Cap.MANAGE_ISOLATION, label=_("延长隔离")),
    },
)

# The states a case may end in (the close form's choices).
CLOSED_STATES = ISOLATION_CASE.actions["close"].targets

__all__ = ["ARRIVAL", "CLOSED_STATES", "ISOLATION_CASE"]
