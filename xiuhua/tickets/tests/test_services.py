"""Intake and the declared workflow of work orders."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.core.workflow import may
from xiuhua.testing import acting, make_user
from xiuhua.tickets import services
from xiuhua.tickets.models import Department, Ticket, TicketEvent, TicketStatus
from xiuhua.tickets.services import token_hash
from xiuhua.tickets.workflows import TICKET

from .test_calendar import at, end_of

pytestmark = pytest.mark.django_db


def door_request(w, **extra):
    data = dict(
        actor=None, source="door_qr", category="dialysis", urgency="urgent", description="周三透析,需要车辆",
        committee=w.committee_a1, household=w.household_a1, requester_phone="13812345678", now=at(2020, 2, 5, 21),
    ) | extra
    return services.ticket_create(**data)


@pytest.fixture
def department(world):
    dept = Department.objects.create(street=world.street_a, name="社区卫生服务中心")
    worker = make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a)
    dept.members.add(Membership.objects.get(user=worker))
    return dept


def test_every_state_is_reachable_and_every_action_declared():
    targets = {t.target for t in TICKET.actions.values()} | {TicketStatus.RECEIVED}
    assert targets == set(TicketStatus.values)
    assert set(TICKET.actions) == set(services.ACTION_LABELS)


def test_an_urgent_medical_request_from_the_door_is_an_emergency(world):
    ticket, token = door_request(world)
    assert (ticket.status, ticket.deadline_class, ticket.deadline_at) == ("received", "emergency", at(2020, 2, 6, 1))
    assert ticket.follow_token_hash == token_hash(token) and len(token) >= 20
    assert ticket.created_by is None and ticket.number.startswith("GD200205")
    normal, _t = door_request(world, category="food", urgency="normal")
    assert (normal.deadline_class, normal.deadline_at) == ("help", end_of(2020, 2, 12))


def test_hotline_orders_are_taken_once_per_external_number(world):
    staff = acting(world.staff_a1)
    data = dict(actor=staff, source="hotline", category="utilities", urgency="normal", description="停水",
                committee=world.committee_a1, external_number="12345-2022-000123", deadline_class="complaint",
                now=at(2022, 4, 1, 18))
    first, token = services.ticket_create(**data)
    again, no_token = services.ticket_create(**data)
    assert again.pk == first.pk and token and no_token == ""
    assert first.deadline_at == end_of(2022, 4, 11)  # 2 Apr worked, 3-5 Apr Qingming
    with pytest.raises(ValidationError):
        services.ticket_create(**(data | {"external_number": ""}))


@pytest.mark.parametrize(
    "change, field",
    [({"description": " "}, "description"), ({"category": "x"}, "category"), ({"requester_phone": "123"},
     "requester_phone")],
)
def test_bad_intake_writes_nothing(world, change, field):
    with pytest.raises(ValidationError) as caught:
        door_request(world, **change)
    assert field in caught.value.message_dict
    assert not Ticket.objects.exists()


def test_the_whole_way_with_reopen_and_history(world, department):
    ticket, _token = door_request(world)
    staff, street = acting(world.staff_a1), acting(world.street_officer)
    worker = acting(department.members.get().user)
    services.ticket_move(actor=staff, ticket=ticket, action="accept", now=at(2020, 2, 5, 21, 5))
    with pytest.raises(ValidationError):  # two targets
        services.ticket_move(actor=staff, ticket=ticket, action="dispatch", department=department,
                             committee=world.committee_a1)
    services.ticket_move(actor=street, ticket=ticket, action="dispatch", department=department)
    with pytest.raises(PermissionDenied):  # a committee member cannot handle what went to a department
        services.ticket_move(actor=acting(world.staff_a2), ticket=ticket, action="start")
    with pytest.raises(PermissionDenied):  # not even the requester's own committee: it follows and closes
        services.ticket_move(actor=staff, ticket=ticket, action="start")
    services.ticket_move(actor=worker, ticket=ticket, action="start")
    with pytest.raises(ValidationError):
        services.ticket_move(actor=worker, ticket=ticket, action="reply", reply=" ")
    services.ticket_move(actor=worker, ticket=ticket, action="reply", reply="已安排救护车周三7:00接送")
    with pytest.raises(PermissionDenied):  # the department does not close
        services.ticket_move(actor=worker, ticket=ticket, action="close")
    services.ticket_move(actor=staff, ticket=ticket, action="close")
    services.ticket_move(actor=staff, ticket=ticket, action="call_back", satisfaction=2)
    with pytest.raises(ValidationError):
        services.ticket_move(actor=staff, ticket=ticket, action="reopen")  # no reason
    services.ticket_move(actor=staff, ticket=ticket, action="reopen", note="车辆未到")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopened_count, ticket.satisfaction, ticket.closed_at) == (
        TicketStatus.REOPENED, 1, None, None)
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == [
        "create", "accept", "dispatch", "start", "reply", "close", "call_back", "reopen"]
    assert AuditEvent.objects.filter(action__startswith="ticket_").count() == 8


def test_moves_out_of_order_or_out_of_scope_are_refused(world):
    ticket, _token = door_request(world)
    with pytest.raises(ValidationError) as caught:
        services.ticket_move(actor=acting(world.staff_a1), ticket=ticket, action="close")
    assert caught.value.messages == ["工单当前为“已接收”,不能办结"]
    with pytest.raises(PermissionDenied):
        services.ticket_move(actor=acting(world.staff_b1), ticket=ticket, action="accept")
    with pytest.raises(PermissionDenied):
        services.ticket_move(actor=acting(world.grid_worker), ticket=ticket, action="accept")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RECEIVED
    assert dt.timedelta(hours=4) == ticket.deadline_at - ticket.received_at


def test_routing_rules_choose_the_dispatch_target(world, department):
    street = acting(world.street_officer)
    services.routing_rule_set(actor=street, street=world.street_a, category="dialysis", department=department)
    food = Department.objects.create(street=world.street_a, name="城运中心")
    services.routing_rule_set(actor=street, street=world.street_a, category="food", department=food,
                              committee=world.committee_a2)
    staff = acting(world.staff_a1)

    def dispatched(category, committee, household):
        ticket, _t = door_request(world, category=category, committee=committee, household=household)
        services.ticket_move(actor=staff if committee == world.committee_a1 else acting(world.staff_a2),
                             ticket=ticket, action="accept")
        return services.ticket_move(actor=street, ticket=ticket, action="dispatch")

    assert dispatched("dialysis", world.committee_a1, world.household_a1).department == department
    # Food has a rule for committee A2 only: A1's food request stays with A1.
    a1_food = dispatched("food", world.committee_a1, world.household_a1)
    assert (a1_food.department, a1_food.assigned_committee) == (None, world.committee_a1)
    assert dispatched("food", world.committee_a2, world.household_a2).department == food
    # Removing the rule; and only a street officer of that street sets rules.
    services.routing_rule_set(actor=street, street=world.street_a, category="dialysis", department=None)
    assert dispatched("dialysis", world.committee_a1, world.household_a1).department is None
    with pytest.raises(PermissionDenied):
        services.routing_rule_set(actor=acting(world.staff_a1), street=world.street_a, category="food",
                                  department=food)
    with pytest.raises(PermissionDenied):
        services.routing_rule_set(actor=acting(world.street_officer_b), street=world.street_a, category="food",
                                  department=food)


def test_handling_belongs_to_the_unit_the_order_was_dispatched_to(world, department):
    ticket, _token = door_request(world, category="food", urgency="normal")
    staff_a1, staff_a2 = acting(world.staff_a1), acting(world.staff_a2)
    worker = acting(department.members.get().user)
    services.ticket_move(actor=staff_a1, ticket=ticket, action="accept")
    with pytest.raises(PermissionDenied):  # accepted, not yet dispatched: nobody holds it
        services.ticket_move(actor=staff_a1, ticket=ticket, action="start")
    ticket = services.ticket_move(actor=acting(world.street_officer), ticket=ticket, action="dispatch",
                                  committee=world.committee_a2)
    for someone in (staff_a1, worker):
        assert not may(someone, ticket, "start")
        with pytest.raises(PermissionDenied):
            services.ticket_move(actor=someone, ticket=ticket, action="start")
    assert may(staff_a2, ticket, "start")
    services.ticket_move(actor=staff_a2, ticket=ticket, action="start")
    services.ticket_move(actor=staff_a2, ticket=ticket, action="reply", reply="已送到")
    # Closing stays with the requester's committee (and the street), not the helper committee.
    assert may(staff_a1, ticket, "close")
    services.ticket_move(actor=staff_a1, ticket=ticket, action="close")
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == [
        "create", "accept", "dispatch", "start", "reply", "close"]


def test_a_lost_follow_up_link_is_reissued_and_the_old_one_stops(world, client):
    from xiuhua.sms.models import OutboundSms

    ticket, old = door_request(world)
    with pytest.raises(PermissionDenied):  # another committee
        services.ticket_follow_link_reissue(actor=acting(world.staff_a2), ticket=ticket)
    with pytest.raises(PermissionDenied):  # no record_ticket capability
        services.ticket_follow_link_reissue(actor=acting(world.grid_worker), ticket=ticket)
    assert Ticket.objects.get(pk=ticket.pk).follow_token_hash == token_hash(old)

    ticket, new = services.ticket_follow_link_reissue(actor=acting(world.staff_a1), ticket=ticket)
    assert new != old and ticket.follow_token_hash == token_hash(new)
    assert client.get(f"/help/t/{old}/").status_code == 404
    assert ticket.number in client.get(f"/help/t/{new}/").content.decode()
    texts = list(OutboundSms.objects.filter(template="XH_TICKET_RECEIVED").order_by("pk").values_list(
        "idempotency_key", flat=True))
    assert texts == [f"ticket-received-{ticket.pk}", f"ticket-received-{ticket.pk}-1"]
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == [
        "create", "link_reissue"]


def test_a_wrongly_dispatched_order_is_sent_on_with_a_reason(world, department):
    ticket, _token = door_request(world, category="food", urgency="normal")
    staff, street = acting(world.staff_a1), acting(world.street_officer)
    worker = acting(department.members.get().user)
    services.ticket_move(actor=staff, ticket=ticket, action="accept")
    ticket = services.ticket_move(actor=street, ticket=ticket, action="dispatch", department=department)
    services.ticket_move(actor=worker, ticket=ticket, action="start")
    with pytest.raises(PermissionDenied):  # the department cannot send it elsewhere itself
        services.ticket_move(actor=worker, ticket=ticket, action="redispatch", committee=world.committee_a1,
                             note="不是我们的事")
    with pytest.raises(ValidationError) as same:
        services.ticket_move(actor=street, ticket=ticket, action="redispatch", department=department, note="x")
    assert same.value.message_dict == {"to": ["工单已在该处办理,请选择另一个部门或居委会"]}
    with pytest.raises(ValidationError) as no_reason:
        services.ticket_move(actor=street, ticket=ticket, action="redispatch", committee=world.committee_a1)
    assert no_reason.value.message_dict == {"note": ["请写明改派的原因"]}
    moved = services.ticket_move(actor=street, ticket=ticket, action="redispatch", committee=world.committee_a1,
                                 note="食品由居委会配送")
    assert (moved.status, moved.department, moved.assigned_committee) == (
        TicketStatus.DISPATCHED, None, world.committee_a1)
    assert not may(worker, moved, "reply")
    services.ticket_move(actor=staff, ticket=moved, action="start")


def test_urging_needs_an_open_dispatched_order_and_the_requester_side(world, department):
    ticket, _token = door_request(world, category="food", urgency="normal")
    street = acting(world.street_officer)
    with pytest.raises(ValidationError):  # nobody holds it yet
        services.ticket_urge(actor=street, ticket=ticket, note="快")
    services.ticket_move(actor=street, ticket=ticket, action="accept")
    ticket = services.ticket_move(actor=street, ticket=ticket, action="dispatch", department=department)
    with pytest.raises(PermissionDenied):
        services.ticket_urge(actor=acting(world.street_officer_b), ticket=ticket, note="快")
    with pytest.raises(ValidationError):
        services.ticket_urge(actor=street, ticket=ticket, note="  ")
    assert services.ticket_urge(actor=street, ticket=ticket, note="请今天处理") == 0  # no mobile on file
    assert TicketEvent.objects.filter(ticket=ticket, action="urge").count() == 1
