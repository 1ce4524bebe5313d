"""Finding 3 (the confirming half) and the lookup rule: a search by a personal key is POSTed,
answered only within scope, audited and rate-limited, for the pages and for the API."""

import re

import pytest
from django.urls import reverse

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.lookups import LIMITS
from xiuhua.core.models import AuditEvent
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import as_user

pytestmark = pytest.mark.django_db

SEARCH = reverse("residents:search")
TEN_MINUTES = next(rule.limit for rule in LIMITS if rule.scope == "actor" and rule.window == 600)


def _results(response) -> str:
    """The results block without the per-response CSRF tokens."""
    html = response.content.decode()
    html = html[html.index('<div id="results">'):]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_a_full_number_search_is_audited_with_kind_and_hits_never_the_number(client, world):
    as_user(client, world.grid_worker)
    page = client.post(SEARCH, {"q": world.resident_a1.plain_id})
    assert [r.pk for r in page.context["page"]] == [world.resident_a1.pk]
    event = AuditEvent.objects.get(action="personal_lookup")
    assert (event.actor_id, event.personal, event.detail) == (
        world.grid_worker.pk, True, {"key": "id_number", "purpose": "resident_search", "hits": 1},
    )
    assert world.resident_a1.plain_id not in str(AuditEvent.objects.values_list("subject_label", "reason", "detail"))


def test_a_number_elsewhere_gets_the_answer_of_a_number_nobody_has(client, world):
    as_user(client, world.staff_a1)
    elsewhere = client.post(SEARCH, {"q": world.resident_b1.plain_id})
    nobody = client.post(SEARCH, {"q": make_resident_id("310110", world.resident_b1.birth_date, 555)})
    assert elsewhere.status_code == nobody.status_code == 200
    assert list(elsewhere.context["page"]) == list(nobody.context["page"]) == []
    assert _results(elsewhere) == _results(nobody)


def test_a_search_in_the_url_is_not_run(client, world):
    as_user(client, world.staff_a1)
    page = client.get(SEARCH, {"q": world.resident_a1.plain_id})
    assert page.status_code == 200
    assert page.context["page"] is None
    assert not AuditEvent.objects.filter(action="personal_lookup").exists()
    assert 'method="post"' in page.content.decode()


def test_walking_guessed_numbers_is_stopped_and_the_street_is_told(client, world):
    world.street_officer.mobile = "13900000009"
    world.street_officer.save()
    as_user(client, world.district_officer)
    guesses = [make_resident_id(region, world.resident_a1.birth_date, 1) for region in
               ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112")]
    statuses = [client.post(SEARCH, {"q": guesses[i % len(guesses)]}).status_code for i in range(TEN_MINUTES)]
    assert statuses == [200] * TEN_MINUTES
    refused = client.post(SEARCH, {"q": world.resident_a1.plain_id})
    assert refused.status_code == 429
    assert refused.context["page"] is None
    assert "查询过于频繁" in refused.content.decode()
    assert AuditEvent.objects.filter(action="personal_lookup").count() == TEN_MINUTES
    assert AuditEvent.objects.filter(action="lookup_burst").count() == 1
    # A district officer sits above the streets: the audit event stands, no street is texted.
    assert not OutboundSms.objects.filter(purpose="lookup_burst").exists()
    # A name is not a personal key: browsing by name goes on.
    assert client.post(SEARCH, {"q": "张秀英"}).status_code == 200


def test_the_api_takes_personal_keys_only_in_a_posted_body(client, world):
    as_user(client, world.staff_a1)
    in_url = client.get("/api/residents", {"q": world.resident_a1.plain_id})
    assert in_url.status_code == 422
    assert not AuditEvent.objects.filter(action="personal_lookup").exists()
    posted = client.post("/api/residents/search", {"q": world.resident_a1.plain_id}, content_type="application/json")
    assert posted.status_code == 200
    assert [r["id"] for r in posted.json()["items"]] == [world.resident_a1.pk]
    assert AuditEvent.objects.get(action="personal_lookup").detail["hits"] == 1
    for _ in range(TEN_MINUTES):
        client.post("/api/residents/search", {"q": "13812345678"}, content_type="application/json")
    throttled = client.post("/api/residents/search", {"q": "13812345678"}, content_type="application/json")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "查询过于频繁" in throttled.json()["detail"]


def _new_resident_form(number: str) -> dict:
    return {"name": "试探", "sex": "M", "id_type": "resident_id", "id_number": number,
            "relation": "child", "living_status": "here"}


def test_entering_a_number_registered_elsewhere_is_a_governed_lookup(client, world):
    """Adding a resident with a number another committee holds must be refused (a person is on one
    roster), which tells that the number exists: each such answer is audited and counted, and past
    the limit no number is checked at all."""
    as_user(client, world.staff_a1)
    url = reverse("residents:resident_new", args=[world.household_a1.pk])
    page = client.post(url, _new_resident_form(world.resident_b1.plain_id))
    assert "该证件号码已在其他居委会登记" in page.content.decode()
    event = AuditEvent.objects.get(action="identity_elsewhere")
    assert (event.actor_id, event.personal, event.committee_id, event.reason) == (
        world.staff_a1.pk, True, world.committee_a1.pk, "resident_create")
    for _ in range(TEN_MINUTES - 1):
        client.post(url, _new_resident_form(world.resident_b1.plain_id))
    page = client.post(url, _new_resident_form(world.resident_b1.plain_id))
    assert "查询过于频繁" in page.content.decode()
    # Paused: not even a number nobody has is checked, so nothing tells them apart.
    fresh = make_resident_id("310110", world.resident_b1.birth_date, 557)
    page = client.post(url, _new_resident_form(fresh))
    assert "查询过于频繁" in page.content.decode()
    assert not world.household_a1.residents.filter(name="试探").exists()
    # The API answers the same way.
    api = client.post("/api/residents", {"household": world.household_a1.pk, **_new_resident_form(fresh),
                                         "birth_date": "1990-01-01"}, content_type="application/json")
    assert api.status_code == 429


def test_a_roster_file_naming_numbers_held_elsewhere_is_audited_with_how_many(client, world):
    from xiuhua.residents.tests.test_roster_fixtures import person, upload, xlsx

    as_user(client, world.staff_a1)
    rows = [person(姓名="甲", 证件号码=world.resident_b1.plain_id), person(姓名="乙", 室号="502"),
            person(姓名="丙", 室号="503", 证件号码=world.resident_a2.plain_id)]
    client.post(reverse("residents:roster_upload"), {"file": upload(xlsx(rows))})
    event = AuditEvent.objects.get(action="identity_elsewhere")
    assert (event.actor_id, event.personal, event.committee_id, event.detail) == (
        world.staff_a1.pk, True, world.committee_a1.pk, {"rows": 2})
