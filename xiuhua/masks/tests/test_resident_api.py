"""The residents' JSON API: code, token, reservations; bad input answers clearly and writes nothing."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.idnumbers import IdType
from xiuhua.core.models import AuditEvent
from xiuhua.masks import phone_tokens, services
from xiuhua.masks.models import Reservation, ReservationStatus
from xiuhua.masks.services.reservations import PHONE_ROUND_LIMIT
from xiuhua.testing import acting

from .fixtures import new_household, unknown_id
from .test_public_pages import PHONE, last_code

pytestmark = pytest.mark.django_db

URL = "/masks/api/reservations"
# Every operation of the resident API; all are in the one spec at /api/openapi.json.
RESIDENT_PUBLIC_ENDPOINTS = [("POST", "/masks/api/code"), ("POST", "/masks/api/token")]
RESIDENT_ENDPOINTS = [*RESIDENT_PUBLIC_ENDPOINTS, ("GET", URL), ("POST", URL)]


def post(client, url, data, token=None, **extra):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return client.post(url, body, content_type="application/json", headers=headers, **extra)


def body(world, masks, resident=None, **overrides):
    data = {
        "round": masks.round.pk,
        "committee": world.committee_a1.code,
        "name": resident.name if resident else "陈路人",
        "id_type": IdType.RESIDENT_ID,
        "id_number": resident.plain_id if resident else unknown_id(),
    }
    return data | overrides


def test_urls_are_where_the_docs_say():
    assert reverse("masks:public_api_reservations") == URL
    assert reverse("masks:public_api_code") == "/masks/api/code"
    assert reverse("masks:public_api_token") == "/masks/api/token"


def test_the_spec_documents_the_resident_api_where_it_is_served(client):
    spec = client.get("/api/openapi.json").json()
    listed = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert set(RESIDENT_ENDPOINTS) <= listed
    assert spec["components"]["securitySchemes"]["ResidentTokenAuth"] == {"type": "http", "scheme": "bearer"}
    for method, path in RESIDENT_ENDPOINTS:
        operation = spec["paths"][path][method.lower()]
        expected = [] if (method, path) in RESIDENT_PUBLIC_ENDPOINTS else [{"ResidentTokenAuth": []}]
        assert operation.get("security", []) == expected, (method, path)
    reservation = spec["components"]["schemas"]["ReservationIn"]
    assert reservation["required"] == ["round"]
    assert reservation["properties"]["name"]["maxLength"] == 50


def test_errors_have_the_api_shape_and_unknown_methods_are_405(client, world, masks):
    token = phone_tokens.issue(PHONE)
    response = client.get(URL, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="xiuhua-resident"'
    assert response.json() == {"detail": "请先验证手机号码"}
    assert client.get("/masks/api/code").status_code == 405
    assert client.delete(URL, headers={"Authorization": f"Bearer {token}"}).status_code == 405
    # Every field's own message at once, as the staff API answers.
    response = post(client, URL, body(world, masks, round=0, name=7), token)
    assert response.status_code == 422
    assert response.json() == {"detail": {"round": ["请填写整数"], "name": ["请填写文本"]}}


def test_code_then_token_then_reserve_then_list(client, world, masks):
    response = post(client, "/masks/api/code", {"committee": world.committee_a1.code, "phone": PHONE})
    assert response.status_code == 202, response.content
    response = post(client, "/masks/api/token", {"phone": PHONE, "code": last_code(PHONE)})
    assert response.status_code == 200
    token = response.json()["token"]
    assert phone_tokens.phone_of(token) == PHONE

    response = post(client, URL, body(world, masks, world.resident_a1), token)
    assert response.status_code == 201, response.content
    created = response.json()
    r = Reservation.objects.get()
    assert created == {
        "number": r.number,
        "round": masks.round.pk,
        "status": "queued",
        "status_label": "排队中",
        "order_at": timezone.localtime(r.order_at).isoformat(),
        "created": True,
    }
    assert (r.phone, r.channel, r.household, r.phone_slot) == (PHONE, "online", world.household_a1, 1)
    assert AuditEvent.objects.filter(action="reservation_submit", object_id=r.pk).count() == 1

    # The same again (a retry on a bad connection): the same reservation, 200, nothing new.
    again = post(client, URL, body(world, masks, world.resident_a1), token)
    assert again.status_code == 200 and again.json()["number"] == r.number and again.json()["created"] is False
    assert Reservation.objects.count() == 1

    services.stock_delivery_record(
        actor=acting(world.pharmacy_clerk), round=masks.round, pharmacy=masks.pharmacy_a, quantity=5,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
    )
    listed = client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    [item] = listed.json()["reservations"]
    assert item["number"] == r.number and item["status"] == "issued" and item["status_label"] == "已发凭证"
    assert item["pharmacy"] == {"name": "国和药房", "address": "国和路1号"}
    assert item["voucher"]["masks"] == 5 and item["voucher"]["status"] == "issued"
    assert len(item["voucher"]["number"]) == 16  # 13 characters in groups of four


@pytest.mark.postgres
def test_roster_resident_reserves_in_one_statement(client, world, masks):
    token = phone_tokens.issue(PHONE)
    with CaptureQueriesContext(connection) as queries:
        response = post(client, URL, body(world, masks, world.resident_a1), token)
    assert response.status_code == 201
    assert len(queries) == 1


def test_unknown_person_with_an_address_waits_for_verification(client, world, masks):
    token = phone_tokens.issue(PHONE)
    data = body(world, masks, compound=world.compound_a1.pk, building="5号楼", room="1801")
    response = post(client, URL, data, token)
    assert response.status_code == 202, response.content
    # The same answer for every entry that waits, whatever the reason: no number, no time.
    assert response.json() == {
        "status": "verifying",
        "detail": "已收到登记,需居委会核实后生效。请稍后用本手机号查询核实结果,如有疑问请联系居委会。",
    }
    r = Reservation.objects.get()
    assert (r.status, r.household, r.address_text) == (ReservationStatus.VERIFYING, None, "国和一村5号1801室")


def test_other_phone_holding_the_person_is_409_without_the_number(client, world, masks):
    first = post(client, URL, body(world, masks, world.resident_a1), phone_tokens.issue(PHONE))
    assert first.status_code == 201
    response = post(client, URL, body(world, masks, world.resident_a1), phone_tokens.issue("13900009999"))
    assert response.status_code == 409
    assert first.json()["number"] not in response.content.decode()
    assert Reservation.objects.count() == 1


def test_per_phone_limit(client, world, masks):
    token = phone_tokens.issue(PHONE)
    for i in range(PHONE_ROUND_LIMIT):
        assert post(client, URL, body(world, masks, new_household(world, name=f"家{i}")), token).status_code == 201
    response = post(client, URL, body(world, masks, new_household(world, name="再一户")), token)
    assert response.status_code == 422
    limit = f"同一手机号本轮最多预约{PHONE_ROUND_LIMIT}人,如需帮助请联系居委会"
    assert response.json() == {"detail": {"__all__": [limit]}}
    assert Reservation.objects.count() == PHONE_ROUND_LIMIT


@pytest.mark.parametrize(
    "change, status, detail",
    [
        ({"id_number": "310110198005170012"}, 422, {"id_number": ["证件号码校验位不正确,请核对"]}),
        ({"round": 999999}, 404, "未找到该预约轮次"),
        ({"round": "7"}, 422, {"round": ["请填写整数"]}),
        ({"committee": "999999999999"}, 422, {"committee": ["未找到该居委会"]}),
        ({"name": ["张三"]}, 422, {"name": ["请填写文本"]}),
        ({"name": "张" * 51}, 422, {"name": ["不能超过 50 个字符"]}),
        ({"compound": 1, "building": "99号", "room": "1"}, 422, None),
    ],
)
def test_bad_input_is_refused_clearly_and_writes_nothing(client, world, masks, change, status, detail):
    events = AuditEvent.objects.count()
    response = post(client, URL, body(world, masks, world.resident_a1b) | change, phone_tokens.issue(PHONE))
    assert response.status_code == status, response.content
    if detail is not None:
        assert response.json() == {"detail": detail}
    else:
        assert set(response.json()["detail"]) <= {"compound", "building", "room"}
    assert Reservation.objects.count() == 0 and AuditEvent.objects.count() == events


def test_unknown_person_without_an_address_is_asked_for_it(client, world, masks):
    response = post(client, URL, body(world, masks), phone_tokens.issue(PHONE))
    assert response.status_code == 422
    assert response.json() == {"detail": {"address_text": ["请填写小区、楼号和室号"]}}
    assert Reservation.objects.count() == 0


def test_closed_round_is_refused(client, world, masks):
    services.round_close(actor=acting(world.district_officer), round=masks.round)
    response = post(client, URL, body(world, masks, world.resident_a1), phone_tokens.issue(PHONE))
    assert response.status_code == 422
    assert response.json() == {"detail": {"__all__": ["本轮预约已截止"]}}
    assert Reservation.objects.count() == 0


@pytest.mark.parametrize(
    "raw, status, detail",
    [
        (b"{not json", 400, "请求体不是有效的 JSON"),
        (b"[1, 2]", 400, "请求体须为 JSON 对象"),
        (b'{"name": "' + b"x" * 5000 + b'"}', 413, "请求内容过大"),
    ],
)
def test_malformed_bodies(client, world, masks, raw, status, detail):
    response = post(client, URL, raw, phone_tokens.issue(PHONE))
    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert Reservation.objects.count() == 0


def test_expired_token_is_401(client, world, masks, monkeypatch):
    token = phone_tokens.issue(PHONE)
    monkeypatch.setattr(phone_tokens, "VALID_FOR", -phone_tokens.VALID_FOR)  # issued "31 minutes ago"
    response = post(client, URL, body(world, masks, world.resident_a1), token)
    assert response.status_code == 401
    assert Reservation.objects.count() == 0


def test_wrong_code_gives_no_token(client, world, masks):
    post(client, "/masks/api/code", {"committee": world.committee_a1.code, "phone": PHONE})
    wrong = "000000" if last_code(PHONE) != "000000" else "111111"
    response = post(client, "/masks/api/token", {"phone": PHONE, "code": wrong})
    assert response.status_code == 422
    assert "token" not in response.json() and "验证码错误" in response.json()["detail"]["code"][0]


def test_code_requests_are_rate_limited(client, world, masks):
    data = {"committee": world.committee_a1.code, "phone": PHONE}
    assert post(client, "/masks/api/code", data).status_code == 202
    again = post(client, "/masks/api/code", data)
    assert again.status_code == 429 and int(again["Retry-After"]) > 0
    assert post(client, "/masks/api/code", data | {"phone": "12345"}).status_code == 422
