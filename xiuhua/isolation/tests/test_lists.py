"""The contacts due as a working list: filtered by building on the page, downloaded as Excel with
the same columns (and the blank one to write in) and rows, within the user's scope, audited."""

import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.audit import AuditEvent
from xiuhua.testing import as_user

from .test_pages import cases, overdue_of  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def naive(moment):
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


def test_the_contacts_due_filtered_by_building_download_exactly_their_rows(client, cases):  # noqa: F811
    w = cases["w"]
    as_user(client, w.staff_a1)
    page = client.get(reverse("isolation:home"), {"building": w.building_a1.pk})
    due = overdue_of(cases["grid"])
    assert [c.pk for c in page.context["overdue"]] == [c.pk for c in due]
    body = page.content.decode()
    link = re.search(r'id="due-xlsx" href="([^"]+)"', body)[1].replace("&amp;", "&")
    assert link == f"{reverse('isolation:contacts_due_xlsx')}?building={w.building_a1.pk}"
    response = client.get(link)
    assert response.status_code == 200
    assert "filename*=UTF-8''%E5%9B%BD%E5%92%8C%E4%B8%80%E6%9D%91" in response["Content-Disposition"]  # 国和一村…
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0].startswith(f"{w.committee_a1.name} 待联系人员 ")
    assert values[1][0] == "楼栋:国和一村5号"
    header = ["序号", "姓名", "住址", "应联系时间", "手机号", "体温/情况"]
    assert values[2] == header
    head = body.split('id="overdue"')[1].split("</thead>")[0]
    assert [h for h in re.findall(r"<th[^>]*>([^<]*)</th>", head) if h and h != "勾选"] == header
    assert values[3:] == [
        [1, "周来沪", "国和一村5号302室", naive(due[0].due_at), "13911112222", None],
        [2, "周来沪", "国和一村5号302室", naive(due[1].due_at), "13911112222", None],
    ]
    first = list(sheet.iter_rows(min_row=4, max_row=4))[0]
    assert first[0].data_type == "n" and first[3].is_date and first[3].number_format == "yyyy-mm-dd hh:mm"
    event = AuditEvent.objects.get(action="isolation_contacts_due_export")
    assert (event.actor, event.personal, event.committee_id, event.detail, event.subject_label) == (
        w.staff_a1, True, w.committee_a1.pk, {"rows": 2}, "楼栋:国和一村5号")

    # Unfiltered: the committee's three, due first first; never committee A2's 郑来沪.
    values = [list(r) for r in load_workbook(io.BytesIO(
        client.get(reverse("isolation:contacts_due_xlsx")).content)).active.iter_rows(values_only=True)]
    assert values[1][0] == "全部待联系人员" and [r[1] for r in values[3:]] == ["周来沪", "吴来沪", "周来沪"]
    # Another committee's building is no filter: left out. A grid worker gets their grid only.
    values = [list(r) for r in load_workbook(io.BytesIO(client.get(
        reverse("isolation:contacts_due_xlsx"), {"building": w.building_a2.pk}).content)).active.iter_rows(
        values_only=True)]
    assert values[1][0] == "全部待联系人员" and len(values[3:]) == 3
    as_user(client, w.grid_worker)
    values = [list(r) for r in load_workbook(io.BytesIO(
        client.get(reverse("isolation:contacts_due_xlsx")).content)).active.iter_rows(values_only=True)]
    assert [r[1] for r in values[3:]] == ["周来沪", "周来沪"]
    # A street officer has no contacts-due list to download.
    as_user(client, w.street_officer)
    assert client.get(reverse("isolation:contacts_due_xlsx")).status_code == 403
