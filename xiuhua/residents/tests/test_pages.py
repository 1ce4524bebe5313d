"""Authorisation matrix for the resident and place pages: anonymous, wrong role, other unit, right."""

import pytest
from django.urls import reverse

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household, Resident
from xiuhua.testing import as_user

pytestmark = pytest.mark.django_db


def snapshot():
    """What a write could change. Audited reads (a lookup, being told a number is registered
    elsewhere) are not writes."""
    return (
        Resident.objects.count(),
        Household.objects.count(),
        AuditEvent.objects.exclude(action__in=("personal_lookup", "identity_elsewhere")).count(),
        sorted(Resident.objects.values_list("name", "mobile", "living_status")),
        sorted(Household.objects.values_list("room", "is_rental")),
    )


def read_urls(w):
    return [
        reverse("residents:detail", args=[w.resident_a1.pk]),
        reverse("residents:household", args=[w.household_a1.pk]),
        reverse("places:unit", args=[w.compound_a1.pk]),
    ]


def test_right_user_reads(client, world):
    as_user(client, world.staff_a1)
    for url in read_urls(world):
        assert client.get(url, follow=True).status_code == 200, url


def test_other_committee_gets_404_like_a_missing_id(client, world):
    as_user(client, world.staff_b1)
    for url in read_urls(world):
        assert client.get(url).status_code == 404, url
    missing = reverse("residents:detail", args=[999999])
    assert client.get(missing).status_code == 404


@pytest.mark.parametrize("username", ["volunteer", "pharmacy", "sysadmin", "nobody"])
def test_roles_without_roster_access_are_refused(client, world, username):
    from xiuhua.accounts.models import User

    as_user(client, User.objects.get(username=username))
    for url in [reverse("residents:search") + "?q=张", reverse("residents:detail", args=[world.resident_a1.pk])]:
        assert client.get(url).status_code == 403, (username, url)


def test_search_only_finds_own_committee(client, world):
    as_user(client, world.staff_a1)
    page = client.post(reverse("residents:search"), {"q": "赵强"})
    assert list(page.context["page"]) == []
    page = client.post(reverse("residents:search"), {"q": "张秀英"})
    assert list(page.context["page"]) == [world.resident_a1]


def test_search_by_phone_last4_and_address(client, world):
    as_user(client, world.street_officer)
    cases = {
        "13812345678": [world.resident_a1],
        world.resident_a2.plain_id[-4:]: [world.resident_a2],
        "5号302": [world.resident_a1],
        "国和一村5号楼302室": [world.resident_a1],
        world.resident_a1b.plain_id: [world.resident_a1b],
        "13600002222": [],  # street B's resident: not visible to street A
        "5678": [world.resident_a1],  # the end of a mobile (13812345678)
        "0000": [world.resident_a1b],  # 13812340000
        "2222": [],  # street B's mobile
    }
    for q, expected in cases.items():
        page = client.post(reverse("residents:search"), {"q": q})
        assert list(page.context["page"]) == expected, q
    tails = AuditEvent.objects.filter(action="personal_lookup", detail__key="tail").order_by("pk")
    assert [(e.detail["hits"], e.personal) for e in tails][-3:] == [(1, True), (1, True), (0, True)]


def test_search_results_show_each_residents_tags(client, world):
    as_user(client, world.staff_a1)
    text = client.post(reverse("residents:search"), {"q": "张秀英"}).content.decode()
    assert '<td data-label="标签" class="tags"><span class="tag">独居老人</span></td>' in text
    text = client.post(reverse("residents:search"), {"q": "李建国"}).content.decode()
    assert '<td data-label="标签" class="tags">—</td>' in text


def test_street_officer_sees_both_committees_but_not_the_other_street(client, world):
    as_user(client, world.street_officer)
    page = client.get(reverse("residents:households"))
    assert {h.pk for h in page.context["page"]} == {
        world.household_a1.pk, world.household_a1b.pk, world.household_a2.pk
    }


def test_grid_worker_sees_only_their_grid(client, world):
    as_user(client, world.grid_worker)
    page = client.get(reverse("residents:households"))
    assert [h.pk for h in page.context["page"]] == [world.household_a1.pk]
    assert client.get(reverse("residents:detail", args=[world.resident_a1b.pk])).status_code == 404


def test_edit_by_other_committee_writes_nothing(client, world):
    before = snapshot()
    as_user(client, world.staff_b1)
    url = reverse("residents:edit", args=[world.resident_a1.pk])
    response = client.post(url, {"name": "改名", "sex": "F", "birth_date": "1946-03-08",
                                 "id_type": "resident_id", "relation": "head", "living_status": "here"})
    assert response.status_code == 404
    assert snapshot() == before


def test_edit_by_wrong_role_writes_nothing(client, world):
    before = snapshot()
    as_user(client, world.street_officer)  # may view, may not edit
    response = client.post(reverse("residents:edit", args=[world.resident_a1.pk]), {"name": "改名"})
    assert response.status_code == 403
    assert snapshot() == before


def test_edit_by_right_user_is_saved_and_audited(client, world):
    as_user(client, world.staff_a1)
    response = client.post(reverse("residents:edit", args=[world.resident_a1.pk]), {
        "name": "张秀英", "sex": "F", "birth_date": "", "id_type": "resident_id",
        "mobile": "139 1234 5678", "relation": "head", "living_status": "away",
        "away_until": "2026-12-01", "tags": ["elderly_alone", "no_smartphone"],
    })
    assert response.status_code == 302
    world.resident_a1.refresh_from_db()
    assert world.resident_a1.mobile == "13912345678"
    assert world.resident_a1.living_status == "away"
    assert world.resident_a1.tag_codes == ["elderly_alone", "no_smartphone"]
    event = AuditEvent.objects.get(action="resident_update")
    assert event.actor == world.staff_a1
    assert event.detail == {"fields": ["away_until", "living_status", "mobile", "tags"]}
    assert world.resident_a1.plain_id not in str(event.__dict__)


def test_the_edit_form_fills_in_a_birth_date_only_where_the_number_does_not_hold_it(client, world):
    as_user(client, world.grid_worker)  # may edit, may not reveal
    form = client.get(reverse("residents:edit", args=[world.resident_a1.pk])).context["form"]
    assert "birth_date" not in form.initial and "1946-03-08" not in form.as_div()
    Resident.objects.filter(pk=world.resident_a1.pk).update(id_type="passport", id_masked="E12****78")
    form = client.get(reverse("residents:edit", args=[world.resident_a1.pk])).context["form"]
    assert form.initial["birth_date"] == world.resident_a1.birth_date


def test_edit_with_bad_id_checksum_shows_message_and_changes_nothing(client, world):
    before = snapshot()
    as_user(client, world.staff_a1)
    bad = world.resident_a1.plain_id[:17] + ("0" if world.resident_a1.plain_id[17] != "0" else "1")
    response = client.post(reverse("residents:edit", args=[world.resident_a1.pk]), {
        "name": "张秀英", "sex": "F", "birth_date": "1946-03-08", "id_type": "resident_id",
        "id_number": bad, "relation": "head", "living_status": "here",
    })
    assert response.status_code == 200
    assert "校验位不正确" in response.content.decode()
    assert snapshot() == before


def test_reveal_needs_reason_and_is_audited(client, world):
    as_user(client, world.staff_a1)
    url = reverse("residents:reveal", args=[world.resident_a1.pk])
    response = client.post(url, {"reason": ""})
    assert world.resident_a1.plain_id not in response.content.decode()
    assert AuditEvent.objects.filter(personal=True).count() == 0
    response = client.post(url, {"reason": "核对口罩预约身份"})
    assert world.resident_a1.plain_id in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(personal=True)
    assert (event.action, event.actor, event.reason, event.object_id) == (
        "reveal_id", world.staff_a1, "核对口罩预约身份", world.resident_a1.pk)


@pytest.mark.parametrize("username,status", [("grid_a1", 403), ("staff_b1", 404), ("district", 403)])
def test_reveal_denied_writes_no_audit_and_shows_nothing(client, world, username, status):
    from xiuhua.accounts.models import User

    as_user(client, User.objects.get(username=username))
    response = client.post(reverse("residents:reveal", args=[world.resident_a1.pk]), {"reason": "看看"})
    assert response.status_code == status
    assert world.resident_a1.plain_id not in response.content.decode()
    assert AuditEvent.objects.count() == 0


def test_audit_page_shows_reveals_in_scope_only(client, world):
    from xiuhua.residents.services import resident_reveal_id
    from xiuhua.testing import acting

    resident_reveal_id(actor=acting(world.staff_a1), resident=world.resident_a1, reason="核对")
    resident_reveal_id(actor=acting(world.staff_b1), resident=world.resident_b1, reason="核对B")
    as_user(client, world.street_officer)
    events = list(client.get(reverse("accounts:audit")).context["page"])
    assert [(e.actor, e.reason) for e in events] == [(world.staff_a1, "核对")]
    as_user(client, world.staff_a1)
    assert client.get(reverse("accounts:audit")).status_code == 403


def test_household_create_and_duplicate_address(client, world):
    as_user(client, world.staff_a1)
    url = reverse("residents:household_new") + f"?building={world.building_a1.pk}"
    response = client.post(url, {"room": "303"})
    assert response.status_code == 302
    assert Household.objects.filter(building=world.building_a1, room="303").count() == 1
    before = snapshot()
    response = client.post(url, {"room": "303"})
    assert "该地址已登记" in response.content.decode()
    assert snapshot() == before


def test_household_create_in_other_committees_building_is_refused(client, world):
    before = snapshot()
    as_user(client, world.staff_a1)
    response = client.post(reverse("residents:household_new") + f"?building={world.building_b1.pk}", {"room": "999"})
    assert response.status_code == 302 and response["Location"] == reverse("places:tree")
    assert snapshot() == before


def test_resident_create_with_duplicate_id_elsewhere_does_not_reveal_where(client, world):
    before = snapshot()
    as_user(client, world.staff_a1)
    response = client.post(reverse("residents:resident_new", args=[world.household_a1.pk]), {
        "name": "冒名", "sex": "M", "birth_date": "1980-05-17", "id_type": "resident_id",
        "id_number": world.resident_b1.plain_id, "relation": "other", "living_status": "here",
    })
    text = response.content.decode()
    assert "已在其他居委会登记" in text
    assert "政立" not in text
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="identity_elsewhere").count() == 1


def test_switching_membership_changes_scope(client, world):
    from xiuhua.accounts.models import Membership
    from xiuhua.accounts.roles import Role

    other = Membership.objects.create(user=world.staff_a1, org_unit=world.committee_b1, role=Role.COMMITTEE_STAFF)
    as_user(client, world.staff_a1)
    url = reverse("residents:detail", args=[world.resident_b1.pk])
    assert client.get(url).status_code == 404
    client.post(reverse("accounts:switch"), {"membership": other.pk})
    assert client.get(url).status_code == 200
    # A membership id of someone else's is ignored.
    foreign = Membership.objects.get(user=world.staff_a2)
    client.post(reverse("accounts:switch"), {"membership": foreign.pk})
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("param", ["committee", "compound", "building"])
def test_non_ascii_digits_in_filters_are_not_a_crash(client, world, param):
    as_user(client, world.staff_a1)
    assert client.get(reverse("residents:households"), {param: "²"}).status_code == 200
    response = client.get(reverse("residents:household_new"), {"building": "²"})
    assert response.status_code == 302


@pytest.mark.postgres
def test_name_search_uses_the_trigram_index_on_postgresql(world):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'resident_name_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin (name gin_trgm_ops)" in definition
