"""The worklist and the triage queue as working lists: filtered on the page, downloaded as Excel
with the same columns and rows, within the user's scope, and audited."""

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.audit import AuditEvent
from xiuhua.testing import acting, as_user
from xiuhua.tracing import services
from xiuhua.tracing.models import ListEntry

from .test_pages import csv_bytes, import_list, later_today, stranger_id, this_morning

pytestmark = pytest.mark.django_db


def sheet_of(response):
    """(title, filters, header, rows, the first data row's cells) of a download."""
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    cells = list(sheet.iter_rows(min_row=4, max_row=4))
    return values[0][0], values[1][0], values[2], values[3:], (cells[0] if cells else [])


def page_header(body: str, table_id: str) -> list[str]:
    head = body.split(f'id="{table_id}"')[1].split("</thead>")[0]
    return [h for h in re.findall(r"<th[^>]*>([^<]*)</th>", head) if h and h != "勾选"]


def naive(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def two_lists(world):
    """List 1: 张秀英 and 李建国 (A1), 王芳 (A2), a stranger (street A's triage). List 2, an hour
    later: another stranger, assigned to A1 by the street. Street B's own list: a stranger in
    its triage."""
    w = world
    first = import_list(w, csv_bytes(
        f"张秀英,{w.resident_a1.plain_id},13812345678,国和一村5号302室,",
        "李建国,,13812340000,,",
        "王芳,,,杨浦区国和二村12号楼201室,",
        f"陌生人,{stranger_id()},13900009999,外省某地,",
    ))
    second = import_list(w, csv_bytes(f"周航,{stranger_id(2)},13900002222,外地,"),
                         received_at=later_today(1), reference="通信大数据 第2批")
    services.entries_assign(actor=acting(w.street_officer), entry_ids=[second.entries.get().pk], to=w.committee_a1)
    elsewhere = services.batch_import(
        actor=acting(w.street_officer_b), street=w.street_b, source="telecom", reference="五角场清单",
        received_at=this_morning(), data=csv_bytes(f"外人,{stranger_id(3)},13900003333,外地,"), filename="b.csv",
    )
    return w, first, second, elsewhere


def test_the_worklist_filtered_by_list_downloads_exactly_its_rows(client, two_lists):
    w, first, second, _elsewhere = two_lists
    as_user(client, w.staff_a1)
    page = client.get(reverse("tracing:home"), {"batch": first.pk})
    entries = {e.name: e for e in ListEntry.objects.filter(batch=first)}
    assert [e.pk for e in page.context["worklist"]] == [entries["张秀英"].pk, entries["李建国"].pk]
    body = page.content.decode()
    link = re.search(r'id="worklist-xlsx" href="([^"]+)"', body)[1].replace("&amp;", "&")
    assert link == f"{reverse('tracing:worklist_xlsx')}?batch={first.pk}"

    title, filters, header, rows, cells = sheet_of(client.get(link))
    assert title.startswith(f"{w.committee_a1.name} 待落实人员 ")
    assert filters == f"清单:通信大数据 第1批({timezone.localtime(first.received_at):%m-%d %H:%M})"
    assert header == [
        "序号", "姓名", "手机号", "清单地址", "花名册住址", "清单其他信息", "匹配方式", "清单", "清单到达时间"]
    assert page_header(body, "worklist") == header
    arrived = naive(first.received_at)
    assert rows == [
        [1, "张秀英", "13812345678", "国和一村5号302室", "国和一村5号302室", None, "证件号码 · 可信度100",
         "通信大数据 第1批", arrived],
        [2, "李建国", "13812340000", None, "国和一村6号101室", None, "手机号 · 可信度80", "通信大数据 第1批", arrived],
    ]
    assert cells[0].data_type == "n" and cells[8].is_date and cells[8].number_format == "yyyy-mm-dd hh:mm"
    event = AuditEvent.objects.get(action="tracing_worklist_export")
    assert (event.actor, event.personal, event.committee_id, event.detail, event.subject_label) == (
        w.staff_a1, True, w.committee_a1.pk, {"rows": 2}, filters)

    # Unfiltered: both lists, oldest first, and nothing of committee A2 (王芳) or of the triage.
    _t, filters, _h, rows, _c = sheet_of(client.get(reverse("tracing:worklist_xlsx")))
    assert filters == "全部待落实人员"
    assert [r[:2] for r in rows] == [[1, "张秀英"], [2, "李建国"], [3, "周航"]]
    # Another committee's list is no filter here: left out, as on the page.
    as_user(client, w.staff_a2)
    _t, filters, _h, rows, _c = sheet_of(client.get(reverse("tracing:worklist_xlsx"), {"batch": second.pk}))
    assert filters == "全部待落实人员" and [r[1] for r in rows] == ["王芳"]


def test_the_triage_queue_filtered_by_list_downloads_exactly_its_rows(client, two_lists):
    w, first, second, elsewhere = two_lists
    stranger = ListEntry.objects.get(batch=first, name="陌生人")
    as_user(client, w.street_officer)
    import_list(w, csv_bytes(f"晚到,{stranger_id(4)},,外地,"), reference="通信大数据 第3批",
                       received_at=later_today(2))
    page = client.get(reverse("tracing:triage"), {"batch": first.pk})
    assert [e.pk for e, _f in page.context["rows"]] == [stranger.pk]
    body = page.content.decode()
    assert '<td class="seq" data-label="序号">1</td>' in body
    link = re.search(r'id="triage-xlsx" href="([^"]+)"', body)[1].replace("&amp;", "&")
    title, filters, header, rows, cells = sheet_of(client.get(link))
    assert title.startswith(f"{w.street_a.name} 待分派人员 ")
    assert filters == f"清单:通信大数据 第1批({timezone.localtime(first.received_at):%m-%d %H:%M})"
    assert header == ["序号", "姓名", "状态", "手机号", "证件号码", "清单地址", "匹配说明", "清单其他信息", "清单",
                      "清单到达时间"]
    assert page_header(body, "triage") == header
    assert rows == [[1, "陌生人", "待街道分派", "13900009999", stranger.person.id_masked, "外省某地",
                     "地址未能对应到花名册中的住户", None, "通信大数据 第1批 · 第5行", naive(first.received_at)]]
    assert stranger_id() not in str(rows)  # the number only masked, as on the page
    assert cells[0].data_type == "n" and cells[9].is_date
    event = AuditEvent.objects.get(action="tracing_triage_export")
    assert (event.actor, event.personal, event.committee_id, event.detail) == (
        w.street_officer, True, None, {"rows": 1})
    # The whole queue: street A's own, never street B's.
    _t, _f, _h, rows, _c = sheet_of(client.get(reverse("tracing:triage_xlsx")))
    assert [r[1] for r in rows] == ["陌生人", "晚到"]
    assert not ListEntry.objects.filter(batch=elsewhere, name__in=[r[1] for r in rows]).exists()
