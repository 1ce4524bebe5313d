"""The same member reported by parallel requests lands once (PostgreSQL, real parallel requests
through the JSON endpoint, released together by a barrier)."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xiuhua.antigen.models import AntigenReport
from xiuhua.core.models import AuditEvent
from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.screening.models import Review
from xiuhua.screening.tests.fixtures import build_screening
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import build_world, run_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def phone_client(phone: str) -> Client:
    client = Client(enforce_csrf_checks=False)
    session = client.session
    session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}
    session.save()
    return client


def test_the_same_member_reported_by_parallel_requests_lands_once():
    world = build_world()
    member = world.resident_a1.pk
    clients = [phone_client("13812345678") for _ in range(8)]
    body = json.dumps({"reports": [{"member": member, "result": "negative"}]})

    def send(i):
        return clients[i].post(reverse("antigen:my_report_json"), body, content_type="application/json")

    answers = run_parallel(send, 8)
    assert [a.status_code for a in answers] == [200] * 8, answers
    assert sorted(a.json()["new"] for a in answers) == [0] * 7 + [1]
    assert AntigenReport.objects.filter(resident_id=member).count() == 1
    assert AuditEvent.objects.filter(action="antigen_report").count() == 1


def test_a_positive_reported_twice_at_once_alerts_and_opens_one_review():
    world = build_world()
    world.staff_a1.mobile = "13700009999"
    world.staff_a1.save(update_fields=["mobile"])
    build_screening(world)
    member = world.resident_a1.pk
    clients = [phone_client("13812345678") for _ in range(6)]
    body = json.dumps({"reports": [{"member": member, "result": "positive"}]})
    answers = run_parallel(lambda i: clients[i].post(reverse("antigen:my_report_json"), body,
                                                     content_type="application/json"), 6)
    assert [a.status_code for a in answers] == [200] * 6
    assert AntigenReport.objects.get(resident_id=member).result == "positive"
    assert Review.objects.filter(source="antigen").count() == 1
    assert OutboundSms.objects.filter(template="XH_ANTIGEN_POSITIVE").count() == 1
