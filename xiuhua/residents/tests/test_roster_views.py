"""Roster pages: authorisation matrix, upload, preview, progress, commit."""

import io
import re

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse
from openpyxl import load_workbook

from xiuhua.core.crypto import mask_identity
from xiuhua.core.idnumbers import check_id
from xiuhua.residents import roster
from xiuhua.residents.models import Resident, RosterImport
from xiuhua.testing import acting

from .test_roster_fixtures import HEADERS, import_file, new_id, person, row_for, snapshot, upload, xlsx

pytestmark = pytest.mark.django_db
Status = RosterImport.Status


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def imported(world):
    """A validated import of committee A1, not yet committed."""
    return import_file(acting(world.staff_a1), world.committee_a1, xlsx([person()]))


def test_the_roster_page_of_committee_staff(client, world, imported):
    page = login(client, world.staff_a1).get(reverse("residents:roster"))
    assert page.status_code == 200
    text = page.content.decode()
    for part in ("下载模板", "上传并校验", "最近导入", "导出花名册", "导出完整证件号", imported.filename):
        assert part in text
    assert 'name="committee"' not in text.split('id="export-form"')[0]  # one committee: no choice


def test_a_street_officer_picks_one_of_their_committees(client, world):
    text = login(client, world.street_officer).get(reverse("residents:roster")).content.decode()
    assert "国和一村居委会" in text and "国和二村居委会" in text and "政立路居委会" not in text
    before = snapshot()
    response = client.post(reverse("residents:roster_upload"), {
        "committee": world.committee_b1.pk, "file": upload(xlsx([person()])),
    })
    assert response.status_code == 400
    assert snapshot() == before
    response = client.post(reverse("residents:roster_upload"), {
        "committee": world.committee_a2.pk, "file": upload(xlsx([person(小区="国和二村", 楼栋="12号")])),
    })
    imp = RosterImport.objects.get()
    assert response.status_code == 302 and imp.committee == world.committee_a2


def test_a_district_officer_sees_export_but_not_import(client, world):
    text = login(client, world.district_officer).get(reverse("residents:roster")).content.decode()
    assert "导出花名册" in text and "上传并校验" not in text and "导出完整证件号" not in text
    assert client.get(reverse("residents:roster_template")).status_code == 403
    before = snapshot()
    response = client.post(reverse("residents:roster_upload"), {"file": upload(xlsx([person()]))})
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("who", ["volunteer", "pharmacy_clerk", "no_role"])
def test_people_without_the_roster_see_nothing(client, world, imported, who):
    login(client, getattr(world, who))
    assert client.get(reverse("residents:roster")).status_code == 403
    assert client.get(reverse("residents:roster_import", args=[imported.pk])).status_code == 403


def test_the_template_download(client, world):
    response = login(client, world.staff_a1).get(reverse("residents:roster_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet, notes = workbook.worksheets
    rows = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    assert list(rows[0]) == HEADERS
    example = dict(zip(HEADERS, rows[1], strict=True))
    assert (example["小区"], example["楼栋"]) == ("国和一村", "5号")  # a real place of the committee
    assert example["姓名"].startswith("示例")
    assert check_id("resident_id", example["证件号码"])
    assert notes.title == "填写说明"
    assert "居民身份证" in str(list(notes.values))
    before = snapshot()
    # The template as downloaded has only its example row: nothing to import.
    page = client.post(reverse("residents:roster_upload"), {"file": upload(response.content, "模板.xlsx")})
    assert page.status_code == 400 and "表格中没有数据行" in page.content.decode()
    assert snapshot() == before


def test_the_filled_template_imports(client, world):
    content = login(client, world.staff_a1).get(reverse("residents:roster_template")).content
    workbook = load_workbook(io.BytesIO(content))
    row = person(姓名="模板填写")
    workbook.worksheets[0].append([row.get(h, "") for h in HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = client.post(reverse("residents:roster_upload"), {"file": upload(buffer.getvalue())})
    imp = RosterImport.objects.get()
    assert response.status_code == 302 and (imp.count_new, imp.count_problem_rows) == (1, 0)


def test_upload_preview_commit_and_search(client, world):
    login(client, world.staff_a1)
    response = client.post(reverse("residents:roster_upload"), {
        "file": upload(xlsx([person(姓名="页面导入"), person(室号="", 姓名="缺室号")])),
    })
    imp = RosterImport.objects.get()
    assert response["Location"] == reverse("residents:roster_import", args=[imp.pk])
    page = client.get(response["Location"]).content.decode()
    assert "有 1 行存在问题" in page and "请填写室号" in page and "确认导入" not in page
    assert 'hx-trigger="every 1s"' not in page

    client.post(reverse("residents:roster_upload"), {"file": upload(xlsx([person(姓名="页面导入")]))})
    imp = RosterImport.objects.latest("pk")
    page = client.get(reverse("residents:roster_import", args=[imp.pk])).content.decode()
    assert 'id="count-new">1<' in page and "确认导入" in page
    response = client.post(reverse("residents:roster_import_commit", args=[imp.pk]))
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.status == Status.COMMITTED
    assert "已导入" in client.get(response["Location"]).content.decode()
    results = client.post(reverse("residents:search"), {"q": "页面导入"}).content.decode()
    assert "页面导入" in results


def test_committing_an_import_with_problems_is_refused(client, world):
    imp = import_file(acting(world.staff_a1), world.committee_a1, xlsx([person(姓名="")]))
    before = snapshot()
    response = login(client, world.staff_a1).post(reverse("residents:roster_import_commit", args=[imp.pk]))
    assert response.status_code == 302
    assert "1 行存在问题" in client.get(response["Location"]).content.decode()
    assert snapshot() == before


def test_a_malformed_upload_shows_the_message_and_writes_nothing(client, world):
    before = snapshot()
    response = login(client, world.staff_a1).post(reverse("residents:roster_upload"), {
        "file": upload(b"PK\x03\x04 broken", "花名册.xlsx"),
    })
    assert response.status_code == 400
    assert "无法读取该文件" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("who", ["staff_a2", "staff_b1", "street_officer_b"])
def test_another_committees_import_is_not_found_and_nothing_is_written(client, world, imported, who):
    login(client, getattr(world, who))
    before = snapshot()
    for name in ("roster_import", "roster_import_progress"):
        assert client.get(reverse(f"residents:{name}", args=[imported.pk])).status_code == 404
    for name in ("roster_import_commit", "roster_import_discard"):
        assert client.post(reverse(f"residents:{name}", args=[imported.pk])).status_code == 404
    assert snapshot() == before
    imported.refresh_from_db()
    assert imported.status == Status.VALIDATED
    assert imported.filename not in client.get(reverse("residents:roster")).content.decode()


def test_a_grid_worker_is_forbidden_and_nothing_is_written(client, world, imported):
    login(client, world.grid_worker)
    before = snapshot()
    assert client.get(reverse("residents:roster_import", args=[imported.pk])).status_code == 403
    assert client.post(reverse("residents:roster_import_commit", args=[imported.pk])).status_code == 403
    assert client.post(reverse("residents:roster_upload"), {"file": upload(xlsx([person()]))}).status_code == 403
    assert snapshot() == before


def test_the_street_officer_sees_and_commits_the_committees_import(client, world, imported):
    login(client, world.street_officer)
    assert client.get(reverse("residents:roster_import", args=[imported.pk])).status_code == 200
    client.post(reverse("residents:roster_import_commit", args=[imported.pk]))
    assert Resident.objects.filter(name="陈新", committee=world.committee_a1).exists()


def test_upload_and_commit_need_post(client, world, imported):
    login(client, world.staff_a1)
    assert client.get(reverse("residents:roster_upload")).status_code == 405
    assert client.get(reverse("residents:roster_import_commit", args=[imported.pk])).status_code == 405


def test_the_progress_fragment_polls_until_the_import_is_done(client, world, imported):
    login(client, world.staff_a1)
    RosterImport.objects.filter(pk=imported.pk).update(status=Status.VALIDATING, rows_done=400, rows_total=1000)
    fragment = client.get(reverse("residents:roster_import_progress", args=[imported.pk]),
                          HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment
    assert reverse("residents:roster_import_progress", args=[imported.pk]) in fragment
    assert 'value="400"' in fragment and "400 / 1000" in fragment
    assert "<html" not in fragment
    RosterImport.objects.filter(pk=imported.pk).update(status=Status.COMMITTING)
    progress = reverse("residents:roster_import_progress", args=[imported.pk])
    assert "正在写入 1000 行" in client.get(progress).content.decode()
    RosterImport.objects.filter(pk=imported.pk).update(status=Status.VALIDATED, rows_done=1, rows_total=1)
    fragment = client.get(reverse("residents:roster_import_progress", args=[imported.pk])).content.decode()
    assert "hx-trigger" not in fragment and "确认导入" in fragment


def test_discarding_an_import(client, world, imported):
    login(client, world.staff_a1)
    response = client.post(reverse("residents:roster_import_discard", args=[imported.pk]))
    assert response.status_code == 302
    imported.refresh_from_db()
    assert (imported.status, imported.payload) == (Status.DISCARDED, "")
    assert not Resident.objects.filter(name="陈新").exists()
    listed = client.get(reverse("residents:roster")).content.decode()
    assert "<td data-label=\"状态\">已放弃</td>" in listed and ">失败<" not in listed
    page = client.get(reverse("residents:roster_import", args=[imported.pk])).content.decode()
    assert "已放弃该导入,未写入任何数据。" in page and 'id="import-error"' not in page


@override_settings(ROSTER_EXPORT_INLINE_MAX_ROWS=123)
def test_the_page_shows_the_settings_and_labels_with_their_values(client, world, imported):
    text = login(client, world.staff_a1).get(reverse("residents:roster")).content.decode()
    assert "超过 123 人的导出在后台生成" in text
    assert "居委会:<b>国和一村居委会</b>" in text
    page = client.get(reverse("residents:roster_import", args=[imported.pk])).content.decode()
    assert f"花名册导入:{imported.filename}" in page


def test_problems_are_shown_in_the_viewers_language(client, world):
    """Problems are found while the uploader reads Chinese and kept as codes and values: a viewer
    in English reads them in English, the column headers and allowed values included."""
    number = new_id()
    imp = import_file(acting(world.staff_a1), world.committee_a1, xlsx([
        person(小区="无此小区"),
        person(姓名="", 室号="502"),
        person(室号="503", 与户主关系="邻居"),
        person(室号="504", 证件号码=number[:-1] + ("1" if number[-1] != "1" else "2")),
        person(室号="505", 证件号码=number), person(姓名="重复", 室号="506", 证件号码=number),
    ]))
    login(client, world.staff_a1)
    chinese = client.get(reverse("residents:roster_import", args=[imp.pk])).content.decode()
    assert "<td data-label=\"列\">小区</td><td data-label=\"问题\">本居委会没有名为“无此小区”的小区</td>" in chinese
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("residents:roster_import", args=[imp.pk])).content.decode()
    rows = re.findall(r'<tr class="row-problem"><td data-label="Row">(\d+)</td><td data-label="Column">([^<]*)'
                      r'</td><td data-label="Problems">([^<]*)</td></tr>', page)
    relations = "Householder、Spouse、Child、Parent、Grandparent、Grandchild、Sibling、Tenant、Other"
    assert rows == [
        ("2", "Compound", "This residents&#x27; committee has no compound named “无此小区”"),
        ("3", "Name", "Name is required"),
        ("4", "Relation to householder", f"Unknown relation to householder “邻居”; allowed: {relations}"),
        ("5", "ID number", "The ID number&#x27;s check digit is wrong; please check the number"),
        ("7", "ID number", f"Same ID number as row 6 ({mask_identity(number)})"),
    ]


def test_the_preview_shows_additions_changes_old_to_new_and_households_without_one_head(client, world):
    new_number = new_id()
    imp = import_file(acting(world.staff_a1), world.committee_a1, xlsx([
        row_for(world.resident_a1, 手机号="13900000009", 标签="独居老人、残疾"),  # changes
        row_for(world.resident_a1b),  # as it is
        person(姓名="陈新", 室号="501", 证件号码=new_number),  # a new head of a new household
        person(姓名="陈二", 室号="501"),  # a second head of that household
        person(姓名="陈三", 室号="502", 与户主关系="配偶"),  # a household with no head
    ]))
    assert imp.committable and imp.preview
    login(client, world.staff_a1)
    html = client.get(reverse("residents:roster_import", args=[imp.pk])).content.decode()
    new_rows = re.findall(r"<tr><td data-label=\"行号\">(\d+)</td><td data-label=\"姓名\">([^<]*)</td>"
                          r"<td data-label=\"证件号码\">([^<]*)</td><td data-label=\"与户主关系\">([^<]*)</td>"
                          r"<td data-label=\"地址\">([^<]*)</td></tr>", html)
    assert new_rows[0] == ("4", "陈新", mask_identity(new_number), "户主", "国和一村5号501室")
    assert [r[:2] for r in new_rows] == [("4", "陈新"), ("5", "陈二"), ("6", "陈三")]
    assert new_number not in html
    changed = re.search(r'<table class="responsive" id="preview-changed">(.*?)</table>', html, re.S).group(1)
    assert "<td data-label=\"姓名\">张秀英</td>" in changed
    assert re.findall(r"<li>([^<]*):<del>([^<]*)</del> → <ins>([^<]*)</ins></li>", changed) == [
        ("手机号", "13812345678", "13900000009"), ("标签", "独居老人", "独居老人、残疾"),
    ]
    assert "另有 1 人与现有花名册一致,不作改动。" in html
    warnings = re.search(r'<div class="card warning" id="head-warnings" role="alert">(.*?)</div>', html, re.S).group(1)
    assert re.findall(r"<li>([^<]*)</li>", warnings) == [
        "国和一村5号502室:没有户主 (第 6 行)", "国和一村5号501室:有 2 位户主 (第 4、5 行)",
    ]
    assert 'id="commit-button"' in html  # a warning, not a problem
    roster.roster_import_commit(actor=acting(world.staff_a1), roster_import=imp)
    imp.refresh_from_db()
    assert (imp.status, imp.payload, imp.preview) == (Status.COMMITTED, "", "")


def test_moving_the_head_out_warns_of_the_household_left_without_one(client, world):
    imp = import_file(acting(world.staff_a1), world.committee_a1, xlsx([row_for(world.resident_a1, 室号="601")]))
    html = login(client, world.staff_a1).get(reverse("residents:roster_import", args=[imp.pk])).content.decode()
    assert "<li>地址:<del>国和一村5号302室</del> → <ins>国和一村5号601室</ins></li>" in html
    assert "<li>国和一村5号302室:没有户主</li>" in html


def test_a_discarded_import_loses_its_preview(world):
    imp = import_file(acting(world.staff_a1), world.committee_a1, xlsx([person()]))
    assert imp.preview
    imp = roster.roster_import_discard(actor=acting(world.staff_a1), roster_import=imp)
    assert imp.preview == ""
