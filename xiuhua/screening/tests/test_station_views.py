"""The station's pages and JSON endpoints: authorisation matrix, bad bodies, exact answers."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xiuhua.screening.models import SamplingCode, StationBatch, Tube, TubeMember
from xiuhua.testing import as_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    """The batch answer's counts are cached per site for a few seconds; ids repeat across tests."""
    from django.core.cache import cache

    cache.clear()


def urls(screening):
    site = screening.site_a1.pk
    return {
        "station_index": reverse("screening:station_index"),
        "station_sw": reverse("screening:station_sw"),
        "station": reverse("screening:station", args=[site]),
        "station_batch": reverse("screening:station_batch", args=[site]),
        "station_counts": reverse("screening:station_counts", args=[site]),
        "station_lead": reverse("screening:station_lead", args=[site]),
    }


NEEDS = {
    "station_index": "view_screening",
    "station_sw": "public",
    "station": "collect_samples",
    "station_batch": "collect_samples",
    "station_counts": "view_screening",
    "station_lead": "view_screening",
}
# Users with a membership but without what the page needs: 403.
LACKING = {
    "view_screening": ("pharmacy", "sysadmin", "nobody"),
    "collect_samples": ("grid_a1", "district", "pharmacy", "sysadmin", "nobody"),
}


def test_every_url_is_in_the_matrix(screening):
    from xiuhua.screening.urls_station import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(screening)) == set(NEEDS)


def batch_body(events, key="station-key-0001"):
    return json.dumps({"key": key, "events": events})


def tube_event(barcode="T1"):
    return {"kind": "tube", "barcode": barcode, "line": 1, "at": timezone.now().isoformat()}


def test_the_denied_are_refused_and_nothing_is_written(world, screening):
    from xiuhua.accounts.models import User

    for name, url in urls(screening).items():
        need = NEEDS[name]
        if need == "public":
            continue
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], name
        for username in LACKING[need]:
            client = as_user(Client(), User.objects.get(username=username))
            assert client.get(url).status_code in (403, 405), (name, username)
            assert client.post(url, batch_body([tube_event()]), content_type="application/json").status_code in (
                403, 405), (name, username)
    assert not Tube.objects.exists() and not StationBatch.objects.exists()


def test_another_committees_site_is_one_404(world, screening):
    client = as_user(Client(), world.volunteer)
    for site in (screening.site_a2, screening.site_b1):
        for name in ("station", "station_counts", "station_lead"):
            assert client.get(reverse(f"screening:{name}", args=[site.pk])).status_code == 404
        answer = client.post(reverse("screening:station_batch", args=[site.pk]), batch_body([tube_event()]),
                             content_type="application/json")
        assert answer.status_code == 404
    assert client.get(reverse("screening:station", args=[999999])).status_code == 404
    assert not Tube.objects.exists()


def test_a_batch_over_http_and_its_resend(world, screening):
    code = SamplingCode.objects.create(round=screening.round, reference="K7M2P9Q4", committee=world.committee_a1,
                                       building=world.building_a1, household=world.household_a1,
                                       resident=world.resident_a1, name_masked="张*英", room="302")
    client = as_user(Client(enforce_csrf_checks=True), world.volunteer)
    page = client.get(reverse("screening:station", args=[screening.site_a1.pk]))
    assert page.status_code == 200
    token = str(page.context["csrf_token"])
    url = reverse("screening:station_batch", args=[screening.site_a1.pk])
    events = [tube_event(), {"kind": "person", "tube": "T1", "code": " k7m2p9q4 ", "at": timezone.now().isoformat()}]
    assert client.post(url, batch_body(events), content_type="application/json").status_code == 403  # no token
    first = client.post(url, batch_body(events), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert first.status_code == 200
    body = first.json()
    assert [r["ok"] for r in body["results"]] == [True, True]
    assert body["results"][1]["name"] == "张*英" and body["results"][1]["building"] == "国和一村5号"
    assert body["counts"]["people"] == 1 and body["counts"]["tubes_open"] == 1
    again = client.post(url, batch_body(events), content_type="application/json", HTTP_X_CSRFTOKEN=token).json()
    assert again["results"] == body["results"]
    assert TubeMember.objects.get().code == code


@pytest.mark.parametrize(("body", "status", "detail"), [
    ("{not json", 400, "请求体不是有效的 JSON"),
    ("[1, 2]", 400, "请求体应为 JSON 对象,包含批次编号 key 和扫码记录 events"),
    ('{"key": "k", "events": {}}', 400, "请求体应为 JSON 对象,包含批次编号 key 和扫码记录 events"),
    ('{"key": "短", "events": []}', 422, "批次编号无效"),
    ("[" * 50 + "]" * 50, 400, "请求体嵌套层数过多"),
    ('{"key": "kkkkkkkk", "events": [' + ",".join(["{}"] * 501) + "]}", 400, "一批最多 500 条扫码记录"),
    ('{"key": "kkkkkkkk", "pad": "' + "x" * 300_000 + '", "events": []}', 413, "请求内容过大"),
])
def test_bad_bodies_get_a_chinese_answer_and_change_nothing(world, screening, body, status, detail):
    client = as_user(Client(), world.volunteer)
    answer = client.post(reverse("screening:station_batch", args=[screening.site_a1.pk]), body,
                         content_type="application/json")
    assert (answer.status_code, answer.json()) == (status, {"detail": detail})
    assert not StationBatch.objects.exists()


def test_the_station_page_and_the_service_worker(world, screening):
    client = as_user(Client(), world.volunteer)
    response = client.get(reverse("screening:station", args=[screening.site_a1.pk]))
    page = response.content.decode()
    assert 'id="station-input"' in page and "国和一村广场" in page
    # The camera's decoder is WebAssembly: this page, and only this one, may compile it.
    assert "script-src 'self' 'wasm-unsafe-eval'" in response["Content-Security-Policy"]
    assert 'data-wasm-url="/static/xiuhua/vendor/zxing-wasm/zxing_reader.wasm"' in page
    assert "wasm" not in client.get(reverse("screening:station_index"))["Content-Security-Policy"]
    assert 'data-sw-url="/screening/station/sw.js"' in page
    sw = Client().get(reverse("screening:station_sw"))
    assert sw.status_code == 200 and sw["Content-Type"].startswith("text/javascript")
    assert b"addEventListener(\"fetch\"" in sw.content
    index = client.get(reverse("screening:station_index")).content.decode()
    assert reverse("screening:station", args=[screening.site_a1.pk]) in index
    assert reverse("screening:station", args=[screening.site_a2.pk]) not in index


def test_the_site_lead_reads_the_counts(world, screening):
    client = as_user(Client(), world.staff_a1)
    counts = client.get(reverse("screening:station_counts", args=[screening.site_a1.pk])).json()
    assert counts["lines"] == [{"line": n, "last_10": 0, "last_60": 0} for n in (1, 2, 3)]
    assert counts["people"] == 0


def test_the_site_lead_page_shows_each_line_beside_its_rate(world, screening):
    from xiuhua.screening.services_station import station_batch_apply
    from xiuhua.testing import acting

    codes = [SamplingCode.objects.create(round=screening.round, reference=f"LEAD{n:04d}", committee=world.committee_a1,
                                         building=world.building_a1, walk_in=True, name_masked=f"访*{n}")
             for n in range(3)]
    events = [{"kind": "tube", "barcode": "T1", "line": 2, "at": timezone.now().isoformat()}]
    events += [{"kind": "person", "tube": "T1", "code": c.reference, "at": timezone.now().isoformat()} for c in codes]
    station_batch_apply(actor=acting(world.volunteer), round=screening.round, site=screening.site_a1,
                        key="lead-test-0001", events=events)
    client = as_user(Client(), world.staff_a1)  # the committee runs its site
    page = client.get(reverse("screening:station_lead", args=[screening.site_a1.pk]))
    assert page.status_code == 200
    rows = [[cell.strip() for cell in row] for row in re.findall(
        r"<tr>\s*<td>([^<]*)</td>\s*<td>(\d+)</td><td>(\d+)</td><td>([^<]*)</td>", page.content.decode())]
    assert rows == [["1 号台", "0", "0", "200"], ["2 号台", "3", "3", "200"], ["3 号台", "0", "0", "200"]]
    fragment = client.get(reverse("screening:station_lead", args=[screening.site_a1.pk]), HTTP_HX_REQUEST="true")
    assert fragment.content.decode().startswith('<div id="lead-counts"')
