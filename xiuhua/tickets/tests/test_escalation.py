"""Deadline states, the escalation sweep (督办) and extensions of complex orders."""

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, make_user, run_parallel
from xiuhua.tickets import escalation, services
from xiuhua.tickets.calendar import DeadlineClass, WorkCalendar
from xiuhua.tickets.escalation import DeadlineState, deadline_state, tickets_escalate
from xiuhua.tickets.models import Department, Escalation, Extension, Ticket, TicketEvent, TicketStatus

from .test_calendar import at, end_of

pytestmark = pytest.mark.django_db

S = DeadlineState
MINUTE = dt.timedelta(minutes=1)
NOTHING = {"near": 0, "head": 0, "street": 0, "messages": 0}


def give_mobile(user: User, mobile: str) -> User:
    User.objects.filter(pk=user.pk).update(mobile=mobile)
    user.mobile = mobile
    return user


@pytest.fixture
def people(world):
    """A department of street A with two members (one without a mobile) and a head who is not a
    member; mobiles for the street officers and committee staff; someone of every other kind who
    must never be told."""
    dept = Department.objects.create(street=world.street_a, name="社区卫生服务中心")
    worker = give_mobile(make_user("dept_worker", Role.DEPARTMENT_STAFF, world.street_a), "13900000001")
    quiet = make_user("dept_quiet", Role.DEPARTMENT_STAFF, world.street_a)  # no mobile: queued nothing
    head = give_mobile(make_user("dept_head", Role.DEPARTMENT_STAFF, world.street_a), "13900000002")
    dept.members.add(Membership.objects.get(user=worker), Membership.objects.get(user=quiet))
    dept.head = Membership.objects.get(user=head)
    dept.save()
    give_mobile(world.street_officer, "13900000003")
    make_user("street_a_quiet", Role.STREET_OFFICER, world.street_a)  # a second officer, no mobile
    give_mobile(world.street_officer_b, "13900000004")  # another street's officer
    give_mobile(world.district_officer, "13900000005")
    give_mobile(world.staff_a1, "13900000006")
    give_mobile(world.staff_a2, "13900000007")
    give_mobile(world.grid_worker, "13900000008")  # a grid worker of A1 is not committee staff
    give_mobile(world.staff_b1, "13900000009")
    return dept


def reminders() -> list[str]:
    """The phones reminded so far, in order."""
    return list(OutboundSms.objects.filter(purpose="ticket_reminder").order_by("pk").values_list("phone", flat=True))


def escalations(ticket: Ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket, action="escalate").values_list("note", flat=True))


def door_request(w, **extra) -> Ticket:
    data = dict(
        actor=None, source="door_qr", category="dialysis", urgency="urgent", description="周三透析,需要车辆",
        committee=w.committee_a1, household=w.household_a1, requester_phone="13812345678", now=at(2020, 2, 5, 21),
    ) | extra
    ticket, _token = services.ticket_create(**data)
    return ticket


def hotline_order(w, *, deadline_class: str, now: dt.datetime, number: str = "12345-2022-000001") -> Ticket:
    ticket, _token = services.ticket_create(
        actor=acting(w.staff_a1), source="hotline", category="utilities", urgency="normal", description="楼道漏水",
        committee=w.committee_a1, external_number=number, deadline_class=deadline_class, now=now,
    )
    return ticket


def to_department(w, ticket: Ticket, dept: Department, now: dt.datetime) -> Ticket:
    services.ticket_move(actor=acting(w.staff_a1), ticket=ticket, action="accept", now=now)
    return services.ticket_move(actor=acting(w.street_officer), ticket=ticket, action="dispatch", department=dept,
                                now=now)


# ---------------------------------------------------------------------------------------------
# Deadline states
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offset, state",
    [
        (-dt.timedelta(hours=2), S.OK),
        (-dt.timedelta(minutes=61), S.OK),
        (-dt.timedelta(minutes=59), S.SOON),  # under an hour left
        (-MINUTE, S.SOON),
        (dt.timedelta(0), S.SOON),
        (MINUTE, S.OVERDUE),
        (dt.timedelta(hours=2), S.OVERDUE),  # the grace is two hours
        (dt.timedelta(hours=2) + MINUTE, S.LONG_OVERDUE),
        (dt.timedelta(days=3), S.LONG_OVERDUE),
    ],
)
def test_an_emergency_is_counted_in_hours(world, offset, state):
    ticket = door_request(world)  # received Wednesday 21:00, due Thursday 01:00
    assert ticket.deadline_class == DeadlineClass.EMERGENCY and ticket.deadline_at == at(2020, 2, 6, 1)
    assert deadline_state(ticket, ticket.deadline_at + offset, WorkCalendar()) == state


@pytest.mark.parametrize(
    "received, klass, deadline, checks",
    [
        # Due Thursday 24 March 2022: overdue on Friday (the head's day), long overdue from Monday.
        (at(2022, 3, 23, 9), DeadlineClass.CONSULTATION, end_of(2022, 3, 24), [
            (at(2022, 3, 23, 23, 59), S.OK), (at(2022, 3, 24, 0, 0), S.SOON), (at(2022, 3, 24, 23, 59), S.SOON),
            (at(2022, 3, 25, 0, 0), S.OVERDUE), (at(2022, 3, 27, 23, 59), S.OVERDUE),
            (at(2022, 3, 28, 0, 0), S.LONG_OVERDUE), (at(2022, 4, 28), S.LONG_OVERDUE),
        ]),
        # Received Wednesday 22 January 2020, one working day: due Thursday 23rd, the last day before
        # the (extended) Spring Festival; overdue through the holiday and 3 February, the first
        # working day after it; long overdue from 4 February.
        (at(2020, 1, 22), DeadlineClass.CONSULTATION, end_of(2020, 1, 23), [
            (at(2020, 1, 22, 23, 59), S.OK), (at(2020, 1, 23, 0, 0), S.SOON), (at(2020, 1, 23, 23, 59), S.SOON),
            (at(2020, 1, 24, 0, 0), S.OVERDUE), (at(2020, 2, 2, 23, 59), S.OVERDUE),
            (at(2020, 2, 3, 23, 59), S.OVERDUE), (at(2020, 2, 4, 0, 0), S.LONG_OVERDUE),
        ]),
        # Due Friday 1 April 2022; the next day is a Saturday worked before Qingming (调休), then
        # 3-5 April are off: long overdue from Wednesday 6 April.
        (at(2022, 3, 31), DeadlineClass.CONSULTATION, end_of(2022, 4, 1), [
            (at(2022, 3, 31, 23, 0), S.OK), (at(2022, 4, 1, 8), S.SOON), (end_of(2022, 4, 1), S.SOON),
            (end_of(2022, 4, 1) + dt.timedelta(seconds=1), S.OVERDUE),
            (at(2022, 4, 2, 9), S.OVERDUE), (at(2022, 4, 5, 23, 59), S.OVERDUE),
            (at(2022, 4, 6, 0, 0), S.LONG_OVERDUE),
        ]),
        # An ordinary weekend: due Friday 18 March 2022, overdue until Monday ends.
        (at(2022, 3, 17, 16), DeadlineClass.CONSULTATION, end_of(2022, 3, 18), [
            (at(2022, 3, 18, 9), S.SOON), (at(2022, 3, 19, 9), S.OVERDUE), (at(2022, 3, 21, 23, 59), S.OVERDUE),
            (at(2022, 3, 22, 0, 0), S.LONG_OVERDUE),
        ]),
        # Three working days from Saturday 2 April 2022 (itself worked but not counted): 6, 7, 8 April.
        (at(2022, 4, 2, 11), DeadlineClass.SUPERVISION, end_of(2022, 4, 8), [
            (at(2022, 4, 7, 18), S.OK), (at(2022, 4, 8, 0, 1), S.SOON), (at(2022, 4, 9), S.OVERDUE),
            (at(2022, 4, 11, 12), S.OVERDUE), (at(2022, 4, 12, 0, 0), S.LONG_OVERDUE),
        ]),
    ],
)
def test_a_working_day_order_is_counted_in_days(world, received, klass, deadline, checks):
    ticket = hotline_order(world, deadline_class=klass, now=received)
    assert ticket.deadline_at == deadline
    calendar = WorkCalendar()
    assert [(now, deadline_state(ticket, now, calendar)) for now, _state in checks] == checks


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


def test_each_level_is_raised_once_and_told_to_the_right_people(world, people):
    ticket = to_department(world, door_request(world), people, at(2020, 2, 5, 21, 5))
    deadline = ticket.deadline_at  # Thursday 6 February 01:00
    assert tickets_escalate(now=deadline - dt.timedelta(hours=2)) == NOTHING

    # Under an hour left: the department's members who have a mobile.
    assert tickets_escalate(now=deadline - dt.timedelta(minutes=40)) == NOTHING | {"near": 1, "messages": 1}
    assert reminders() == ["13900000001"]
    assert tickets_escalate(now=deadline - dt.timedelta(minutes=20)) == NOTHING  # nothing twice
    ticket.refresh_from_db()
    assert ticket.escalation == Escalation.NEAR

    # Past the deadline: the department head.
    assert tickets_escalate(now=deadline + dt.timedelta(minutes=5)) == NOTHING | {"head": 1, "messages": 1}
    assert tickets_escalate(now=deadline + dt.timedelta(minutes=6)) == NOTHING
    assert reminders() == ["13900000001", "13900000002"]

    # Two hours later still: the street's officers (not another street's, nor the district).
    assert tickets_escalate(now=deadline + dt.timedelta(hours=3)) == NOTHING | {"street": 1, "messages": 1}
    for later in (dt.timedelta(hours=4), dt.timedelta(days=5)):
        assert tickets_escalate(now=deadline + later) == NOTHING
    assert reminders() == ["13900000001", "13900000002", "13900000003"]

    ticket.refresh_from_db()
    assert ticket.escalation == Escalation.STREET and ticket.status == TicketStatus.DISPATCHED
    assert escalations(ticket) == [
        "临近时限,已提醒:通知2人,短信1条", "已超时,已报部门负责人:通知1人,短信1条", "已超时,已报街道:通知2人,短信1条",
    ]
    assert AuditEvent.objects.filter(action="ticket_escalate", object_id=ticket.pk).count() == 3
    sms = OutboundSms.objects.filter(purpose="ticket_reminder").order_by("pk")
    assert all(m.status == OutboundSms.Status.QUEUED and m.committee_id == world.committee_a1.pk for m in sms)
    assert [m.text for m in sms][1].endswith(f"工单{ticket.number}(透析)已超时,时限02-06 01:00,请尽快办理。")


def test_a_committee_held_order_goes_to_its_committee_staff(world, people):
    staff = acting(world.staff_a1)
    ticket = door_request(world, category="food", urgency="normal", now=at(2022, 3, 17, 9))  # help: 5 days
    services.ticket_move(actor=staff, ticket=ticket, action="accept", now=at(2022, 3, 17, 9, 5))
    services.ticket_move(actor=acting(world.street_officer), ticket=ticket, action="dispatch",
                         committee=world.committee_a2, now=at(2022, 3, 17, 9, 10))
    assert ticket.deadline_at == end_of(2022, 3, 24)
    # Dispatched to A2: A2's committee staff are reminded, then told it is late (no head to tell).
    assert tickets_escalate(now=at(2022, 3, 24, 8)) == NOTHING | {"near": 1, "messages": 1}
    assert tickets_escalate(now=at(2022, 3, 25, 8)) == NOTHING | {"head": 1, "messages": 1}
    assert reminders() == ["13900000007", "13900000007"]
    assert tickets_escalate(now=at(2022, 3, 28, 8)) == NOTHING | {"street": 1, "messages": 1}
    assert reminders()[-1] == "13900000003"


def test_an_order_not_yet_dispatched_is_its_own_committees(world, people):
    ticket = door_request(world, now=at(2022, 3, 17, 9))  # an emergency nobody accepted
    assert tickets_escalate(now=at(2022, 3, 17, 12, 30)) == NOTHING | {"near": 1, "messages": 1}
    assert tickets_escalate(now=at(2022, 3, 17, 13, 30)) == NOTHING | {"head": 1, "messages": 1}
    assert reminders() == ["13900000006", "13900000006"]  # staff_a1, not the grid worker nor A2
    # A sweep that did not run for a while goes straight to the level the order has reached.
    other = door_request(world, now=at(2022, 3, 17, 9, 30), household=world.household_a1b)
    assert tickets_escalate(now=at(2022, 3, 18, 9)) == NOTHING | {"street": 2, "messages": 2}
    assert len(escalations(other)) == 1 and len(escalations(ticket)) == 3


def test_nobody_with_a_mobile_still_records_the_escalation(world):
    ticket = door_request(world, now=at(2022, 3, 17, 9))
    assert tickets_escalate(now=at(2022, 3, 17, 12, 30)) == NOTHING | {"near": 1}
    assert reminders() == [] and escalations(ticket) == ["临近时限,已提醒:通知1人,短信0条"]


def test_closed_orders_are_left_alone(world, people):
    ticket = door_request(world, now=at(2022, 3, 17, 9))
    staff = acting(world.staff_a1)
    for action in ("accept", "dispatch", "start"):
        services.ticket_move(actor=staff, ticket=ticket, action=action, now=at(2022, 3, 17, 9, 30))
    services.ticket_move(actor=staff, ticket=ticket, action="reply", reply="已送医", now=at(2022, 3, 17, 10))
    services.ticket_move(actor=staff, ticket=ticket, action="close", now=at(2022, 3, 17, 10, 5))
    assert tickets_escalate(now=at(2022, 3, 18, 9)) == NOTHING


def test_an_order_closed_while_the_sweep_runs_is_not_escalated(world, people):
    """The claim re-checks that the order is still open: a close committed between the sweep's
    read and its claim wins."""
    ticket = door_request(world, now=at(2022, 3, 17, 9))
    real = escalation.deadline_state

    def closing_meanwhile(t, now, calendar):
        Ticket.objects.filter(pk=t.pk).update(status=TicketStatus.CLOSED)
        return real(t, now, calendar)

    with mock.patch.object(escalation, "deadline_state", closing_meanwhile):
        assert tickets_escalate(now=at(2022, 3, 18, 9)) == NOTHING
    assert reminders() == [] and escalations(ticket) == []


def test_the_sweep_command(world, people):
    door_request(world)  # received in 2020: long overdue by now, and never accepted
    out = io.StringIO()
    call_command("tickets_sweep", stdout=out)
    # One reminder to the street, one "not accepted" text to committee A1's staff.
    assert out.getvalue() == "near=0 head=0 street=1 messages=2 unaccepted=1 addresses_forgotten=0\n"
    assert len(reminders()) == 1


def test_an_urgent_request_not_accepted_in_15_minutes_is_texted_to_the_committee_once(world, people):
    ticket = door_request(world)  # received 5 Feb 2020 21:00
    normal = door_request(world, category="food", urgency="normal")
    assert escalation.unaccepted_remind(now=at(2020, 2, 5, 21, 14)) == {"waiting": 0, "messages": 0}
    assert escalation.unaccepted_remind(now=at(2020, 2, 5, 21, 16)) == {"waiting": 1, "messages": 1}
    texts = list(OutboundSms.objects.filter(purpose="ticket_waiting").values_list("phone", "text"))
    assert texts == [("13900000006", f"【绣花针】紧急求助{ticket.number}(透析)已等待16分钟未受理,请立即处理。")]
    event = TicketEvent.objects.get(ticket=ticket, action="remind_accept")
    assert event.note == "紧急求助16分钟未受理:通知1人,短信1条"
    # Audited as the escalation sweep is: by the system, under the request's committee.
    audited = AuditEvent.objects.get(action="ticket_remind_accept")
    assert (audited.actor, audited.object_id, audited.committee_id, audited.subject_label, audited.detail) == (
        None, ticket.pk, world.committee_a1.pk, ticket.number, {"minutes": 16, "notified": 1, "sms": 1})
    # Once only; an accepted request or a normal one is never texted.
    assert escalation.unaccepted_remind(now=at(2020, 2, 5, 22)) == {"waiting": 0, "messages": 0}
    other = door_request(world, now=at(2020, 2, 5, 22))
    services.ticket_move(actor=acting(world.staff_a1), ticket=other, action="accept", now=at(2020, 2, 5, 22, 5))
    assert escalation.unaccepted_remind(now=at(2020, 2, 5, 23)) == {"waiting": 0, "messages": 0}
    assert not TicketEvent.objects.filter(ticket=normal, action="remind_accept").exists()
    assert AuditEvent.objects.filter(action="ticket_remind_accept").count() == 1


# ---------------------------------------------------------------------------------------------
# Extensions
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def complex_order(world, people):
    """A complex 12345 order received Friday 1 April 2022 at the department: fifteen working days
    counting the worked Saturday 2nd and the worked Sunday 24th (劳动节调休): due Sunday 24 April."""
    ticket = hotline_order(world, deadline_class=DeadlineClass.COMPLEX, now=at(2022, 4, 1, 18))
    assert ticket.deadline_at == end_of(2022, 4, 24)
    return to_department(world, ticket, people, at(2022, 4, 1, 18, 30))


def test_an_approved_extension_moves_the_deadline_across_the_holiday_and_resets_the_level(world, people,
                                                                                          complex_order):
    worker = acting(people.members.get(user__username="dept_worker").user)
    assert tickets_escalate(now=at(2022, 4, 24, 9)) == NOTHING | {"near": 1, "messages": 1}
    services.ticket_extension_request(actor=worker, ticket=complex_order, days=8, reason="需协调物业和施工队",
                                      now=at(2022, 4, 24, 10))
    ticket = services.ticket_extension_decide(actor=acting(world.street_officer), ticket=complex_order,
                                              approve=True, now=at(2022, 4, 24, 15))
    # 25-29 April, then 30 April-4 May off, 5 and 6 May, and Saturday 7 May worked (调休).
    assert ticket.deadline_at == end_of(2022, 5, 7)
    ticket.refresh_from_db()
    assert (ticket.extension, ticket.escalation, ticket.original_deadline_at) == (
        Extension.APPROVED, Escalation.NONE, end_of(2022, 4, 24))
    # No longer late on the 25th; reminded again on the new last day, once.
    assert tickets_escalate(now=at(2022, 4, 25, 9)) == NOTHING
    assert tickets_escalate(now=at(2022, 5, 7, 9)) == NOTHING | {"near": 1, "messages": 1}
    assert tickets_escalate(now=at(2022, 5, 7, 10)) == NOTHING
    assert tickets_escalate(now=at(2022, 5, 8, 9)) == NOTHING | {"head": 1, "messages": 1}
    assert reminders() == ["13900000001", "13900000001", "13900000002"]
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == [
        "create", "accept", "dispatch", "escalate", "extension_request", "extension_approve", "escalate", "escalate"]
    # One extension only.
    with pytest.raises(ValidationError) as caught:
        services.ticket_extension_request(actor=worker, ticket=ticket, days=2, reason="再延", now=at(2022, 5, 7, 9))
    assert caught.value.message_dict == {"days": ["已申请过延期"]}


def test_a_refusal_needs_a_reason_and_keeps_the_deadline(world, complex_order):
    staff = acting(world.staff_a1)  # the committee that took the order may ask too
    services.ticket_extension_request(actor=staff, ticket=complex_order, days=5, reason="等待维修配件",
                                      now=at(2022, 4, 20))
    street = acting(world.street_officer)
    with pytest.raises(ValidationError) as caught:
        services.ticket_extension_decide(actor=street, ticket=complex_order, approve=False, note="  ")
    assert "note" in caught.value.message_dict
    complex_order.refresh_from_db()
    assert complex_order.extension == Extension.REQUESTED
    ticket = services.ticket_extension_decide(actor=street, ticket=complex_order, approve=False,
                                              note="配件可调拨,按时办结", now=at(2022, 4, 21))
    ticket.refresh_from_db()
    assert (ticket.extension, ticket.deadline_at, ticket.original_deadline_at) == (
        Extension.REFUSED, end_of(2022, 4, 24), None)
    assert TicketEvent.objects.filter(ticket=ticket, action="extension_refuse", note="配件可调拨,按时办结").exists()
    with pytest.raises(ValidationError):  # nothing left to decide
        services.ticket_extension_decide(actor=street, ticket=ticket, approve=True)


def test_only_the_street_decides(world, people, complex_order):
    worker = acting(people.members.get(user__username="dept_worker").user)
    services.ticket_extension_request(actor=worker, ticket=complex_order, days=3, reason="等待配件",
                                      now=at(2022, 4, 20))
    for user in (world.staff_a1, worker, world.street_officer_b, world.district_officer):
        with pytest.raises(PermissionDenied):
            services.ticket_extension_decide(actor=acting(user), ticket=complex_order, approve=True)
    complex_order.refresh_from_db()
    assert (complex_order.extension, complex_order.deadline_at) == (Extension.REQUESTED, end_of(2022, 4, 24))
    assert not TicketEvent.objects.filter(action__startswith="extension_a").exists()


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"days": 0}, "days", "延期天数为1-15个工作日"),
        ({"days": 16}, "days", "延期天数为1-15个工作日"),
        ({"reason": " "}, "reason", "请写明延期理由"),
        ({"now": at(2022, 4, 25, 0, 0)}, "days", "已超过办理时限,不能再申请延期"),
    ],
)
def test_a_request_must_be_in_time_and_complete(world, complex_order, change, field, message):
    data = dict(actor=acting(world.staff_a1), ticket=complex_order, days=5, reason="等待配件", now=at(2022, 4, 20))
    with pytest.raises(ValidationError) as caught:
        services.ticket_extension_request(**(data | change))
    assert caught.value.message_dict[field] == [message]
    complex_order.refresh_from_db()
    assert complex_order.extension == Extension.NONE
    assert not TicketEvent.objects.filter(action="extension_request").exists()


def test_only_complex_orders_may_ask_and_only_their_handlers(world, people, complex_order):
    ordinary = hotline_order(world, deadline_class=DeadlineClass.COMPLAINT, now=at(2022, 4, 1, 18),
                             number="12345-2022-000002")
    with pytest.raises(ValidationError) as caught:
        services.ticket_extension_request(actor=acting(world.staff_a1), ticket=ordinary, days=2, reason="忙",
                                          now=at(2022, 4, 6))
    assert caught.value.message_dict["days"] == ["只有复杂事项可以申请延期"]
    for outsider in (world.staff_b1, world.grid_worker, world.volunteer):
        with pytest.raises(PermissionDenied):
            services.ticket_extension_request(actor=acting(outsider), ticket=complex_order, days=2, reason="忙",
                                              now=at(2022, 4, 6))


# ---------------------------------------------------------------------------------------------
# Reopening
# ---------------------------------------------------------------------------------------------


def test_reopen_gives_a_fresh_deadline_and_fresh_reminders(world, people):
    staff = acting(world.staff_a1)
    ticket = hotline_order(world, deadline_class=DeadlineClass.CONSULTATION, now=at(2022, 3, 17, 16))
    services.ticket_move(actor=staff, ticket=ticket, action="accept", now=at(2022, 3, 17, 16, 5))
    services.ticket_move(actor=staff, ticket=ticket, action="dispatch", now=at(2022, 3, 17, 16, 5))
    assert tickets_escalate(now=at(2022, 3, 22, 9)) == NOTHING | {"street": 1, "messages": 1}  # late
    services.ticket_move(actor=staff, ticket=ticket, action="start", now=at(2022, 3, 22, 10))
    services.ticket_move(actor=staff, ticket=ticket, action="reply", reply="已联系物业", now=at(2022, 3, 22, 11))
    services.ticket_move(actor=staff, ticket=ticket, action="close", now=at(2022, 3, 22, 12))
    # Reopened on Friday 1 April 2022 evening: one working day is Saturday 2 April (调休).
    ticket = services.ticket_move(actor=staff, ticket=ticket, action="reopen", note="仍在漏水",
                                  now=at(2022, 4, 1, 19))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.deadline_at, ticket.escalation, ticket.received_at) == (
        TicketStatus.REOPENED, end_of(2022, 4, 2), Escalation.NONE, at(2022, 3, 17, 16))
    assert tickets_escalate(now=at(2022, 4, 1, 20)) == NOTHING
    assert tickets_escalate(now=at(2022, 4, 2, 8)) == NOTHING | {"near": 1, "messages": 1}
    assert reminders() == ["13900000003", "13900000006"]


# ---------------------------------------------------------------------------------------------
# Two sweeps at once (PostgreSQL)
# ---------------------------------------------------------------------------------------------



@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sweeps", [2, 8])
def test_sweeps_running_at_once_notify_once(world, people, sweeps):
    tickets = [door_request(world, now=at(2022, 3, 17, 9, i), household=None if i % 2 else world.household_a1b,
                            source="call" if i % 2 else "door_qr", actor=acting(world.staff_a1) if i % 2 else None)
               for i in range(40)]
    for ticket in tickets[:20]:
        to_department(world, ticket, people, at(2022, 3, 17, 9, 30))
    # 12:29: the first 30 are within an hour of their deadline (13:00-13:29), the others not yet.
    results = run_parallel(lambda i: tickets_escalate(now=at(2022, 3, 17, 12, 29), batch=7), sweeps)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["near"] for r in results) == 30
    assert sum(r["messages"] for r in results) == 30
    assert TicketEvent.objects.filter(action="escalate").count() == 30
    assert sorted(reminders()) == ["13900000001"] * 20 + ["13900000006"] * 10
    # Then long overdue for all of them, again from every sweep at once.
    results = run_parallel(lambda i: tickets_escalate(now=at(2022, 3, 18, 9), batch=7), sweeps)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["street"] for r in results) == 40
    assert OutboundSms.objects.filter(purpose="ticket_reminder", phone="13900000003").count() == 40
    assert TicketEvent.objects.filter(action="escalate").count() == 70
    assert set(Ticket.objects.values_list("escalation", flat=True)) == {Escalation.STREET}
