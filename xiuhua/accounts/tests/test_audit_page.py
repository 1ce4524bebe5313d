"""The audit page names roles, kinds of events and lookups' purposes in words, never by code."""

import re

from django.urls import reverse

from xiuhua.core.audit import audit
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting


def test_the_audit_page_shows_labels_not_codes(client, world):
    staff = acting(world.staff_a1)
    audit(actor=staff, action="reveal_id", obj=world.resident_a1, committee_id=world.committee_a1.pk,
          subject_label="张**", reason="核对身份", personal=True)
    audit(actor=staff, action="roster_export", committee_id=world.committee_a1.pk, subject_label="国和一村居委会",
          reason="上报街道", personal=True)
    audit(actor=staff, action="personal_lookup", committee_id=world.committee_a1.pk, reason="resident_search",
          personal=True, detail={"key": "phone", "purpose": "resident_search", "hits": 1})
    assert AuditEvent.objects.filter(personal=True).count() == 3
    client.force_login(world.street_officer)
    body = client.get(reverse("accounts:audit")).content.decode()
    table = body[body.index("<tbody>"):body.index("</tbody>")]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]
    rows = [cells[i:i + 7][1:] for i in range(0, len(cells), 7)]
    assert rows == [
        ["staff_a1", "居委会工作人员", "按个人信息查询", "", "国和一村居委会", "居民查询"],
        ["staff_a1", "居委会工作人员", "导出花名册(证件号遮蔽)", "国和一村居委会", "国和一村居委会", "上报街道"],
        ["staff_a1", "居委会工作人员", "查看完整证件号", "张**", "国和一村居委会", "核对身份"],
    ]
    for code in ("committee_staff", "reveal_id", "roster_export", "personal_lookup", "resident_search"):
        assert code not in table
