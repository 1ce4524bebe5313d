"""The JSON API for places, households and residents.

An authorisation matrix over every operation (no token, bad or revoked token, roles that may not
use the API, another committee, a grid worker, the right user), validation in Chinese, no full
identity number in any answer, the OpenAPI spec, a guard that no operation is public, and a fuzz
of the resident endpoints.
"""

import datetime as dt
import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from xiuhua.accounts.models import ApiToken, Membership, User
from xiuhua.api import ApiTokenAuth, api
from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.core.policy import POLICY_ATTR
from xiuhua.residents.models import Household, LivingStatus, Relation, Resident, ResidentTag, Tag

pytestmark = pytest.mark.django_db

# Every operation of the API, as (method, path). test_matrix_covers_every_operation fails when an
# operation is added without being put here, so each one gets the whole matrix below. Work orders
# have their own list and matrix (xiuhua/tickets/tests/test_api.py, TICKET_ENDPOINTS).
ENDPOINTS = [
    ("GET", "/api/me"),
    ("GET", "/api/places/{unit_id}"),
    ("GET", "/api/places/{unit_id}/children"),
    ("GET", "/api/households"),
    ("POST", "/api/households"),
    ("GET", "/api/households/{household_id}"),
    ("PATCH", "/api/households/{household_id}"),
    ("GET", "/api/residents"),
    ("POST", "/api/residents/search"),
    ("POST", "/api/residents"),
    ("GET", "/api/residents/{resident_id}"),
    ("PATCH", "/api/residents/{resident_id}"),
]
# A search is POSTed (its keys stay out of URLs) but is a read.
WRITES = [e for e in ENDPOINTS if e[0] != "GET" and not e[1].endswith("/search")]
NEW_ID = make_resident_id("310110", dt.date(1990, 7, 1), 321)  # valid, not in the world


# ---------------------------------------------------------------- helpers


class JsonClient:
    """Django's test client speaking JSON, with a bearer token or a login session (or neither)."""

    def __init__(self, key: str | None = None, client: Client | None = None, header: str | None = None):
        self.client = client or Client()
        self.headers = {}
        if header is not None:
            self.headers["Authorization"] = header
        elif key is not None:
            self.headers["Authorization"] = f"Bearer {key}"

    def get(self, url, params=None):
        return self.client.get(url, params or {}, headers=self.headers)

    def send(self, method: str, url: str, body=None, raw: str | bytes | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        call = getattr(self.client, method.lower())
        return call(url, data=data, content_type="application/json", headers=self.headers)

    def call(self, method: str, url: str, body=None):
        if method == "GET":
            return self.get(url)
        return self.send(method, url, body)


def key_for(user: User, **membership_filter) -> str:
    membership = Membership.objects.filter(user=user, **membership_filter).order_by("pk").first()
    assert membership is not None
    _, key = ApiToken.issue(membership, "test")
    return key


def as_token(user: User) -> JsonClient:
    return JsonClient(key_for(user))


def as_session(user: User) -> JsonClient:
    client = Client()
    client.force_login(user)
    return JsonClient(client=client)


def snapshot():
    """Everything a write could change, so denied writes can be shown to change nothing. Audited
    reads (a lookup, being told a number is registered elsewhere) are not writes."""
    return (
        AuditEvent.objects.exclude(action__in=("personal_lookup", "identity_elsewhere")).count(),
        sorted(Household.objects.values_list("pk", "building_id", "room", "is_rental", "landlord_phone",
                                             "grid_id", "micro_grid_id")),
        sorted(Resident.objects.values_list("pk", "household_id", "name", "mobile", "living_status", "id_hash")),
        sorted(ResidentTag.objects.values_list("resident_id", "tag")),
    )


def url_for(path: str, w, *, committee_a1_objects: bool = True) -> str:
    unit = w.committee_a1 if committee_a1_objects else w.committee_b1
    household = w.household_a1 if committee_a1_objects else w.household_b1
    resident = w.resident_a1 if committee_a1_objects else w.resident_b1
    return path.format(unit_id=unit.pk, household_id=household.pk, resident_id=resident.pk)


def body_for(method: str, path: str, w) -> dict | None:
    """A write that the right user would get through."""
    if method == "GET":
        return None
    if path == "/api/households":
        return {"building": w.building_a1.pk, "room": "1201"}
    if path == "/api/residents":
        return resident_body(w.household_a1)
    if path == "/api/residents/search":
        return {"q": "13812345678"}
    if path.startswith("/api/households/"):
        return {"room": "303", "is_rental": True, "landlord_phone": "13900000002"}
    return {"mobile": "13900001234", "tags": ["elderly_alone", "disabled"]}


def resident_body(household, **overrides) -> dict:
    body = {
        "household": household.pk, "name": "陈新", "sex": "M", "birth_date": "1990-07-01",
        "id_type": "resident_id", "id_number": NEW_ID, "relation": "child", "tags": ["no_smartphone"],
    }
    body.update(overrides)
    return body


def messages(response) -> list[str]:
    """Every message of a 422, whatever field it is filed under."""
    return [message for field in response.json()["detail"].values() for message in field]


def operations():
    """(method, path, operation) for every operation bound into the API."""
    for bound in api._get_bound_routers():
        for route, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                full = "/api/" + "/".join(p for p in (bound.prefix.strip("/"), route.strip("/")) if p)
                for method in operation.methods:
                    yield method, full, operation


# ---------------------------------------------------------------- the spec and the auth guard


def test_matrix_covers_every_operation():
    from xiuhua.screening.tests.test_api import SCREENING_ENDPOINTS
    from xiuhua.tickets.tests.test_api import TICKET_ENDPOINTS

    assert sorted((m, p) for m, p, _ in operations()) == sorted(ENDPOINTS + TICKET_ENDPOINTS + SCREENING_ENDPOINTS)


def test_every_operation_requires_authentication():
    """A future endpoint cannot be public by accident: each has the token auth, and declares
    the capability (or logged_in) it needs, as the pages do."""
    for method, path, operation in operations():
        assert operation.auth_callbacks, f"{method} {path} has no authentication"
        assert any(isinstance(cb, ApiTokenAuth) for cb in operation.auth_callbacks), (method, path)
        assert getattr(operation.view_func, POLICY_ATTR, None), f"{method} {path} declares no policy"


def test_every_api_url_is_marked_with_a_policy():
    from django.urls import get_resolver

    resolver = get_resolver()
    api_patterns = [p for p in resolver.url_patterns if str(p.pattern) == "api/"][0].url_patterns
    for pattern in api_patterns:
        assert getattr(pattern.callback, POLICY_ATTR, None), pattern


def test_openapi_spec_is_served_and_lists_every_path(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "xiuhua API"
    from xiuhua.masks.tests.test_resident_api import RESIDENT_ENDPOINTS, RESIDENT_PUBLIC_ENDPOINTS
    from xiuhua.screening.tests.test_api import SCREENING_ENDPOINTS
    from xiuhua.tickets.tests.test_api import TICKET_ENDPOINTS

    listed = sorted((method.upper(), path) for path, ops in spec["paths"].items() for method in ops)
    assert listed == sorted(ENDPOINTS + TICKET_ENDPOINTS + RESIDENT_ENDPOINTS + SCREENING_ENDPOINTS)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiTokenAuth"] == {"type": "http", "scheme": "bearer"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if (method.upper(), path) in RESIDENT_PUBLIC_ENDPOINTS:
                continue  # a resident's SMS code and the token it buys come before any credentials
            assert op.get("security"), f"{method} {path} is documented without security"
    # The schemas never carry a full identity number.
    resident = spec["components"]["schemas"]["ResidentOut"]["properties"]
    assert "id_masked" in resident
    assert not {"id_number", "id_encrypted", "id_hash"} & set(resident)


def test_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "cdn" not in html.lower()


# ---------------------------------------------------------------- the authorisation matrix


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_credentials_is_401(world, method, path):
    before = snapshot()
    response = JsonClient().call(method, url_for(path, world), body_for(method, path, world))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"] == "请提供有效的接口令牌或先登录"
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_bad_or_revoked_token_is_401(world, method, path):
    membership = Membership.objects.get(user=world.staff_a1)
    revoked, revoked_key = ApiToken.issue(membership, "revoked")
    revoked.revoked = True
    revoked.save()
    ended_key = key_for(world.staff_a2)
    Membership.objects.filter(user=world.staff_a2).update(active=False)
    gone_user_key = key_for(world.staff_b1)
    User.objects.filter(pk=world.staff_b1.pk).update(is_active=False)
    headers = [
        f"Bearer {revoked_key}",
        f"Bearer {ended_key}",
        f"Bearer {gone_user_key}",
        "Bearer xh_" + "A" * 43,
        "Bearer not-a-token",
        "Bearer ",
        "Bearer " + "xh_" + "x" * 5000,
        f"Bearer {revoked_key[:-1]}",
        "Token xh_abc",
    ]
    before = snapshot()
    for header in headers:
        response = JsonClient(header=header).call(method, url_for(path, world), body_for(method, path, world))
        assert response.status_code == 401, (header[:30], response.content)
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("role_user", ["volunteer", "pharmacy_clerk", "sysadmin", "grid_worker"])
def test_roles_that_may_not_use_the_api_get_403(world, method, path, role_user):
    """Their tokens are real but their roles lack use_api (the grid worker works through the
    pages and the session, see test_grid_worker_is_limited_to_their_grid)."""
    client = as_token(getattr(world, role_user))
    before = snapshot()
    response = client.call(method, url_for(path, world), body_for(method, path, world))
    assert response.status_code == 403
    assert response.json()["detail"] == "该角色不能使用接口"
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("username", ["volunteer", "pharmacy", "nobody"])
def test_session_users_without_roster_rights_get_403(world, method, path, username):
    client = as_session(User.objects.get(username=username))
    before = snapshot()
    response = client.call(method, url_for(path, world), body_for(method, path, world))
    if path == "/api/me":
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["detail"] == "无权进行此操作"
    assert snapshot() == before


def test_sysadmin_session_sees_places_but_no_people(world):
    client = as_session(world.sysadmin)
    assert client.get(f"/api/places/{world.committee_b1.pk}").status_code == 200
    for method, path in ENDPOINTS:
        if "places" in path or path == "/api/me":
            continue
        before = snapshot()
        response = client.call(method, url_for(path, world), body_for(method, path, world))
        assert response.status_code == 403, (method, path)
        assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if "{" in e[1]])
def test_other_committee_is_404_like_a_missing_id(world, method, path):
    """A committee-A1 token asking for B1's unit, household or resident by id."""
    client = as_token(world.staff_a1)
    body = body_for(method, path, world)
    before = snapshot()
    other = client.call(method, url_for(path, world, committee_a1_objects=False), body)
    missing = client.call(method, path.format(unit_id=999999, household_id=999999, resident_id=999999), body)
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert snapshot() == before


def test_neighbouring_committee_of_the_same_street_is_404_too(world):
    client = as_token(world.staff_a2)
    assert client.get(f"/api/residents/{world.resident_a1.pk}").status_code == 404
    assert client.get(f"/api/households/{world.household_a1.pk}").status_code == 404
    assert client.get(f"/api/places/{world.compound_a1.pk}").status_code == 404


def test_writes_cannot_reach_into_another_committee_by_reference(world):
    """Ids inside a body get one answer for missing and not-yours as well."""
    client = as_token(world.staff_a1)
    before = snapshot()
    for household_id in (world.household_b1.pk, 999999):
        body = dict(resident_body(world.household_b1), household=household_id)
        response = client.send("POST", "/api/residents", body)
        assert response.status_code == 422
        assert response.json()["detail"] == {"household": ["找不到该户"]}
        response = client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"household": household_id})
        assert response.json()["detail"] == {"household": ["找不到该户"]}
    for building_id in (world.building_b1.pk, world.compound_a1.pk, 999999):
        response = client.send("POST", "/api/households", {"building": building_id, "room": "1"})
        assert response.status_code == 422
        assert response.json()["detail"] == {"building": ["请选择楼栋"]}
    other_grid = world.grid_a1.__class__.objects.create(committee=world.committee_b1, kind="grid", name="B网格")
    before = snapshot()
    for grid_id in (other_grid.pk, 999999):
        response = client.send("PATCH", f"/api/households/{world.household_a1.pk}", {"grid": grid_id})
        assert response.status_code == 422
        assert response.json()["detail"] == {"grid": ["网格须属于本居委会"]}
    assert snapshot() == before


def test_street_officer_reads_the_street_and_writes_nothing(world):
    client = as_token(world.street_officer)
    names = {r["name"] for r in client.get("/api/residents").json()["items"]}
    assert names == {world.resident_a1.name, world.resident_a1b.name, world.resident_a2.name}
    assert client.get(f"/api/residents/{world.resident_b1.pk}").status_code == 404
    assert client.get("/api/households").json()["total"] == 3
    before = snapshot()
    for method, path in WRITES:
        response = client.call(method, url_for(path, world), body_for(method, path, world))
        assert response.status_code == 403, (method, path)
    assert snapshot() == before


def test_district_officer_reads_the_district(world):
    client = as_token(world.district_officer)
    assert client.get("/api/residents").json()["total"] == 4
    assert client.get(f"/api/residents/{world.resident_b1.pk}").status_code == 200


def test_grid_worker_is_limited_to_their_grid(world):
    """Through the browser session (their role has no token access): only grid_a1's household."""
    client = as_session(world.grid_worker)
    residents = client.get("/api/residents").json()
    assert [r["id"] for r in residents["items"]] == [world.resident_a1.pk]
    households = client.get("/api/households").json()
    assert [h["id"] for h in households["items"]] == [world.household_a1.pk]
    assert client.get(f"/api/households?building={world.building_a1b.pk}").json()["total"] == 0
    assert client.get(f"/api/residents/{world.resident_a1b.pk}").status_code == 404
    assert client.get(f"/api/households/{world.household_a1b.pk}").status_code == 404
    grids = client.get(f"/api/places/{world.committee_a1.pk}").json()["grids"]
    assert {g["id"] for g in grids} == {world.grid_a1.pk, world.micro_a1.pk}

    before = snapshot()
    assert client.send("PATCH", f"/api/residents/{world.resident_a1b.pk}", {"mobile": "13900009999"}).status_code == 404
    assert client.send("PATCH", f"/api/households/{world.household_a1b.pk}", {"room": "9"}).status_code == 404
    assert snapshot() == before
    response = client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"mobile": "13900009999"})
    assert response.status_code == 200
    assert response.json()["mobile"] == "13900009999"


# ---------------------------------------------------------------- the right user


def test_me_shows_membership_and_capabilities(world):
    body = as_token(world.staff_a1).get("/api/me").json()
    assert body["user"]["username"] == "staff_a1"
    assert body["membership"]["role"] == "committee_staff"
    assert body["membership"]["unit"]["id"] == world.committee_a1.pk
    assert "edit_residents" in body["capabilities"] and "use_api" in body["capabilities"]
    assert body["via"] == "token"


def test_places(world):
    client = as_token(world.staff_a1)
    unit = client.get(f"/api/places/{world.committee_a1.pk}").json()
    assert unit["name"] == world.committee_a1.name and unit["kind"] == "committee"
    children = client.get(f"/api/places/{world.compound_a1.pk}/children").json()
    assert [c["name"] for c in children] == ["5号", "6号"]
    # Above the membership's unit is not theirs.
    assert client.get(f"/api/places/{world.street_a.pk}").status_code == 404


def test_households_list_filters_and_pages(world):
    client = as_token(world.street_officer)
    page = client.get("/api/households", {"limit": 2}).json()
    assert page["total"] == 3 and page["limit"] == 2 and len(page["items"]) == 2
    rest = client.get("/api/households", {"limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 1
    ids = {h["id"] for h in page["items"] + rest["items"]}
    assert ids == {world.household_a1.pk, world.household_a1b.pk, world.household_a2.pk}
    only_a2 = client.get("/api/households", {"committee": world.committee_a2.pk}).json()
    assert [h["id"] for h in only_a2["items"]] == [world.household_a2.pk]
    assert client.get("/api/households", {"building": world.building_a1b.pk}).json()["total"] == 1
    assert client.get("/api/households", {"compound": world.compound_b1.pk}).json()["total"] == 0


def test_household_detail_has_its_residents(world):
    body = as_token(world.staff_a1).get(f"/api/households/{world.household_a1.pk}").json()
    assert body["address"] == world.household_a1.address
    assert body["grid"] == world.grid_a1.pk and body["resident_count"] == 1
    assert [r["name"] for r in body["residents"]] == [world.resident_a1.name]


def test_create_and_update_household(world):
    client = as_token(world.staff_a1)
    audits = AuditEvent.objects.count()
    response = client.send("POST", "/api/households", {
        "building": world.building_a1.pk, "room": " 1201 ", "grid": world.grid_a1.pk,
        "micro_grid": world.micro_a1.pk,
    })
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["room"] == "1201" and created["residents"] == [] and created["committee"] == world.committee_a1.pk
    household = Household.objects.get(pk=created["id"])
    assert AuditEvent.objects.filter(action="household_create", object_id=household.pk).count() == 1

    response = client.send("PATCH", f"/api/households/{household.pk}", {
        "is_rental": True, "landlord_name": "周先生", "landlord_phone": "139 0000 0003", "grid": None,
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_rental"] is True and body["landlord_phone"] == "13900000003" and body["grid"] is None
    assert body["micro_grid"] == world.micro_a1.pk  # not sent, not changed
    assert AuditEvent.objects.count() == audits + 2
    # Sending the same values again changes nothing and writes no event.
    client.send("PATCH", f"/api/households/{household.pk}", {"is_rental": True})
    assert AuditEvent.objects.count() == audits + 2


def test_create_and_update_resident(world):
    client = as_token(world.staff_a1)
    audits = AuditEvent.objects.count()
    response = client.send("POST", "/api/residents", resident_body(world.household_a1))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "陈新" and body["household"] == world.household_a1.pk
    assert body["id_masked"] == NEW_ID[:3] + "*" * 13 + NEW_ID[-2:]
    assert body["tags"] == ["no_smartphone"]
    assert NEW_ID.encode() not in response.content
    resident = Resident.objects.get(pk=body["id"])
    assert resident.committee_id == world.committee_a1.pk

    response = client.send("PATCH", f"/api/residents/{resident.pk}", {
        "living_status": "away", "away_until": "2030-02-01", "tags": ["medical_professional"],
        "specialty": "呼吸科", "household": world.household_a1b.pk,
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["living_status"] == "away" and body["away_until"] == "2030-02-01"
    assert body["tags"] == ["medical_professional"] and body["household"] == world.household_a1b.pk
    assert body["name"] == "陈新"  # not sent, not changed
    events = AuditEvent.objects.filter(object_id=resident.pk, object_type="residents.resident")
    assert sorted(events.values_list("action", flat=True)) == ["resident_create", "resident_update"]
    assert AuditEvent.objects.count() == audits + 2
    assert NEW_ID not in json.dumps(list(AuditEvent.objects.values_list("subject_label", "detail")))


def test_new_identity_number_through_patch(world):
    client = as_token(world.staff_a1)
    number = make_resident_id("310110", world.resident_a1.birth_date, 998)  # even: female
    response = client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"id_number": number})
    assert response.status_code == 200, response.content
    assert response.json()["id_masked"].endswith(number[-2:])
    assert number.encode() not in response.content
    # The old number is free again; the new one finds her by its hash.
    found = client.send("POST", "/api/residents/search", {"q": number}).json()
    assert [r["id"] for r in found["items"]] == [world.resident_a1.pk]


def test_search(world):
    client = as_token(world.staff_a1)

    def names(**params):
        if "q" in params:
            return sorted(r["name"] for r in client.send("POST", "/api/residents/search", params).json()["items"])
        return sorted(r["name"] for r in client.get("/api/residents", params).json()["items"])

    assert names(q="张秀") == ["张秀英"]
    assert names(q="13812345678") == ["张秀英"]
    assert names(q=world.resident_a1.plain_id[-4:]) == ["张秀英"]
    assert names(q=world.resident_a1.plain_id) == ["张秀英"]
    assert names(q="5号302") == ["张秀英"]
    assert names(tag="elderly_alone") == ["张秀英"]
    assert names(status="here") == ["张秀英", "李建国"]
    assert names(status="away") == []
    assert names(q="赵强") == []  # committee B1's
    assert names(q=world.resident_b1.plain_id) == []


# ---------------------------------------------------------------- personal data


def test_full_identity_number_never_appears(world):
    """Not in the list, the search by the full number, the detail, the household, nor the
    answers to writes; for a token and for a session."""
    plain = world.resident_a1.plain_id.encode()
    for client in (as_token(world.staff_a1), as_session(world.staff_a1), as_token(world.street_officer)):
        responses = [
            client.get("/api/residents"),
            client.send("POST", "/api/residents/search", {"q": world.resident_a1.plain_id}),
            client.send("POST", "/api/residents/search", {"q": world.resident_a1.plain_id[-4:]}),
            client.get(f"/api/residents/{world.resident_a1.pk}"),
            client.get(f"/api/households/{world.household_a1.pk}"),
            client.get("/api/households"),
        ]
        for response in responses:
            assert response.status_code == 200
            assert plain not in response.content
        for response in responses[:-1]:  # all but the household list show her, masked
            assert world.resident_a1.id_masked.encode() in response.content
    client = as_token(world.staff_a1)
    writes = [
        client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"mobile": "13900005555"}),
        client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"id_number": world.resident_a1.plain_id}),
        # A duplicate registration must not echo the number either.
        client.send("POST", "/api/residents", resident_body(
            world.household_a1b, id_number=world.resident_a1.plain_id, birth_date="1946-03-08", sex="F")),
        client.send("POST", "/api/residents", resident_body(
            world.household_a1b, id_number=world.resident_a1.plain_id[:-1])),
    ]
    assert [w.status_code for w in writes] == [200, 200, 422, 422]
    for response in writes:
        assert plain not in response.content


def test_beside_the_masked_number_only_the_birth_year_where_the_number_holds_the_date(world):
    client = as_token(world.staff_a1)
    body = client.get(f"/api/residents/{world.resident_a1.pk}").json()
    assert (body["birth_date"], body["birth_year"]) == (None, 1946)
    assert "1946-03-08" not in client.get(f"/api/households/{world.household_a1.pk}").content.decode()
    response = client.send("POST", "/api/residents", resident_body(
        world.household_a1, id_type="passport", id_number="E12345678", birth_date="1990-07-01"))
    assert response.status_code == 201, response.content
    assert (response.json()["birth_date"], response.json()["birth_year"]) == ("1990-07-01", 1990)
    # A resident ID needs no birth date: it is the number's.
    response = client.send("POST", "/api/residents", resident_body(world.household_a1b, birth_date=None))
    assert response.status_code == 201, response.content
    assert Resident.objects.get(pk=response.json()["id"]).birth_date == dt.date(1990, 7, 1)


# ---------------------------------------------------------------- bad input


def test_service_validation_errors_are_422_in_chinese(world):
    client = as_token(world.staff_a1)
    before = snapshot()
    cases = [
        (resident_body(world.household_a1, id_number=NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")),
         {"id_number": ["证件号码校验位不正确,请核对"]}),
        (resident_body(world.household_a1, id_number=world.resident_b1.plain_id, birth_date="1980-05-17"),
         {"id_number": ["该证件号码已在其他居委会登记,请联系街道核实"]}),
        (resident_body(world.household_a1, birth_date="1990-07-02"),
         {"id_number": ["出生日期与证件号码不一致"]}),
        (resident_body(world.household_a1, name="  "), {"name": ["请填写姓名"]}),
        (resident_body(world.household_a1, mobile="12345"), {"mobile": ["手机号码格式不正确"]}),
        (resident_body(world.household_a1, living_status="away"), {"away_until": ["外出人员须填写预计返回日期"]}),
    ]
    for body, detail in cases:
        response = client.send("POST", "/api/residents", body)
        assert response.status_code == 422, body
        assert response.json()["detail"] == detail
    response = client.send("POST", "/api/households", {"building": world.building_a1.pk, "room": "302"})
    assert response.json()["detail"] == {"room": ["该地址已登记"]}
    rental = {"building": world.building_a1.pk, "room": "9", "is_rental": True}
    response = client.send("POST", "/api/households", rental)
    assert response.json()["detail"] == {"landlord_phone": ["出租房须填写房东联系电话"]}
    response = client.send("PATCH", f"/api/households/{world.household_a1.pk}", {"micro_grid": world.grid_a1.pk})
    assert response.json()["detail"] == {"micro_grid": ["请选择微网格"]}
    # The stored number encodes the birth date and the type: neither changes without a new number,
    # and a date sent is refused without being compared, right or wrong.
    for birth_date in ("1946-03-08", "1946-03-09"):
        response = client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"birth_date": birth_date})
        assert response.status_code == 422
        assert messages(response) == ["出生日期取自证件号码,无需填写;如有误,请重新填写证件号码"]
    response = client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"id_type": "passport"})
    assert response.status_code == 422
    assert "更换证件类型时须填写新的证件号码" in messages(response)
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="identity_elsewhere").count() == 1  # the one told so


def test_schema_errors_are_422_by_field_in_chinese(world):
    client = as_token(world.staff_a1)
    before = snapshot()
    response = client.send("POST", "/api/residents", {})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert set(detail) == {"household", "name", "sex", "id_type", "id_number", "relation"}
    assert detail["name"] == ["此项为必填项"]
    response = client.send("POST", "/api/residents", resident_body(
        world.household_a1, sex="X", birth_date="1990-13-01", tags=["vip"], id_encrypted="x", name="名" * 51,
    ))
    detail = response.json()["detail"]
    assert detail["sex"][0].startswith("不是有效的选项")
    assert detail["birth_date"] == ["日期格式应为 YYYY-MM-DD"]
    assert "tags.0" in detail
    assert detail["id_encrypted"] == ["不支持的字段"]
    assert detail["name"] == ["不能超过 50 个字符"]
    response = client.send("PATCH", f"/api/residents/{world.resident_a1.pk}", {"name": None, "id_type": "passport"})
    assert response.json()["detail"] == {"name": ["不能为空"]}
    response = client.send("POST", "/api/residents", resident_body(world.household_a1, name="张\x00三"))
    assert response.json()["detail"] == {"name": ["不能包含控制字符"]}
    response = client.send("POST", "/api/residents", raw='{"name": "\\ud800"}')
    assert response.status_code == 422 and "name" in response.json()["detail"]
    assert client.send("POST", "/api/residents/search", {"q": "\x00"}).json()["detail"] == {"q": ["不能包含控制字符"]}
    assert client.get("/api/residents", {"limit": 0}).json()["detail"] == {"limit": ["不能小于 1"]}
    assert client.get("/api/residents", {"limit": 201}).json()["detail"] == {"limit": ["不能大于 200"]}
    assert client.get("/api/residents", {"tag": "vip"}).status_code == 422
    assert snapshot() == before


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "99999999999999999999999", "%00", "١٢"])
def test_bad_ids_are_422(world, bad):
    client = as_token(world.staff_a1)
    before = snapshot()
    for method, path in ENDPOINTS:
        if "{" not in path:
            continue
        url = path.format(unit_id=bad, household_id=bad, resident_id=bad)
        response = client.call(method, url, body_for(method, path, world))
        assert response.status_code == 422, (method, url, response.status_code)
        assert set(response.json()["detail"]) <= {"unit_id", "household_id", "resident_id"}
    for params in ({"committee": bad}, {"building": bad}):
        assert client.get("/api/households", params).status_code == 422
    assert snapshot() == before


@pytest.mark.parametrize("raw", ["{bad json", "", "null", "[]", '"text"', "1", "{\"household\": []}", b"\xff\xfe"])
def test_malformed_bodies_are_400_or_422(world, raw):
    client = as_token(world.staff_a1)
    before = snapshot()
    for method, path in WRITES:
        response = client.send(method, url_for(path, world), raw=raw)
        assert response.status_code in (400, 422), (method, path, raw, response.content)
        if response.status_code == 400:
            assert response.json()["detail"] == "请求体不是有效的 JSON"
    assert snapshot() == before


def test_wrong_method_is_405(world):
    client = as_token(world.staff_a1)
    assert client.send("DELETE", f"/api/residents/{world.resident_a1.pk}").status_code == 405
    assert client.send("PUT", "/api/households").status_code == 405


# ---------------------------------------------------------------- fuzz


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


def _resident_fields(household_ids):
    """Each field either plausible or anything at all, so that requests get past the schema
    and into the services as well as failing in it."""
    return {
        "household": st.sampled_from(household_ids) | JSON_SCALARS,
        "name": st.text(max_size=60) | JSON_SCALARS,
        "sex": st.sampled_from(["M", "F"]) | JSON_SCALARS,
        "birth_date": st.dates(dt.date(1890, 1, 1), dt.date(2100, 1, 1)).map(str) | JSON_SCALARS,
        "id_type": st.sampled_from(IdType.values) | JSON_SCALARS,
        "id_number": st.sampled_from([NEW_ID, "H12345678", "E12345678", "810000199001010012"])
        | st.from_regex(r"[0-9X]{18}", fullmatch=True) | st.text(max_size=45),
        "mobile": st.sampled_from(["", "13912345678", "+44 7700 900123"]) | st.text(max_size=25),
        "relation": st.sampled_from(Relation.values) | JSON_SCALARS,
        "living_status": st.sampled_from(LivingStatus.values) | JSON_SCALARS,
        "away_until": st.dates().map(str) | JSON_SCALARS,
        "tags": st.lists(st.sampled_from(Tag.values) | st.text(max_size=5), max_size=12) | JSON_VALUES,
        "language": st.text(max_size=35),
        "skills": st.text(max_size=110),
    }


@st.composite
def identities(draw):
    """A valid resident ID with the birth date and sex it encodes, so that bodies get through."""
    birth = draw(st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)))
    sequence = draw(st.integers(0, 999))
    return {
        "id_type": "resident_id", "id_number": make_resident_id("310110", birth, sequence),
        "birth_date": str(birth), "sex": "M" if sequence % 2 else "F",
    }


def _one_override(fields):
    return st.sampled_from(sorted(fields)).flatmap(lambda name: fields[name].map(lambda value: {name: value}))


def _bodies(w):
    households = [w.household_a1.pk, w.household_a1b.pk, w.household_b1.pk, 999999]
    fields = _resident_fields(households)
    base = {"household": w.household_a1.pk, "name": "模糊", "relation": "other"}
    nearly_valid = st.builds(
        lambda identity, first, second: {**base, **identity, **first, **second},
        identities(), _one_override(fields) | st.just({}), _one_override(fields) | st.just({}),
    )
    return nearly_valid | st.fixed_dictionaries({}, optional=fields) | JSON_VALUES | st.binary(max_size=40)


FUZZ = settings(
    max_examples=100, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_fuzz_resident_search_never_5xx(world, data):
    client = as_token(world.staff_a1)
    params = data.draw(st.dictionaries(
        st.sampled_from(["q", "tag", "status", "limit", "offset", "committee"]) | st.text(max_size=5),
        st.text(max_size=60) | st.integers().map(str) | st.sampled_from(Tag.values + LivingStatus.values),
        max_size=5,
    ))
    response = client.get("/api/residents", params)
    event(f"GET {response.status_code}")
    assert response.status_code < 500
    assert response.status_code in (200, 422)
    assert world.resident_a1.plain_id.encode() not in response.content


@FUZZ
@given(data=st.data())
def test_fuzz_resident_writes_never_5xx(world, data):
    client = as_token(world.staff_a1)
    body = data.draw(_bodies(world), label="body")
    method, url = data.draw(st.sampled_from([
        ("POST", "/api/residents"),
        ("PATCH", f"/api/residents/{world.resident_a1.pk}"),
        ("PATCH", f"/api/residents/{world.resident_b1.pk}"),
    ]), label="endpoint")
    before = snapshot()
    raw = body if isinstance(body, bytes) else json.dumps(body)
    response = client.send(method, url, raw=raw)
    event(f"{method} {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert snapshot() == before
    assert world.resident_a1.plain_id.encode() not in response.content
    sent = body.get("id_number") if isinstance(body, dict) else None
    if isinstance(sent, str) and len(sent) >= 8:
        assert sent.strip().upper().encode() not in response.content


@FUZZ
@given(data=st.data())
def test_fuzz_household_writes_never_5xx(world, data):
    client = as_token(world.staff_a1)
    ids = st.sampled_from([world.building_a1.pk, world.building_b1.pk, world.compound_a1.pk, world.grid_a1.pk,
                           world.micro_a1.pk, 999999]) | JSON_SCALARS
    fields = {
        "building": ids, "room": st.text(max_size=25) | JSON_SCALARS, "is_rental": JSON_SCALARS,
        "landlord_name": st.text(max_size=55), "grid": ids, "micro_grid": ids,
        "landlord_phone": st.sampled_from(["13900000005", "021-12345678", ""]) | st.text(max_size=25),
    }
    nearly_valid = st.builds(
        lambda room, override: {"building": world.building_a1.pk, "room": room, **override},
        st.text(min_size=1, max_size=20), _one_override(fields) | st.just({}),
    )
    body = data.draw(
        nearly_valid | st.fixed_dictionaries({}, optional=fields) | JSON_VALUES | st.binary(max_size=30), label="body"
    )
    method, url = data.draw(st.sampled_from([
        ("POST", "/api/households"),
        ("PATCH", f"/api/households/{world.household_a1.pk}"),
        ("PATCH", f"/api/households/{world.household_b1.pk}"),
    ]), label="endpoint")
    before = snapshot()
    response = client.send(method, url, raw=body if isinstance(body, bytes) else json.dumps(body))
    event(f"{method} {response.status_code}")
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert snapshot() == before


def test_lists_do_not_query_per_row(world, django_assert_max_num_queries):
    from xiuhua.testing import make_resident

    for i in range(30):
        household = Household.objects.create(building=world.building_a1b, room=f"{200 + i}")
        make_resident(household, f"居民{i}", tags=["disabled", "low_income"])
    client = as_token(world.staff_a1)
    # auth (token, last-used), count, page, tags: the same number whatever the page size.
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/residents", {"limit": 50}).json()["items"]) == 32
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/households", {"limit": 50}).json()["items"]) == 32
