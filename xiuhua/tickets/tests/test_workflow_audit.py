"""Every declared action of the work order's state tables, driven through its service from each of
its source states, writes exactly one audit event named after it and lands in its target state.

A new action in workflows.py fails here until it has a driver below: the audit trail of a work
order cannot silently miss a step.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

import pytest

from xiuhua.core.models import AuditEvent
from xiuhua.core.workflow import Workflow
from xiuhua.testing import acting
from xiuhua.tickets import services
from xiuhua.tickets.calendar import DeadlineClass
from xiuhua.tickets.models import Extension, Ticket, TicketStatus
from xiuhua.tickets.workflows import TICKET, TICKET_EXTENSION

pytestmark = pytest.mark.django_db

# The state a work order is created in, by field; and the status an order is in while its
# extension moves (an extension is asked and decided while the order is worked on).
FIRST_STATE = {"status": TicketStatus.RECEIVED, "extension": Extension.NONE}
STATUS_WHILE_EXTENDING = TicketStatus.HANDLING

_numbers = itertools.count(1)

# action -> how its service is called: (world, ticket) -> the moved ticket. The requester's
# committee (staff_a1) records, dispatches to itself by default and so also handles; the street
# decides extensions.
Driver = Callable[..., Ticket]


def _move(action: str, **data) -> Driver:
    def drive(w, ticket: Ticket) -> Ticket:
        return services.ticket_move(actor=acting(w.staff_a1), ticket=ticket, action=action, **data)

    return drive


def _redispatch(w, ticket: Ticket) -> Ticket:
    return services.ticket_move(actor=acting(w.staff_a1), ticket=ticket, action="redispatch",
                                committee=w.committee_a2, note="属国和二村辖区")


def _extension_request(w, ticket: Ticket) -> Ticket:
    return services.ticket_extension_request(actor=acting(w.staff_a1), ticket=ticket, days=5, reason="等待维修配件")


def _extension_decide(approve: bool) -> Driver:
    def drive(w, ticket: Ticket) -> Ticket:
        return services.ticket_extension_decide(actor=acting(w.street_officer), ticket=ticket, approve=approve,
                                                note="" if approve else "请按原时限办结")

    return drive


DRIVERS: dict[str, Driver] = {
    "accept": _move("accept"),
    "dispatch": _move("dispatch"),
    "redispatch": _redispatch,
    "start": _move("start"),
    "reply": _move("reply", reply="已联系物业,明日上午恢复供水"),
    "close": _move("close"),
    "call_back": _move("call_back", satisfaction=5),
    "reopen": _move("reopen", note="居民反映仍未恢复"),
    "extension_request": _extension_request,
    "extension_approve": _extension_decide(approve=True),
    "extension_refuse": _extension_decide(approve=False),
}

CASES = [(TICKET, action) for action in sorted(TICKET.actions)] + [
    (TICKET_EXTENSION, action) for action in sorted(TICKET_EXTENSION.actions)
]


def path_to(workflow: Workflow, state: str) -> list[str]:
    """The shortest list of actions that takes a new order to `state` (breadth first, by name)."""
    start = str(FIRST_STATE[workflow.field])
    paths: dict[str, list[str]] = {start: []}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for action in sorted(workflow.actions):
            act = workflow.actions[action]
            if current in act.sources and act.target not in paths:
                paths[act.target] = [*paths[current], action]
                queue.append(act.target)
    assert state in paths, f"{workflow.field} {state!r} cannot be reached from {start!r}"
    return paths[state]


def order_in(w, workflow: Workflow, state: str) -> Ticket:
    """A complex 12345 order of committee A1 (so that it may ask for an extension), moved through
    the services into `state` of the workflow's field."""
    ticket, _token = services.ticket_create(
        actor=acting(w.staff_a1), source="hotline", category="utilities", urgency="normal", description="停水",
        committee=w.committee_a1, external_number=f"12345-2022-{next(_numbers):06d}",
        deadline_class=DeadlineClass.COMPLEX,
    )
    steps = path_to(TICKET, STATUS_WHILE_EXTENDING) if workflow is TICKET_EXTENSION else []
    for action in [*steps, *path_to(workflow, state)]:
        ticket = DRIVERS[action](w, ticket)
    assert getattr(ticket, workflow.field) == state
    return ticket


@pytest.mark.parametrize(("workflow", "action"), CASES, ids=[action for _w, action in CASES])
def test_each_action_writes_one_audit_event_and_lands_in_its_target(world, workflow, action):
    driver = DRIVERS.get(action)
    assert driver is not None, f"{action} is declared in workflows.py but has no driver in this test"
    act = workflow.actions[action]
    for source in sorted(act.sources):
        ticket = order_in(world, workflow, source)
        last = AuditEvent.objects.order_by("pk").values_list("pk", flat=True).last() or 0
        driver(world, ticket)
        events = list(AuditEvent.objects.filter(pk__gt=last))
        assert [(e.action, e.object_id) for e in events] == [(f"ticket_{action}", ticket.pk)], source
        assert (events[0].detail["from"], events[0].detail["to"]) == (source, act.target)
        ticket.refresh_from_db()
        assert getattr(ticket, workflow.field) == act.target, source


def test_every_driver_is_a_declared_action():
    assert set(DRIVERS) == set(TICKET.actions) | set(TICKET_EXTENSION.actions)
