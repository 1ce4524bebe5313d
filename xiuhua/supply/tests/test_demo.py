"""seed_demo's group buying: an approved leader with valid documents and filings in several states."""

import io

import pytest
from django.core.management import call_command

from xiuhua.supply.models import Ban, Complaint, Filing, Leader, LeaderStatus, ReferencePrice

pytestmark = pytest.mark.django_db


def test_seed_demo_writes_a_leader_with_documents_and_filings():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Group buying: leader in" in out.getvalue()
    leader = Leader.objects.get()
    assert leader.status == LeaderStatus.APPROVED
    assert leader.documents.count() == 4
    # (two more approved ones are the demo poll's options: demo_orders)
    assert sorted(Filing.objects.values_list("status", flat=True)) == [
        "approved", "approved", "approved", "changes_requested", "submitted"]
    assert Filing.objects.get(status="submitted").flagged  # eggs at 1.30 each against 1.00
    assert (Complaint.objects.count(), Ban.objects.count(), ReferencePrice.objects.count()) == (1, 1, 3)
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert Filing.objects.count() == 5
