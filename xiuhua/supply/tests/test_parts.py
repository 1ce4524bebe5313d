"""Group buying's first-page counts and its sweep command."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.supply import services
from xiuhua.supply.parts_groupbuy import waiting_work
from xiuhua.testing import acting

from .conftest import LEADER_PHONE, add_documents, filing_data

pytestmark = pytest.mark.django_db


def test_the_committee_first_page_counts(world, leader):
    now = timezone.now()
    add_documents(leader, now=now - dt.timedelta(hours=3))
    services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(now=now),
                           now=now - dt.timedelta(hours=3))
    services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(now=now), now=now)
    services.leader_apply(actor=acting(world.staff_a1), resident=world.resident_a1)
    staff = acting(world.staff_a1)
    assert waiting_work(staff, staff.active_membership) == {
        "groupbuy_leaders_waiting": 1, "groupbuy_filings_waiting": 2, "groupbuy_filings_overdue": 1,
        "groupbuy_complaints_open": 0}
    other = acting(world.staff_a2)
    assert waiting_work(other, other.active_membership)["groupbuy_filings_waiting"] == 0
    street = acting(world.street_officer)
    assert waiting_work(street, street.active_membership) is None
    out = io.StringIO()
    call_command("groupbuy_sweep", stdout=out)
    assert out.getvalue() == "group-buy filings escalated: 1\n"
    assert AuditEvent.objects.filter(action="groupbuy_filing_escalate").count() == 1
