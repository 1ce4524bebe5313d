"""The session store (core.sessions): Django's database sessions read by one fixed statement, and
JSON endpoints behind the phone pages that leave an unchanged session unwritten."""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.http import JsonResponse
from django.test import RequestFactory
from django.utils import timezone

from xiuhua.core.resident_phone import SESSION_PHONE, resident_phone_json
from xiuhua.core.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _stored(data: dict, *, expires_in=dt.timedelta(hours=1)) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    key = store.session_key
    assert key is not None
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + expires_in)
    return key


def _proof(phone="13812345678") -> dict:
    return {SESSION_PHONE: {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}}


def test_a_stored_session_reads_back_as_written():
    key = _stored({"a": 1, "b": ["x", "y"]})
    store = SessionStore(session_key=key)
    assert dict(store.items()) == {"a": 1, "b": ["x", "y"]}
    assert store.session_key == key
    assert store.exists(key)


def test_an_expired_or_unknown_session_reads_empty_and_drops_its_key():
    expired = _stored({"a": 1}, expires_in=-dt.timedelta(seconds=1))
    for key in (expired, "x" * 32):
        store = SessionStore(session_key=key)
        assert dict(store.items()) == {}
        assert store.session_key is None


def test_a_malformed_key_reads_empty_without_a_query(django_assert_num_queries):
    store = SessionStore(session_key="short")
    with django_assert_num_queries(0):
        assert dict(store.items()) == {}


def _call(view, key: str):
    request = RequestFactory().post("/x.json", data=b"{}", content_type="application/json")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = key
    return SessionMiddleware(view)(request)


def _expiry(key: str):
    return Session.objects.get(session_key=key).expire_date


@resident_phone_json
def _reads_only(request):
    return JsonResponse({"phone": request.resident_phone})


@resident_phone_json
def _writes(request):
    request.session["seen"] = True
    return JsonResponse({"phone": request.resident_phone})


def test_a_json_endpoint_that_changes_nothing_leaves_the_session_row_as_it_was():
    key = _stored(_proof())
    before = _expiry(key)
    response = _call(_reads_only, key)
    assert (response.status_code, json.loads(response.content)) == (200, {"phone": "13812345678"})
    assert _expiry(key) == before


def test_a_json_endpoint_that_changes_the_session_writes_it_and_slides_its_expiry():
    key = _stored(_proof())
    before = _expiry(key)
    assert _call(_writes, key).status_code == 200
    assert _expiry(key) > before + dt.timedelta(hours=6)  # SESSION_COOKIE_AGE, 8 hours, from now
    assert SessionStore(session_key=key)["seen"] is True


def test_a_page_still_slides_the_expiry_of_an_unchanged_session():
    key = _stored(_proof())
    before = _expiry(key)
    assert _call(lambda request: JsonResponse({"n": len(request.session.items())}), key).status_code == 200
    assert _expiry(key) > before + dt.timedelta(hours=6)


def test_an_expired_proof_is_refused_and_its_removal_is_written():
    proof = {SESSION_PHONE: {"phone": "13812345678", "until": (timezone.now() - dt.timedelta(minutes=1)).isoformat()}}
    key = _stored(proof)
    response = _call(_reads_only, key)
    assert (response.status_code, json.loads(response.content)) == (403, {"detail": "请先验证手机号码"})
    assert SESSION_PHONE not in SessionStore(session_key=key).load()
