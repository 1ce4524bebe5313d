"""Mutual aid's pages: the phone list and its JSON poll, posting, claiming (the second claimer
sees "已被认领"), done; the street's pairing and cover pages; who may open what."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.places.models import Kind
from xiuhua.testing import make_user, unit
from xiuhua.volunteers.models_aid import AidCover, AidPartner, AidPool, AidRequest, AidRequestStatus, Ring

pytestmark = pytest.mark.django_db


@pytest.fixture
def paired(world, client):
    world.committee_a3 = unit(Kind.COMMITTEE, "国和三村居委会", world.street_a, code="310110012003")
    world.staff_a3 = make_user("staff_a3", Role.COMMITTEE_STAFF, world.committee_a3)
    client.force_login(world.street_officer)
    assert client.post("/volunteers/aid/pairing/pair/", {"a": world.committee_a1.pk,
                                                         "b": world.committee_a2.pk}).status_code == 302
    assert client.post("/volunteers/aid/pairing/pool/", {
        "name": "头雁合作", "committees": [world.committee_a1.pk, world.committee_a2.pk, world.committee_a3.pk],
    }).status_code == 302
    client.logout()
    return world


def _post(client, world, **extra):
    client.force_login(world.staff_a1)
    needed_by = timezone.localtime() + dt.timedelta(hours=2)
    return client.post("/volunteers/aid/new/", {
        "what": "上门采样缺扫码员", "compound": world.compound_a1.pk, "building": world.building_a1.pk,
        "place_note": "", "people_needed": "2", "needed_by": needed_by.strftime("%Y-%m-%dT%H:%M"),
        "contact_name": "李", "contact_phone": "13900001111", "ring": Ring.POOL, **extra})


def test_street_pages_set_up_pairs_pools_and_rule(paired, client):
    assert AidPartner.objects.count() == 2 and AidPool.objects.get().members.count() == 3
    client.force_login(paired.street_officer)
    page = client.get("/volunteers/aid/pairing/").content.decode()
    assert "国和一村居委会" in page and "头雁合作" in page
    client.post("/volunteers/aid/pairing/rule/", {"minutes": "45"})
    assert 'value="45"' in client.get("/volunteers/aid/pairing/").content.decode()
    response = client.post("/volunteers/aid/pairing/rule/", {"minutes": "abc"})
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["请填写分钟数"]


def test_post_claim_and_the_loser_sees_taken(paired, client):
    response = _post(client, paired)
    request = AidRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/volunteers/aid/{request.pk}/"
    client.force_login(paired.staff_a2)
    listing = client.get("/volunteers/aid/").content.decode()
    assert f'id="claim-{request.pk}"' in listing
    poll = client.get("/volunteers/aid/open.json").json()
    assert [row["id"] for row in poll["open"]] == [request.pk] and poll["open"][0]["committee"] == "国和一村居委会"
    response = client.post(f"/volunteers/aid/{request.pk}/claim/", follow=True)
    assert "认领成功" in response.content.decode()
    client.force_login(paired.staff_a3)
    response = client.post(f"/volunteers/aid/{request.pk}/claim/", follow=True)
    page = response.content.decode()
    assert "已被认领:staff_a2(国和二村居委会)" in page
    assert client.get("/volunteers/aid/open.json").json() == {"open": []}
    request.refresh_from_db()
    assert request.claimed_by == paired.staff_a2
    # The claimer marks it done; the poster sees who and when.
    client.force_login(paired.staff_a2)
    client.post(f"/volunteers/aid/{request.pk}/done/", {"note": "已到场"})
    client.force_login(paired.staff_a1)
    detail = client.get(f"/volunteers/aid/{request.pk}/").content.decode()
    assert "已完成" in detail and "staff_a2(国和二村居委会)" in detail and "已到场" in detail


def test_bad_post_shows_messages_and_writes_nothing(paired, client):
    response = _post(client, paired, contact_phone="12")
    assert response.status_code == 400
    assert "请填写正确的手机号码" in response.content.decode()
    response = _post(client, paired, what="", people_needed="0")
    assert response.status_code == 400
    assert AidRequest.objects.count() == 0


def test_cover_page_marks_unable_and_partner_sees_it_in_switcher(paired, client):
    client.force_login(paired.street_officer)
    ends = timezone.localdate() + dt.timedelta(days=2)
    response = client.post("/volunteers/aid/covers/", {"form": "cover", "cover-committee": paired.committee_a1.pk,
                                                       "cover-reason": "班子封控", "cover-ends_on": ends.isoformat()})
    assert response.status_code == 302
    cover = AidCover.objects.get()
    client.force_login(paired.staff_a2)
    home = client.get("/volunteers/aid/").content.decode()
    assert "本居委会正在临时代管国和一村居委会" in home
    assert f"AB角临时代管: 国和一村居委会, 至{ends + dt.timedelta(days=1):%Y-%m-%d} 00:00" in home  # the switcher
    client.force_login(paired.staff_a1)
    assert "由国和二村居委会临时代管" in client.get("/volunteers/aid/").content.decode()
    client.force_login(paired.street_officer)
    client.post(f"/volunteers/aid/covers/{cover.pk}/end/")
    cover.refresh_from_db()
    assert cover.status == "ended"
    assert not Membership.objects.current().exclude(temporary="").exists()


def test_cover_page_refuses_bad_input(paired, client):
    client.force_login(paired.street_officer)
    response = client.post("/volunteers/aid/covers/", {"form": "cover", "cover-committee": paired.committee_a1.pk,
                                                       "cover-reason": "x",
                                                       "cover-ends_on": (timezone.localdate()
                                                                         - dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 400 and "结束时间须晚于现在" in response.content.decode()
    assert AidCover.objects.count() == 0


@pytest.mark.parametrize("url", ["/volunteers/aid/pairing/", "/volunteers/aid/covers/"])
def test_street_pages_refuse_committee_staff_and_anonymous(paired, client, url):
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(paired.staff_a1)
    assert client.get(url).status_code == 403
    client.force_login(paired.grid_worker)
    assert client.get(url).status_code == 403


def test_requests_outside_the_ring_are_404(paired, client):
    _post(client, paired, ring=Ring.PARTNER)
    request = AidRequest.objects.get()
    for user in (paired.staff_a3, paired.staff_b1, paired.street_officer_b):
        client.force_login(user)
        assert client.get(f"/volunteers/aid/{request.pk}/").status_code == 404
        assert client.post(f"/volunteers/aid/{request.pk}/claim/").status_code == 404
    client.force_login(paired.volunteer)
    assert client.get("/volunteers/aid/").status_code == 403
    request.refresh_from_db()
    assert request.status == AidRequestStatus.OPEN and request.claimed_by is None


def test_street_sees_every_request_and_first_pages_count_them(paired, client):
    _post(client, paired, ring=Ring.PARTNER)
    request = AidRequest.objects.get()
    client.force_login(paired.staff_a2)
    assert 'id="work-aid-open"' in client.get("/").content.decode()
    AidRequest.objects.filter(pk=request.pk).update(escalated_at=timezone.now())
    client.force_login(paired.street_officer)
    page = client.get("/volunteers/aid/").content.decode()
    assert 'id="aid-street"' in page and "上门采样缺扫码员" in page and "超时未认领" in page
    assert 'id="work-aid-escalated"' in client.get("/").content.decode()


def test_street_seconds_an_officer_and_ends_it_on_the_page(paired, client):
    client.force_login(paired.street_officer)
    ends = timezone.localdate() + dt.timedelta(days=30)
    response = client.post("/volunteers/aid/covers/", {
        "form": "second", "second-username": "district", "second-committee": paired.committee_a3.pk,
        "second-reason": "区机关下沉担任第二书记", "second-ends_on": ends.isoformat()})
    assert response.status_code == 302
    seconded = Membership.objects.get(user=paired.district_officer, org_unit=paired.committee_a3)
    page = client.get("/volunteers/aid/covers/").content.decode()
    assert f'id="end-second-{seconded.pk}"' in page and "区机关下沉担任第二书记" in page
    client.force_login(paired.district_officer)
    switcher = client.get("/").content.decode()
    assert "第二书记: 国和三村居委会, 至" in switcher
    client.force_login(paired.street_officer_b)  # another street: not theirs to end
    assert client.post(f"/volunteers/aid/seconded/{seconded.pk}/end/").status_code in (403, 404)
    client.force_login(paired.street_officer)
    client.post(f"/volunteers/aid/seconded/{seconded.pk}/end/")
    seconded.refresh_from_db()
    assert not seconded.is_current()
    response = client.post("/volunteers/aid/covers/", {
        "form": "second", "second-username": "nobody-here", "second-committee": paired.committee_a3.pk,
        "second-reason": "x", "second-ends_on": ends.isoformat()})
    assert response.status_code == 400 and "没有这个用户名的账号" in response.content.decode()
