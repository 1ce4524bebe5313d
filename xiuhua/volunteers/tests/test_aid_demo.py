"""seed_demo's mutual aid: a pool of the street's committees, the first two paired, and an open
request from `committee2` that the `committee` account sees to claim."""

import io

import pytest
from django.core.management import call_command

from xiuhua.accounts.models import User
from xiuhua.testing import acting
from xiuhua.volunteers.models_aid import AidPartner, AidPool, AidRequest, AidRequestStatus, Ring

pytestmark = pytest.mark.django_db


def test_seed_demo_writes_a_pool_a_pair_and_an_open_request():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Mutual aid: pool 头雁合作" in out.getvalue()
    pool = AidPool.objects.get()
    assert pool.members.count() >= 2
    assert AidPartner.objects.count() == 2
    request = AidRequest.objects.get()
    assert (request.status, request.ring) == (AidRequestStatus.OPEN, Ring.PARTNER)
    committee = acting(User.objects.get(username="committee"))
    assert list(AidRequest.objects.visible_to(committee)) == [request]
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert AidRequest.objects.count() == 1 and AidPool.objects.count() == 1
