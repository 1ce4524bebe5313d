"""Every declared action of the isolation workflows, driven through the service the pages call,
writes exactly one audit event named after it and lands in its target state. An action declared
without a driver here fails."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.core.workflow import WORKFLOWS, move
from xiuhua.isolation import services
from xiuhua.isolation.models import Arrival, CaseStatus, IsolationCase
from xiuhua.isolation.workflows import ARRIVAL, ISOLATION_CASE
from xiuhua.testing import acting

from .test_services import OPENED, at

pytestmark = pytest.mark.django_db

_serials = iter(range(100, 999))


def self_registered(w, *, number=None, phone="13955556666") -> Arrival:
    """A registration from a phone, waiting for staff."""
    return services.arrival_register(
        actor=None, channel="self", household=w.household_a1, name="周来沪", id_type="resident_id",
        id_number=number or make_resident_id("420102", dt.date(1985, 4, 2), next(_serials)), phone=phone,
        origin_text="湖北省武汉市", transport="train", arrival_date=dt.date(2020, 2, 10), now=OPENED,
    )


def open_case(w) -> IsolationCase:
    return services.case_open(actor=acting(w.staff_a1), arrival=self_registered(w), now=OPENED)


def accept(w, target):
    arrival = self_registered(w)
    services.case_open(actor=acting(w.staff_a1), arrival=arrival, now=OPENED)
    return arrival


def merge(w, target):
    number = make_resident_id("420102", dt.date(1985, 4, 2), next(_serials))
    own = self_registered(w, number=number)
    services.case_open(actor=acting(w.staff_a1), arrival=own, now=OPENED)
    duplicate = self_registered(w, number=number, phone="13900008888")
    services.arrival_merge(actor=acting(w.staff_a1), arrival=duplicate, into=own)
    return duplicate


def reject(w, target):
    arrival = self_registered(w)
    services.arrival_reject(actor=acting(w.staff_a1), arrival=arrival, reason="非本人登记")
    return arrival


def close(w, target):
    case = open_case(w)
    # Released on its end day; transferred or sent to hospital at any time, saying where to.
    now = at(24, 10) if target == CaseStatus.RELEASED else at(12, 10)
    services.case_close(actor=acting(w.staff_a1), case=case, status=target, note="市公卫中心", now=now)
    return case


def extend(w, target):
    case = open_case(w)
    services.case_extend(actor=acting(w.staff_a1), case=case, days=3, note="同住人出现症状", now=at(20, 10))
    return case


# By workflow name, then action: each drives the action to `target` and returns the moved row.
DRIVERS = {
    ARRIVAL.name: {"accept": accept, "merge": merge, "reject": reject},
    ISOLATION_CASE.name: {"close": close, "extend": extend},
}


def drive_each_target(world, workflow, action):
    drive = DRIVERS[workflow.name][action]  # a KeyError: a declared action nobody drives
    act = workflow.actions[action]
    for target in sorted(act.targets):
        name = workflow.audit_action(action)
        before = set(AuditEvent.objects.filter(action=name).values_list("pk", flat=True))
        moved = drive(world, target)
        [event] = AuditEvent.objects.filter(action=name).exclude(pk__in=before)
        moved.refresh_from_db()
        assert getattr(moved, workflow.field) == target
        assert (event.object_id, event.committee_id) == (moved.pk, moved.committee_id)
        assert event.detail["to"] == target


@pytest.mark.parametrize("action", sorted(ARRIVAL.actions))
def test_each_arrival_action_writes_one_audit_event(world, action):
    drive_each_target(world, ARRIVAL, action)


@pytest.mark.parametrize("action", sorted(ISOLATION_CASE.actions))
def test_each_case_action_writes_one_audit_event(world, action):
    drive_each_target(world, ISOLATION_CASE, action)


def test_every_workflow_of_the_app_is_driven():
    workflows = [w for model in (Arrival, IsolationCase) for w in WORKFLOWS[model]]
    assert {w.name: set(w.actions) for w in workflows} == {name: set(d) for name, d in DRIVERS.items()}


def test_a_case_ends_only_in_a_declared_state(world):
    """The close action's ends are states of the field, and `move` refuses any other."""
    assert ISOLATION_CASE.actions["close"].targets == {CaseStatus.RELEASED, CaseStatus.TRANSFERRED,
                                                       CaseStatus.HOSPITAL}
    case = open_case(world)
    events = AuditEvent.objects.count()
    with pytest.raises(ValueError):
        move(case, "close", actor=acting(world.staff_a1), to=CaseStatus.OPEN)
    with pytest.raises(ValidationError) as caught:
        services.case_close(actor=acting(world.staff_a1), case=case, status=CaseStatus.OPEN, now=at(24, 10))
    assert caught.value.message_dict == {"status": ["请选择结束方式"]}
    case.refresh_from_db()
    assert (case.status, AuditEvent.objects.count()) == (CaseStatus.OPEN, events)


def test_closing_twice_the_same_way_changes_nothing_and_another_way_is_refused(world):
    case = close(world, CaseStatus.HOSPITAL)
    events = AuditEvent.objects.count()
    again = services.case_close(actor=acting(world.staff_a1), case=case, status=CaseStatus.HOSPITAL, note="x",
                                now=at(13, 10))
    assert (again.status, again.closed_note, AuditEvent.objects.count()) == (CaseStatus.HOSPITAL, "市公卫中心", events)
    with pytest.raises(ValidationError) as caught:
        services.case_close(actor=acting(world.staff_a1), case=case, status=CaseStatus.TRANSFERRED, note="x",
                            now=at(13, 10))
    assert caught.value.messages == ["该隔离已结束"]
    with pytest.raises(ValidationError) as caught:
        services.case_extend(actor=acting(world.staff_a1), case=case, days=2, note="x", now=at(13, 10))
    assert caught.value.messages == ["该隔离已结束"]


def test_a_checked_registration_keeps_its_refusal(world):
    arrival = reject(world, None)
    with pytest.raises(ValidationError) as caught:
        services.case_open(actor=acting(world.staff_a1), arrival=arrival, now=OPENED)
    assert caught.value.messages == ["登记状态不能从“未通过核实”改为“已核实”"]
