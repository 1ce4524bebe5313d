"""Roster export: masked by default, full numbers with reveal_id and a reason; always audited."""

import io
import zipfile

import pytest
from django.urls import reverse

from xiuhua.core.crypto import mask_identity
from xiuhua.core.models import AuditEvent
from xiuhua.residents import roster
from xiuhua.residents.models import RosterExport, RosterImport
from xiuhua.testing import acting, make_resident

from .test_roster_fixtures import HEADERS, import_file, sheet_rows

pytestmark = pytest.mark.django_db


def export(client, user, **data):
    client.force_login(user)
    return client.post(reverse("residents:roster_export"), data)


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(response.content)
    assert rows[0] == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]


def test_a_masked_export_of_the_committee(client, world):
    response = export(client, world.staff_a1)
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "no-store"
    rows = rows_of(response)
    assert sorted(r["姓名"] for r in rows) == ["张秀英", "李建国"]
    by_name = {r["姓名"]: r for r in rows}
    assert by_name["张秀英"]["证件号码"] == world.resident_a1.id_masked
    assert by_name["张秀英"]["出生日期"] == "1946"  # beside a masked number, the year only
    assert by_name["张秀英"]["标签"] == "独居老人" and by_name["张秀英"]["网格"] == "第一网格"
    assert world.resident_a1.plain_id.encode() not in response.content
    event = AuditEvent.objects.get(action="roster_export")
    assert (event.actor, event.personal, event.committee_id) == (world.staff_a1, True, world.committee_a1.pk)
    assert event.detail["rows"] == 2 and event.subject_label == "全部居民" and event.reason == ""


def test_a_full_export_needs_a_reason_and_is_audited_as_such(client, world):
    response = export(client, world.staff_a1, full_ids="on", reason="")
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(personal=True).exists()

    response = export(client, world.staff_a1, full_ids="on", reason="核对疫苗接种名单", tag="elderly_alone")
    rows = rows_of(response)
    assert [(r["姓名"], r["证件号码"]) for r in rows] == [("张秀英", world.resident_a1.plain_id)]
    assert rows[0]["出生日期"].date() == world.resident_a1.birth_date
    event = AuditEvent.objects.get(personal=True)
    assert (event.action, event.reason, event.detail["rows"]) == ("roster_export_full", "核对疫苗接种名单", 1)
    assert event.subject_label == "标签:独居老人"


def test_the_export_filters(client, world):
    officer = world.street_officer
    assert len(rows_of(export(client, officer))) == 3
    assert [r["姓名"] for r in rows_of(export(client, officer, committee=world.committee_a2.pk))] == ["王芳"]
    assert [r["姓名"] for r in rows_of(export(client, officer, building=world.building_a1b.pk))] == ["李建国"]
    assert [r["姓名"] for r in rows_of(export(client, officer, compound=world.compound_a1.pk, q="张"))] == ["张秀英"]
    assert [r["姓名"] for r in rows_of(export(client, officer, tag="pregnant"))] == ["王芳"]
    assert rows_of(export(client, officer, status="away")) == []
    events = AuditEvent.objects.filter(action="roster_export").order_by("pk")
    assert [e.detail["rows"] for e in events] == [3, 1, 1, 1, 1, 0]
    assert events[0].committee_id is None  # the whole street
    assert events[1].committee_id == world.committee_a2.pk and events[1].subject_label == "国和二村居委会"
    assert events[2].committee_id == world.committee_a1.pk


def test_a_searched_number_is_masked_in_the_audit_label(client, world):
    rows = rows_of(export(client, world.staff_a1, q=world.resident_a1.plain_id))
    assert [r["姓名"] for r in rows] == ["张秀英"]
    event = AuditEvent.objects.get(action="roster_export")
    assert world.resident_a1.plain_id not in event.subject_label
    assert mask_identity(world.resident_a1.plain_id) in event.subject_label


def test_another_committees_export_is_not_found_and_not_audited(client, world):
    for unit in ("committee", "compound", "building"):
        target = {"committee": world.committee_b1, "compound": world.compound_b1, "building": world.building_b1}[unit]
        assert export(client, world.staff_a1, **{unit: target.pk}).status_code == 404
    assert export(client, world.staff_a2, committee=world.committee_a1.pk).status_code == 404
    assert not AuditEvent.objects.filter(personal=True).exists()


def test_without_reveal_id_a_full_export_is_forbidden(client, world):
    assert export(client, world.district_officer, full_ids="on", reason="核对").status_code == 403
    assert not AuditEvent.objects.filter(personal=True).exists()
    rows = rows_of(export(client, world.district_officer))
    assert len(rows) == 4 and all("*" in r["证件号码"] for r in rows)


@pytest.mark.parametrize("who", ["grid_worker", "volunteer", "no_role"])
def test_roles_without_export_are_forbidden(client, world, who):
    assert export(client, getattr(world, who)).status_code == 403
    assert not AuditEvent.objects.filter(personal=True).exists()


def test_a_full_export_reimports_as_all_unchanged(client, world):
    make_resident(world.household_a1, "张小明", relation="child", tags=["no_smartphone"])
    response = export(client, world.staff_a1, full_ids="on", reason="备份花名册")
    imp = import_file(acting(world.staff_a1), world.committee_a1, response.content)
    assert (imp.status, imp.count_problem_rows) == (RosterImport.Status.VALIDATED, 0)
    assert (imp.count_new, imp.count_updated, imp.count_unchanged) == (0, 0, 3)


def test_the_export_list_shows_only_ones_own_files(client, world):
    mine = RosterExport.objects.create(requested_by=world.staff_a1, membership=world.staff_a1.memberships.get(),
                                       description="全部居民", status=RosterExport.Status.READY, file_name="x.xlsx")
    client.force_login(world.staff_a2)
    assert reverse("residents:roster_export_download", args=[mine.pk]) not in client.get(
        reverse("residents:roster")).content.decode()
    assert client.get(reverse("residents:roster_export_download", args=[mine.pk])).status_code == 404
    client.force_login(world.staff_a1)
    fragment = client.get(reverse("residents:roster_exports")).content.decode()
    assert reverse("residents:roster_export_download", args=[mine.pk]) in fragment
    assert "hx-trigger" not in fragment
    RosterExport.objects.filter(pk=mine.pk).update(status=RosterExport.Status.PENDING)
    assert 'hx-trigger="every 2s"' in client.get(reverse("residents:roster_exports")).content.decode()


def test_text_that_looks_like_a_formula_is_exported_as_text(client, world):
    make_resident(world.household_a1, "=HYPERLINK(\"http://x\")")
    response = export(client, world.staff_a1)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml")
    assert "=HYPERLINK(\"http://x\")" in [r["姓名"] for r in rows_of(response)]


def test_downloading_a_prepared_export_is_audited(world, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    staff = acting(world.staff_a1)
    queued = roster.roster_export(actor=staff, filters={}, background=True).queued
    assert queued is not None
    export = roster.roster_export_run(export=RosterExport.objects.get(pk=queued.pk))
    roster.roster_export_download(actor=staff, export=export).close()
    event = AuditEvent.objects.get(action="roster_export_download")
    assert (event.actor, event.object_id, event.committee_id, event.subject_label) == (
        world.staff_a1, export.pk, world.committee_a1.pk, "全部居民")
    assert event.detail == {"from": "ready", "to": "downloaded"}
