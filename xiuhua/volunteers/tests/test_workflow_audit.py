"""Every declared action of the volunteers' workflows, driven through the service the pages call,
writes exactly one audit event named after it and reaches its target state."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.testing import acting, assert_moved_once
from xiuhua.volunteers import services
from xiuhua.volunteers.models import Skill
from xiuhua.volunteers.services import TalentInput
from xiuhua.volunteers.workflows import DUTY, TALENT, TASK

from .conftest import at, make_shift, outsider

pytestmark = pytest.mark.django_db


def _talent(world, confirm):
    talent = outsider(world, talents=[TalentInput(Skill.DOCTOR, "全科")]).talents.get()
    return talent, lambda: services.talent_decide(actor=acting(world.staff_a1), talent=talent, confirm=confirm)


def _duty(world, action):
    day = timezone.localdate() + dt.timedelta(days=1)
    shift = make_shift(world, day=day, start=9, end=12)
    duty = services.duty_sign_up(actor=None, shift=shift, volunteer=outsider(world))
    if action == "cancel":
        return duty, lambda: services.duty_cancel(actor=None, duty=duty)
    if action == "check_in":
        return duty, lambda: services.duty_check_in(actor=None, duty=duty, now=at(day, 9))
    services.duty_check_in(actor=None, duty=duty, now=at(day, 9))
    return duty, lambda: services.duty_check_out(actor=None, duty=duty, now=at(day, 12))


def _ticket_task(world, action):
    from xiuhua.tickets.models import Ticket

    staff = acting(world.staff_a1)
    ticket = Ticket.objects.create(number="T9", source="call", category="medicine", urgency="normal",
                                   deadline_class="help", description="配药", committee=world.committee_a1,
                                   household=world.household_a1, received_at=timezone.now(),
                                   deadline_at=timezone.now() + dt.timedelta(days=1), follow_token_hash="y" * 64)
    task = services.task_assign(actor=staff, source="ticket", source_id=ticket.pk, volunteer=outsider(world),
                                what="送药", place="5号302室", due_at=timezone.now() + dt.timedelta(hours=2),
                                contact="李慧敏")
    if action == "finish":
        return task, lambda: services.task_finish(actor=None, task=task)
    return task, lambda: services.task_withdraw(actor=staff, task=task)


DRIVERS = {
    ("volunteer_talent", "confirm"): lambda w: _talent(w, True),
    ("volunteer_talent", "reject"): lambda w: _talent(w, False),
    ("volunteer_duty", "check_in"): lambda w: _duty(w, "check_in"),
    ("volunteer_duty", "check_out"): lambda w: _duty(w, "check_out"),
    ("volunteer_duty", "cancel"): lambda w: _duty(w, "cancel"),
    ("volunteer_task", "finish"): lambda w: _ticket_task(w, "finish"),
    ("volunteer_task", "withdraw"): lambda w: _ticket_task(w, "withdraw"),
}


@pytest.mark.parametrize("workflow, action", [(w, a) for w in (TALENT, DUTY, TASK) for a in sorted(w.actions)],
                         ids=lambda x: getattr(x, "name", x))
def test_each_action_writes_one_audit_event(world, workflow, action):
    assert (workflow.name, action) in DRIVERS, f"no driver for {workflow.name}.{action}"
    record, act = DRIVERS[(workflow.name, action)](world)
    assert_moved_once(workflow, action, record, act)
