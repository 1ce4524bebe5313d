"""Stations under real concurrency on PostgreSQL: threads with their own connections, released
together by a barrier."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.screening.models import SamplingCode, StationBatch, Tube, TubeMember
from xiuhua.screening.services_station import station_batch_apply
from xiuhua.screening.tests.fixtures import build_screening
from xiuhua.testing import acting, as_user, build_world, run_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def code_for(screening, world, n):
    return SamplingCode.objects.create(round=screening.round, reference=f"RACE{n:04d}", committee=world.committee_a1,
                                       building=world.building_a1, walk_in=True, walk_in_name=f"访客{n}",
                                       name_masked=f"访*{n}")


def at():
    return timezone.now().isoformat()


def test_the_same_person_at_two_stations_at_once_lands_in_one_tube():
    world = build_world()
    screening = build_screening(world)
    # Two stations of the round: committee A1's volunteer at site A1, committee A2's staff at site A2.
    stations = [(world.volunteer, screening.site_a1, "TA"), (world.staff_a2, screening.site_a2, "TB")]
    for user, site, barcode in stations:
        station_batch_apply(actor=acting(user), round=screening.round, site=site, key=f"start-{barcode}",
                            events=[{"kind": "tube", "barcode": barcode, "at": at()}])
    codes = [code_for(screening, world, n) for n in range(8)]
    for n, code in enumerate(codes):
        def scan(i, code=code, n=n):
            user, site, barcode = stations[i]
            return station_batch_apply(
                actor=acting(user), round=screening.round, site=site, key=f"race-{n}-{i}",
                events=[{"kind": "person", "tube": barcode, "code": code.reference, "at": at()}])

        answers = run_parallel(scan, 2)
        assert not any(isinstance(a, Exception) for a in answers), answers
        oks = [a["results"][0]["ok"] for a in answers]
        assert sorted(oks) == [False, True], answers
        refused = answers[oks.index(False)]["results"][0]["message"]
        winner = stations[oks.index(True)][2]
        assert refused == f"该居民本轮已采样(试管 {winner}),不能重复采样"
        assert list(TubeMember.objects.filter(code=code).values_list("tube__barcode", flat=True)) == [winner]
    assert TubeMember.objects.count() == 8
    # Each tube's count is what its members say (the capacity held under the tube's lock).
    assert sum(Tube.objects.get(barcode=b).members.count() for b in ("TA", "TB")) == 8


def test_the_same_batch_sent_by_eight_parallel_requests_is_stored_once():
    world = build_world()
    screening = build_screening(world)
    codes = [code_for(screening, world, n) for n in range(12)]
    events = [{"kind": "tube", "barcode": "T1", "line": 1, "at": at()}]
    events += [{"kind": "person", "tube": "T1", "code": c.reference, "at": at()} for c in codes[:10]]
    events += [{"kind": "tube", "barcode": "T2", "line": 1, "at": at()}]
    events += [{"kind": "person", "tube": "T2", "code": c.reference, "at": at()} for c in codes[10:]]
    body = json.dumps({"key": "device-7-batch-000042", "events": events})
    url = reverse("screening:station_batch", args=[screening.site_a1.pk])

    def send(i):
        response = as_user(Client(), world.volunteer).post(url, body, content_type="application/json")
        return response.status_code, response.json()

    answers = run_parallel(send, 8)
    assert not any(isinstance(a, Exception) for a in answers), answers
    assert {status for status, _body in answers} == {200}
    results = [body["results"] for _status, body in answers]
    assert all(r == results[0] for r in results)
    assert [r["ok"] for r in results[0]] == [True] * 14
    assert StationBatch.objects.count() == 1
    assert TubeMember.objects.count() == 12
    assert sorted(Tube.objects.values_list("barcode", "status")) == [("T1", "closed"), ("T2", "open")]
    assert AuditEvent.objects.filter(action="screening_station_batch").count() == 1
    assert AuditEvent.objects.filter(action="screening_tube_close").count() == 1
