"""The work order's declared state tables (core.workflow): its status, and its extension.

Who may act is the capability plus one of two scopes: the unit that holds the order now (its
department, or the committee it was dispatched to) starts and replies; the requester's committee
and its street accept, dispatch, close, call back and reopen, even while another committee
handles it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers
from xiuhua.core.workflow import Action, Workflow
from xiuhua.places.models import Kind

from .models import OPEN_STATUSES, Extension, Ticket, TicketEvent, TicketStatus

S = TicketStatus


def works_on(membership, ticket: Ticket) -> bool:
    """The committee's or street's own tickets, or those dispatched to the member's department."""
    if membership is None:
        return False
    if membership.role == "department_staff":
        department = ticket.department
        return department is not None and department.members.filter(pk=membership.pk).exists()
    return covers(membership, ticket.committee) or (
        ticket.assigned_committee_id is not None and ticket.assigned_committee_id == membership.org_unit_id
    )


def holds(membership, ticket: Ticket) -> bool:
    """Whether the member's unit is the one working on the order now: its department when it was
    dispatched to one, else the committee it was dispatched to."""
    if ticket.department_id is not None:
        return membership.role == "department_staff" and works_on(membership, ticket)
    return ticket.assigned_committee_id is not None and ticket.assigned_committee_id == membership.org_unit_id


def on_requester_side(membership, ticket: Ticket) -> bool:
    """Whether the membership records orders for the ticket's own committee (that committee, its
    street or above)."""
    return (
        membership is not None and membership.has(Cap.RECORD_TICKET) and membership.role != "department_staff"
        and covers(membership, ticket.committee)
    )


def handles_or_records(membership, ticket: Ticket) -> bool:
    """Whoever works on the order with either capability (asks for an extension, sees the phone)."""
    return (membership.has(Cap.HANDLE_TICKET) or membership.has(Cap.RECORD_TICKET)) and works_on(membership, ticket)


def street_over(membership, ticket: Ticket) -> bool:
    """A street (or higher) membership that records orders of the ticket's committee: extensions
    are approved there, never by the committee that may hold the order."""
    return (
        membership.has(Cap.RECORD_TICKET) and membership.org_unit.kind != Kind.COMMITTEE
        and covers(membership, ticket.committee)
    )


def _record_status(ticket: Ticket, action, before, after, actor, now, note) -> None:
    TicketEvent.objects.create(
        ticket=ticket, at=now, actor=actor, action=action, from_status=before, to_status=after, note=note,
        satisfaction=ticket.satisfaction if action == "call_back" else None,
    )


def _record_extension(ticket: Ticket, action, before, after, actor, now, note) -> None:
    TicketEvent.objects.create(ticket=ticket, at=now, actor=actor, action=action, from_status=ticket.status,
                               to_status=ticket.status, note=note)


def _refusal(ticket: Ticket, action: str) -> str:
    return _("工单当前为“%(status)s”,不能%(action)s") % {
        "status": S(ticket.status).label, "action": TICKET.actions[action].label}


TICKET = Workflow(
    Ticket, name="ticket", field="status", states=S, record=_record_status, refusal=_refusal,
    related=("committee", "department"), label=lambda ticket: ticket.number,
    actions={
        "accept": Action({S.RECEIVED}, S.ACCEPTED, Cap.RECORD_TICKET, guard=on_requester_side, label=_("受理")),
        "dispatch": Action({S.ACCEPTED, S.REOPENED}, S.DISPATCHED, Cap.RECORD_TICKET, guard=on_requester_side,
                           label=_("派单")),
        # Sent to the wrong place, or stuck there: the requester's committee or the street sends it on.
        "redispatch": Action({S.DISPATCHED, S.HANDLING}, S.DISPATCHED, Cap.RECORD_TICKET, guard=on_requester_side,
                             label=_("改派")),
        "start": Action({S.DISPATCHED}, S.HANDLING, Cap.HANDLE_TICKET, guard=holds, label=_("开始办理")),
        "reply": Action({S.HANDLING}, S.REPLIED, Cap.HANDLE_TICKET, guard=holds, label=_("答复")),
        "close": Action({S.REPLIED}, S.CLOSED, Cap.RECORD_TICKET, guard=on_requester_side, label=_("办结")),
        "call_back": Action({S.CLOSED}, S.CALLED_BACK, Cap.RECORD_TICKET, guard=on_requester_side, label=_("回访")),
        "reopen": Action({S.CLOSED, S.CALLED_BACK}, S.REOPENED, Cap.RECORD_TICKET, guard=on_requester_side,
                         label=_("重新打开")),
    },
)

X = Extension

def _extension_refusal(ticket: Ticket, action: str):
    if action == "extension_request":
        return {"days": _("已申请过延期")}
    return _("没有待审批的延期申请")


TICKET_EXTENSION = Workflow(
    Ticket, name="ticket", field="extension", states=X, record=_record_extension, refusal=_extension_refusal,
    related=("committee", "department"), label=lambda ticket: ticket.number,
    actions={
        # Whoever handles a complex order asks the street for more working days, once.
        "extension_request": Action({X.NONE, X.REFUSED}, X.REQUESTED, Cap.VIEW_TICKETS, guard=handles_or_records,
                                    label=_("申请延期")),
        "extension_approve": Action({X.REQUESTED}, X.APPROVED, Cap.RECORD_TICKET, guard=street_over,
                                    label=_("批准延期")),
        "extension_refuse": Action({X.REQUESTED}, X.REFUSED, Cap.RECORD_TICKET, guard=street_over,
                                   label=_("不批准延期")),
    },
)

__all__ = ["TICKET", "TICKET_EXTENSION", "OPEN_STATUSES", "holds", "on_requester_side", "street_over", "works_on"]
