"""Past capacity, resident requests are refused at once (503, Retry-After) and change nothing;
staff pages have their own slots; a retry of a refused or an answered reservation makes none twice."""

import threading

import pytest
from django.test import override_settings

from xiuhua.core import admission
from xiuhua.core.models import AuditEvent
from xiuhua.masks import phone_tokens
from xiuhua.masks.models import Reservation

from .test_public_pages import PHONE, committee_url, form_data, login_phone
from .test_resident_api import URL, body, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_resident_lane(settings):
    settings.XIUHUA_RESIDENT_SLOTS = 0  # every resident slot taken


def test_a_full_resident_lane_refuses_the_api_at_once_and_writes_nothing(client, world, masks, full_resident_lane):
    token = phone_tokens.issue(PHONE)
    response = post(client, URL, body(world, masks, world.resident_a1), token)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert int(response["Content-Length"]) == len(response.content)
    assert response.json() == {
        "detail": "当前访问人数过多,您的登记尚未提交,预约资格不会因此失去。请稍后用同一内容重试。"
    }
    assert not Reservation.objects.exists() and not AuditEvent.objects.filter(action="reservation_submit").exists()


def test_a_full_resident_lane_answers_pages_with_the_busy_page_and_the_sms_way(client, world, masks, settings):
    settings.SMS_INBOUND_NUMBER = "10690000"
    login_phone(client, world)
    settings.XIUHUA_RESIDENT_SLOTS = 0
    response = client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1))
    assert response.status_code == 503 and response["Retry-After"] == "2"
    page = response.content.decode()
    assert "您的预约资格不会因此失去" in page
    assert "用手机发短信到 10690000" in page and "口罩 姓名 证件号 小区 楼号 室号" in page
    assert "<script" not in page and "<form" not in page
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert not Reservation.objects.exists()


def test_staff_pages_keep_their_own_slots_while_residents_are_refused(client, world, masks, full_resident_lane):
    client.force_login(world.staff_a1)
    assert client.get("/masks/staff/").status_code in (200, 302)
    assert client.get("/healthz").status_code == 200
    with override_settings(XIUHUA_STAFF_SLOTS=0):
        assert client.get("/masks/staff/").status_code == 503
        assert client.get("/healthz").status_code == 200  # the load balancer's check is never refused


def test_a_retry_after_a_refusal_reserves_once_and_a_repeat_answers_the_same(client, world, masks, settings):
    token = phone_tokens.issue(PHONE)
    data = body(world, masks, world.resident_a1)
    settings.XIUHUA_RESIDENT_SLOTS = 0
    assert post(client, URL, data, token).status_code == 503
    settings.XIUHUA_RESIDENT_SLOTS = 8
    first = post(client, URL, data, token)
    again = post(client, URL, data, token)  # the answer was lost: the client sends the same again
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["number"] == first.json()["number"] and again.json()["created"] is False
    assert Reservation.objects.count() == 1


def test_the_gate_admits_up_to_its_slots_across_threads(settings):
    settings.XIUHUA_RESIDENT_SLOTS = 3
    gate = admission.Gate("XIUHUA_RESIDENT_SLOTS")
    results: list[bool] = []
    lock = threading.Lock()

    def enter():
        admitted = gate.enter()
        with lock:
            results.append(admitted)

    threads = [threading.Thread(target=enter) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True] * 3
    for _ in range(3):
        gate.leave()
    assert gate.in_progress == 0 and gate.enter()


def test_lanes_follow_the_settings_prefixes(settings):
    lanes = settings.XIUHUA_ADMISSION_LANES
    assert admission.lane_of("/masks/api/reservations", lanes) == admission.Lane("resident", "json")
    assert admission.lane_of("/masks/c/310000000001/reserve/", lanes).name == "resident"
    assert admission.lane_of("/masks/staff/rounds/", lanes).name == "staff"
    assert admission.lane_of("/help/d/abc/", lanes).name == "resident"
    assert admission.lane_of("/residents/", lanes).name == "staff"
    assert admission.lane_of("/healthz", lanes).name == "open"


def test_refusals_are_not_logged_as_errors(client, world, masks, full_resident_lane, caplog):
    token = phone_tokens.issue(PHONE)
    with caplog.at_level("WARNING", logger="django.request"):
        assert post(client, URL, body(world, masks, world.resident_a1), token).status_code == 503
    assert [r for r in caplog.records if r.name == "django.request"] == []
