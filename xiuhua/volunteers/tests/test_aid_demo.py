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


def test_demo_accounts_see_mutual_aid_on_their_pages(client):
    call_command("seed_demo", stdout=io.StringIO())
    request = AidRequest.objects.get()
    client.force_login(User.objects.get(username="committee"))
    assert f'id="claim-{request.pk}"' in client.get("/volunteers/aid/").content.decode()
    assert 'id="work-aid-open"' in client.get("/").content.decode()
    client.force_login(User.objects.get(username="committee2"))
    assert "上门核酸采样缺扫码员" in client.get("/volunteers/aid/").content.decode()
    client.force_login(User.objects.get(username="street"))
    page = client.get("/volunteers/aid/pairing/").content.decode()
    assert "头雁合作" in page and 'id="pairs"' in page
    assert client.get("/volunteers/aid/covers/").status_code == 200
