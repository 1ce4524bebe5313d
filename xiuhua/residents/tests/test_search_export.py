"""The resident search results as a working list: numbered, printed, and downloaded as Excel with
the page's columns and rows only, through the same governed lookup as the search, audited."""

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from xiuhua.core.audit import AuditEvent
from xiuhua.core.lookups import LIMITS, lookup_throttle
from xiuhua.testing import acting, as_user

pytestmark = pytest.mark.django_db

HEADER = ["序号", "姓名", "性别", "出生日期", "证件号码", "手机号", "地址", "标签", "状态"]


def sheet_values(response):
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="resident-search-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    return sheet, [list(r) for r in sheet.iter_rows(values_only=True)]


def test_a_tail_search_downloads_exactly_the_rows_the_page_shows_through_an_audited_lookup(client, world):
    w = world
    as_user(client, w.staff_a1)
    page = client.post(reverse("residents:search"), {"q": "5678"})  # the end of 张秀英's mobile
    assert list(page.context["page"]) == [w.resident_a1]
    body = page.content.decode()
    assert '<td class="seq" data-label="序号">1</td>' in body
    head = body.split('id="result-table"')[1].split("</thead>")[0]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", head) == HEADER
    note = re.search(r'<p class="print-note">([^<]+)</p>', body)[1]
    assert note.startswith(f"{w.committee_a1.name} · 打印于 ")
    assert note.endswith(" · 筛选:查询:按证件号码或手机号尾号查询")
    export = re.search(r'<form method="post" action="([^"]+)" id="search-xlsx".*?</form>', body, re.S)
    assert export[1] == reverse("residents:search_xlsx") and 'name="q" value="5678"' in export[0]

    lookups = AuditEvent.objects.filter(action="personal_lookup").count()
    sheet, values = sheet_values(client.post(reverse("residents:search_xlsx"), {"q": "5678", "tag": "", "status": ""}))
    assert values[0][0].startswith(f"{w.committee_a1.name} 居民查询结果 ")
    assert values[1][0] == "查询:按证件号码或手机号尾号查询"  # the key's kind, never the key
    assert values[2] == HEADER
    r = w.resident_a1
    assert values[3:] == [
        [1, "张秀英", "女", "1946", r.id_masked, "13812345678", "国和一村5号302室", "独居老人", "在住"]]
    assert r.plain_id not in str(values) and sheet["A4"].data_type == "n"
    # The export ran the search again as a lookup: audited and counted like the search.
    assert AuditEvent.objects.filter(action="personal_lookup").count() == lookups + 1
    lookup = AuditEvent.objects.filter(action="personal_lookup").latest("pk")
    assert (lookup.actor, lookup.detail["key"], lookup.detail["hits"]) == (w.staff_a1, "tail", 1)
    event = AuditEvent.objects.get(action="resident_search_export")
    assert (event.actor, event.personal, event.committee_id, event.subject_label, event.detail) == (
        w.staff_a1, True, w.committee_a1.pk, "查询:按证件号码或手机号尾号查询",
        {"rows": 1, "key": "tail", "tag": "", "status": ""})
    assert "5678" not in str(event.detail) + event.subject_label


def test_a_filter_search_downloads_the_users_scope_only(client, world):
    w = world
    as_user(client, w.staff_a1)
    page = client.post(reverse("residents:search"), {"status": "here"})
    shown = [x.name for x in page.context["page"]]
    _sheet, values = sheet_values(client.post(reverse("residents:search_xlsx"), {"status": "here"}))
    assert values[1][0] == "居住状态:在住"
    assert [v[1] for v in values[3:]] == shown and set(shown) == {"张秀英", "李建国"}  # not 王芳 (A2), not 赵强 (B1)
    assert [v[0] for v in values[3:]] == [1, 2]
    # A name query is written as typed.
    _sheet, values = sheet_values(client.post(reverse("residents:search_xlsx"), {"q": "王芳"}))
    assert values[1][0] == "查询:王芳" and values[3:] == []


def test_the_export_is_refused_without_the_right_or_past_the_lookup_limits(client, world):
    w = world
    # A grid worker may search but not export: 403, nothing looked up or written.
    before = AuditEvent.objects.count()
    as_user(client, w.grid_worker)
    assert client.post(reverse("residents:search_xlsx"), {"q": "5678"}).status_code == 403
    assert AuditEvent.objects.count() == before
    # Nothing asked: nothing exported.
    as_user(client, w.staff_a1)
    response = client.post(reverse("residents:search_xlsx"), {"q": ""})
    assert response.status_code == 400 and "请先输入查询条件" in response.content.decode()
    assert client.get(reverse("residents:search_xlsx")).status_code == 405
    # Past the lookup limit the export finds nothing and no file leaves.
    ten_minutes = next(rule for rule in LIMITS if rule.scope == "actor" and rule.window == 600)
    for _ in range(ten_minutes.limit):
        lookup_throttle(actor=acting(w.staff_a1), purpose="resident_search")
    response = client.post(reverse("residents:search_xlsx"), {"q": "5678"})
    assert response.status_code == 429 and "查询过于频繁" in response.content.decode()
    assert not response.has_header("Content-Disposition")
    assert not AuditEvent.objects.filter(action="resident_search_export").exists()
