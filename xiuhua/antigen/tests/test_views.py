"""Antigen pages: the authorisation matrix, the household's phone page and its JSON endpoint, the
staff entry with a photo, the not-reported list and its audited Excel download, the follow-up."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.antigen.models import AntigenReport, ReminderSetting
from xiuhua.core.models import AuditEvent
from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.testing import as_user

from .conftest import png_bytes

pytestmark = pytest.mark.django_db


def snapshot():
    return (sorted(AntigenReport.objects.values_list("resident_id", "result")),
            list(ReminderSetting.objects.values_list("committee_id", "hour")), AuditEvent.objects.count())


def staff_urls(w, report):
    return {
        "antigen:coverage": (reverse("antigen:coverage"), "view_antigen"),
        "antigen:not_reported": (reverse("antigen:not_reported"), "view_antigen"),
        "antigen:not_reported_xlsx": (reverse("antigen:not_reported_xlsx"), "view_antigen"),
        "antigen:photo": (reverse("antigen:photo", args=[report.pk]), "view_antigen"),
        "antigen:building": (reverse("antigen:building", args=[w.building_a1.pk]), "record_antigen"),
        "antigen:record": (reverse("antigen:record", args=[w.building_a1.pk]), "record_antigen"),
        "antigen:positives": (reverse("antigen:positives"), "confirm_antigen"),
        "antigen:arrange": (reverse("antigen:arrange", args=[report.pk]), "confirm_antigen"),
        "antigen:confirm": (reverse("antigen:confirm", args=[report.pk]), "confirm_antigen"),
        "antigen:reminder": (reverse("antigen:reminder"), "confirm_antigen"),
    }


PUBLIC = {"antigen:my_start", "antigen:my_otp_send", "antigen:my_verify", "antigen:my_logout"}
PHONE = {"antigen:my_report", "antigen:my_report_json"}


@pytest.fixture
def report(family):
    from xiuhua.antigen.services import antigen_report_household

    antigen_report_household(phone="13812345678", reports=[(family.grandson_a1.pk, "positive")])
    return AntigenReport.objects.get()


def test_every_url_is_in_the_matrix(family, report):
    from django.urls import get_resolver

    names = {f"antigen:{name}" for name in get_resolver("xiuhua.antigen.urls").reverse_dict if isinstance(name, str)}
    assert names == set(staff_urls(family, report)) | PUBLIC | PHONE


@pytest.mark.parametrize("role_user", ["volunteer", "pharmacy_clerk", "sysadmin", "no_role"])
def test_roles_without_the_capability_are_refused_and_nothing_is_written(client, family, report, role_user):
    as_user(client, getattr(family, role_user))
    before = snapshot()
    for _name, (url, _cap) in staff_urls(family, report).items():
        for method in (client.get, client.post):
            assert method(url).status_code == 403, url
    assert snapshot() == before


def test_the_street_sees_but_neither_records_nor_follows_up(client, family, report):
    as_user(client, family.street_officer)
    before = snapshot()
    for _name, (url, cap) in staff_urls(family, report).items():
        if cap != "view_antigen":
            assert client.post(url, {"resident": family.resident_a1.pk, "result": "negative"}).status_code == 403
    assert client.get(reverse("antigen:coverage")).status_code == 200
    assert snapshot() == before


def test_another_committees_rows_are_the_same_404_as_missing_ones(client, family, report):
    as_user(client, family.staff_b1)
    before = snapshot()
    for url in (reverse("antigen:photo", args=[report.pk]), reverse("antigen:building", args=[family.building_a1.pk]),
                reverse("antigen:building", args=[999999])):
        assert client.get(url).status_code == 404
    for url in (reverse("antigen:arrange", args=[report.pk]), reverse("antigen:confirm", args=[report.pk])):
        client.post(url)
    assert client.post(reverse("antigen:record", args=[family.building_a1.pk]),
                       {"resident": family.resident_a1.pk, "result": "negative"}).status_code == 404
    assert snapshot() == before
    assert AntigenReport.objects.get().confirmed_at is None


def _verified(client, phone="13812345678"):
    session = client.session
    session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}
    session.save()


def test_the_phone_page_and_its_json_endpoint(client, family):
    w = family
    unverified = client.get(reverse("antigen:my_report"))  # not verified: a link to the phone form
    assert unverified.status_code == 403 and reverse("antigen:my_start") in unverified.content.decode()
    assert client.post(reverse("antigen:my_report_json"), "{}", content_type="application/json").status_code == 403
    _verified(client)
    page = client.get(reverse("antigen:my_report")).content.decode()
    assert "张**" in page and "张*" in page and "张秀英" not in page
    assert '已上报 <span id="done-count">0</span> / 3 人' in page
    answer = client.get(reverse("antigen:my_report_json")).json()
    assert [(m["name"], m["relation"], m["result"]) for m in answer["members"]] == [
        ("张**", "户主", ""), ("张*", "子女", ""), ("张**", "孙子女/外孙子女", "")]
    body = {"reports": [{"member": w.resident_a1.pk, "result": "negative"},
                        {"member": w.son_a1.pk, "result": "negative"}]}
    answer = client.post(reverse("antigen:my_report_json"), body, content_type="application/json").json()
    assert answer == {"new": 2, "replaced": 0, "unchanged": 0, "positive": False,
                      "results": {str(w.resident_a1.pk): "negative", str(w.son_a1.pk): "negative"}}
    before = snapshot()
    for bad, status in (({"reports": [{"member": w.resident_b1.pk, "result": "negative"}]}, 422),
                        ({"reports": [{"member": w.grandson_a1.pk, "result": "弱阳"}]}, 422),
                        ({"reports": "x"}, 422), ("[[[[[[", 400)):
        response = client.post(reverse("antigen:my_report_json"), bad, content_type="application/json")
        assert response.status_code == status, bad
    assert snapshot() == before
    # The form fallback (no JavaScript), with a photo of the cassette.
    response = client.post(reverse("antigen:my_report"), {
        "member": w.grandson_a1.pk, "result": "invalid",
        "photo": SimpleUploadedFile("c.png", png_bytes(), content_type="image/png")})
    assert response.status_code == 302
    grandson = AntigenReport.objects.get(resident=w.grandson_a1)
    assert (grandson.result, grandson.channel, bool(grandson.photo)) == ("invalid", "phone", True)


def test_staff_record_with_a_photo_and_see_the_list_fall(client, family):
    w = family
    as_user(client, w.grid_worker)
    listed = client.get(reverse("antigen:not_reported")).content.decode()
    assert "3 人未上报" in listed and "张**" in listed and "李**" not in listed  # 6号 is outside the grid
    response = client.post(reverse("antigen:record", args=[w.building_a1.pk]), {
        "resident": w.grandson_a1.pk, "result": "negative",
        "photo": SimpleUploadedFile("c.png", png_bytes(), content_type="image/png")})
    assert response.status_code == 302
    assert "2 人未上报" in client.get(reverse("antigen:not_reported")).content.decode()
    report = AntigenReport.objects.get()
    assert (report.channel, report.reported_by, bool(report.photo)) == ("staff", w.grid_worker, True)
    photo = client.get(reverse("antigen:photo", args=[report.pk]))
    assert photo["Content-Type"] == "image/jpeg" and photo["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(action="antigen_photo_view").count() == 1
    refused = client.post(reverse("antigen:record", args=[w.building_a1.pk]), {
        "resident": w.son_a1.pk, "result": "negative",
        "photo": SimpleUploadedFile("c.jpg", b"nope", content_type="image/jpeg")}, follow=True)
    assert "无法识别该照片,请上传JPG或PNG照片" in refused.content.decode()
    assert AntigenReport.objects.count() == 1


def test_the_not_reported_download_is_the_pages_list_and_is_audited(client, family):
    as_user(client, family.staff_a1)
    response = client.get(reverse("antigen:not_reported_xlsx") + f"?building={family.building_a1.pk}")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    header = rows.index(["序号", "楼栋", "室号", "姓名", "联系手机", "上门情况"])
    assert [r[1:5] for r in rows[header + 1:]] == [
        ["国和一村5号", "302", "张**", "13812345678"], ["国和一村5号", "302", "张*", "13912340001"],
        ["国和一村5号", "302", "张**", None]]
    event = AuditEvent.objects.get(action="antigen_not_reported_export")
    assert (event.personal, event.detail["rows"], event.subject_label) == (True, 3, "国和一村5号")


def test_the_committee_follows_up_a_positive_and_sets_the_reminder(client, family, report):
    as_user(client, family.staff_a1)
    page = client.get(reverse("antigen:positives")).content.decode()
    assert f'id="positive-{report.pk}"' in page and "安排核酸复核" in page
    home = client.get(reverse("home")).content.decode()
    assert "抗原阳性待跟进 1 人" in home
    refused = client.post(reverse("antigen:arrange", args=[report.pk]), follow=True).content.decode()
    assert "街道目前没有采样中的核酸筛查轮次" in refused
    client.post(reverse("antigen:confirm", args=[report.pk]))
    report.refresh_from_db()
    assert report.confirmed_by == family.staff_a1
    assert f'id="positive-{report.pk}"' not in client.get(reverse("antigen:positives")).content.decode()
    assert client.post(reverse("antigen:reminder"), {"hour": "25"}).status_code == 400
    assert not ReminderSetting.objects.exists()
    client.post(reverse("antigen:reminder"), {"hour": "19"})
    assert ReminderSetting.objects.get().hour == 19


def test_the_grid_workers_first_page_counts_todays_not_reported_in_their_grid(client, family):
    as_user(client, family.grid_worker)
    assert "今日抗原未上报 3 人" in client.get(reverse("home")).content.decode()
    as_user(client, family.staff_a1)
    home = client.get(reverse("home")).content.decode()
    assert "抗原阳性待跟进" not in home and "今日抗原未上报" not in home  # staff: positives only, none yet
