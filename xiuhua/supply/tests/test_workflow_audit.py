"""Every declared action of group buying's state tables, driven through the service the pages
call, writes exactly one audit event named after it and lands in its target state. A new action
fails here until it has a driver."""

import datetime as dt

import pytest

from xiuhua.core.models import AuditEvent
from xiuhua.supply import services
from xiuhua.supply.models import FilingStatus
from xiuhua.supply.workflows import COMPLAINT, FILING, LEADER
from xiuhua.testing import acting

from .conftest import LEADER_PHONE, NOW, filing_data

pytestmark = pytest.mark.django_db


def _leader(w, action):
    leader = services.leader_apply(actor=acting(w.staff_a1), resident=w.resident_a1)
    return services.leader_decide(actor=acting(w.staff_a1), leader=leader, action=action,
                                  reason="" if action == "approve" else "不符合条件")


def _filing(w, documented, action):
    staff = acting(w.staff_a1)
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    if action in ("resubmit", "resubmit_for"):
        services.filing_decide(actor=staff, filing=filing, action="request_changes", reason="补充")
        later = NOW + dt.timedelta(minutes=30)
        if action == "resubmit":
            return services.filing_resubmit(actor=None, phone=LEADER_PHONE, filing=filing, data=filing_data(),
                                            now=later)
        return services.filing_resubmit(actor=staff, filing=filing, data=filing_data(), now=later)
    return services.filing_decide(actor=staff, filing=filing, action=action, reason="理由")


def _complaint(w, documented, action):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    complaint = services.complaint_file(actor=acting(w.staff_a1), filing=filing, kind="price", text="太贵")
    return services.complaint_handle(actor=acting(w.staff_a1), complaint=complaint, outcome="已约谈")


CASES = [(LEADER, a) for a in LEADER.actions] + [(FILING, a) for a in FILING.actions] + [
    (COMPLAINT, a) for a in COMPLAINT.actions]


@pytest.mark.parametrize(("workflow", "action"), CASES, ids=[f"{w.name}_{a}" for w, a in CASES])
def test_every_action_writes_one_audit_event(world, documented, workflow, action):
    before = AuditEvent.objects.filter(action=workflow.audit_action(action)).count()
    if workflow is LEADER:
        row = _leader(world, action)
    elif workflow is FILING:
        row = _filing(world, documented, action)
    else:
        row = _complaint(world, documented, action)
    assert AuditEvent.objects.filter(action=workflow.audit_action(action)).count() == before + 1
    assert row.status == workflow.actions[action].target
    if workflow is FILING and action.startswith("resubmit"):
        assert row.status == FilingStatus.SUBMITTED
