"""Exclusive moves of group buying under real parallel transactions (PostgreSQL): two escalation
sweeps text the committee once per filing; two staff deciding one filing at once, one wins."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from xiuhua.core.models import AuditEvent
from xiuhua.sms.models import OutboundSms
from xiuhua.supply import services
from xiuhua.supply.models import Filing, FilingStatus
from xiuhua.testing import acting, build_world, run_parallel

from .conftest import LEADER_PHONE, NOW, add_documents, filing_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _filed():
    world = build_world()
    world.staff_a1.mobile = "13700009999"
    world.staff_a1.save(update_fields=["mobile"])
    leader = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    services.leader_decide(actor=acting(world.staff_a1), leader=leader, action="approve")
    add_documents(leader)
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(), now=NOW)
    return world, filing


def test_parallel_sweeps_escalate_a_filing_once():
    _world, filing = _filed()
    results = run_parallel(lambda i: services.filings_escalate(now=NOW + dt.timedelta(hours=3)), 6)
    assert sorted(results) == [0] * 5 + [1], results
    assert OutboundSms.objects.filter(purpose="groupbuy_escalate").count() == 1
    assert AuditEvent.objects.filter(action="groupbuy_filing_escalate").count() == 1


def test_two_decisions_at_once_one_wins():
    world, filing = _filed()
    actions = ["approve", "refuse"]

    def decide(i):
        staff = acting(type(world.staff_a1).objects.get(pk=world.staff_a1.pk))
        return services.filing_decide(actor=staff, filing=filing, action=actions[i], reason="理由")

    results = run_parallel(decide, 2)
    assert sorted(type(r).__name__ for r in results) == ["Filing", "ValidationError"], results
    assert isinstance(next(r for r in results if not isinstance(r, Filing)), ValidationError)
    filing.refresh_from_db()
    assert filing.status in (FilingStatus.APPROVED, FilingStatus.REFUSED)
    assert AuditEvent.objects.filter(action__in=["groupbuy_filing_approve", "groupbuy_filing_refuse"]).count() == 1
