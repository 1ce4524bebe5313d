"""The engine of core.workflow, driven on a real declared table (the work order's)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiuhua.accounts.roles import Cap
from xiuhua.core.models import AuditEvent
from xiuhua.core.workflow import WORKFLOWS, Action, Workflow, can, may, move, move_many
from xiuhua.testing import acting, build_world
from xiuhua.tickets import services
from xiuhua.tickets.models import Category, Ticket, TicketEvent, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def ticket(world):
    made, _token = services.ticket_create(
        actor=None, source="door_qr", category="dialysis", urgency="normal", description="周三透析,需要车辆",
        committee=world.committee_a1, household=world.household_a1, requester_phone="13812345678",
    )
    return made


def test_a_move_locks_checks_records_and_audits_once(world, ticket):
    staff = acting(world.staff_a1)
    before = AuditEvent.objects.count()
    moved = move(ticket, "accept", actor=staff, note="已受理")
    assert moved.status == TicketStatus.ACCEPTED
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ACCEPTED
    event = AuditEvent.objects.order_by("pk").last()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.object_id, event.committee_id) == ("ticket_accept", ticket.pk, world.committee_a1.pk)
    assert event.detail == {"from": "received", "to": "accepted"}
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", "from_status", "to_status", "note")) \
        == [("create", "", "received", ""), ("accept", "received", "accepted", "已受理")]


def test_a_refused_change_writes_nothing(world, ticket):
    staff = acting(world.staff_a1)
    before = AuditEvent.objects.count()

    def refuse(locked):
        locked.description = "改过了"
        raise ValidationError({"note": "不行"})

    with pytest.raises(ValidationError):
        move(ticket, "accept", actor=staff, change=refuse)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.status, fresh.description) == (TicketStatus.RECEIVED, "周三透析,需要车辆")
    assert AuditEvent.objects.count() == before


def test_the_table_the_capability_the_scope_and_the_system_flag_are_each_checked(world, ticket):
    with pytest.raises(ValidationError):  # not from received
        move(ticket, "close", actor=acting(world.staff_a1))
    with pytest.raises(PermissionDenied):  # a grid worker holds no record_ticket
        move(ticket, "accept", actor=acting(world.grid_worker))
    with pytest.raises(PermissionDenied):  # another committee
        move(ticket, "accept", actor=acting(world.staff_b1))
    with pytest.raises(PermissionDenied):  # no one: accepting is a person's action
        move(ticket, "accept", actor=None)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RECEIVED


def test_can_asks_the_state_and_may_does_not(world, ticket):
    staff, other = acting(world.staff_a1), acting(world.staff_b1)
    assert can(staff, ticket, "accept") and not can(staff, ticket, "close")
    assert may(staff, ticket, "close") and not may(other, ticket, "close")
    assert not can(other, ticket, "accept") and not can(None, ticket, "accept")
    assert not can(staff, ticket, "no_such_action")


def test_an_action_without_a_capability_must_say_it_is_the_systems():
    with pytest.raises(ValueError):
        Action({"a"}, "b")
    assert Action({"a"}, "b", system=True).cap is None


@pytest.fixture
def category_table():
    """A table on a field nobody governs, for the batch move (removed again after the test)."""
    table = Workflow(Ticket, name="ticket_category", field="category", actions={
        "regroup": Action({Category.DIALYSIS}, Category.OTHER, Cap.RECORD_TICKET),
        "regroup_nightly": Action({Category.DIALYSIS}, Category.OTHER, system=True),
    })
    yield table
    WORKFLOWS[Ticket].remove(table)


def test_a_batch_moves_only_rows_in_a_source_state_with_one_audit_event(world, ticket, category_table):
    other, _token = services.ticket_create(
        actor=None, source="door_qr", category="medicine", urgency="normal", description="配药",
        committee=world.committee_a1, household=world.household_a1, requester_phone="13812345678",
    )
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        move_many(Ticket.objects.all(), "regroup", actor=None)
    moved = move_many(Ticket.objects.all(), "regroup_nightly", actor=None, committee_id=world.committee_a1.pk)
    assert moved == 1
    assert dict(Ticket.objects.values_list("pk", "category")) == {ticket.pk: "other", other.pk: "medicine"}
    event = AuditEvent.objects.order_by("pk").last()
    assert (event.action, event.committee_id, event.detail) == (
        "ticket_category_regroup_nightly", world.committee_a1.pk, {"to": "other", "count": 1})
    assert AuditEvent.objects.count() == before + 1
    assert move_many(Ticket.objects.all(), "regroup_nightly", actor=None) == 0  # nothing left: no event
    assert AuditEvent.objects.count() == before + 1
