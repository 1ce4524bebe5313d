"""Large imports and exports go through the task worker (django-tasks, database backend)."""

import io
import signal
import stat

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Resident, RosterExport, RosterImport
from xiuhua.testing import acting

from .test_roster_fixtures import import_file, new_id, person, sheet_rows, upload, xlsx

Status = RosterImport.Status


@pytest.fixture
def worker():
    """Runs the real worker until the queue is empty, as `manage.py db_worker` does."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}

    def run() -> None:
        call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO())

    yield run
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.django_db(transaction=True)
@override_settings(ROSTER_INLINE_MAX_ROWS=0)
def test_a_large_import_is_validated_and_committed_by_the_worker(client, world, worker):
    client.force_login(world.staff_a1)
    rows = [person(姓名=f"后台{n}", 室号=str(100 + n), 证件号码=new_id()) for n in range(30)]
    response = client.post(reverse("residents:roster_upload"), {"file": upload(xlsx(rows))})
    imp = RosterImport.objects.get()
    assert response["Location"] == reverse("residents:roster_import", args=[imp.pk])
    assert (imp.status, imp.rows_total, imp.payload_kind) == (Status.UPLOADED, 30, "file")
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert not any(n["证件号码"] in str(DBTaskResult.objects.values_list("args_kwargs")) for n in rows)
    fragment = client.get(reverse("residents:roster_import_progress", args=[imp.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "0 / 30" in fragment

    worker()
    imp.refresh_from_db()
    assert (imp.status, imp.count_new, imp.rows_done, imp.payload_kind) == (Status.VALIDATED, 30, 30, "rows")
    assert not Resident.objects.filter(name__startswith="后台").exists()

    client.post(reverse("residents:roster_import_commit", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == Status.COMMITTING
    assert "正在写入 30 行" in client.get(reverse("residents:roster_import_progress", args=[imp.pk])).content.decode()
    worker()
    imp.refresh_from_db()
    assert (imp.status, imp.payload) == (Status.COMMITTED, "")
    assert Resident.objects.filter(name__startswith="后台", committee=world.committee_a1).count() == 30
    event = AuditEvent.objects.get(action="roster_import_commit")
    assert (event.actor, event.actor_role, event.detail["new"]) == (world.staff_a1, "committee_staff", 30)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.django_db(transaction=True)
@override_settings(ROSTER_INLINE_MAX_ROWS=0)
def test_the_worker_refuses_a_commit_when_the_user_lost_the_right(world, worker):
    staff = acting(world.staff_a1)
    imp = import_file(staff, world.committee_a1, xlsx([person()]), background=False)
    from xiuhua.residents import roster

    imp = roster.roster_import_commit(actor=staff, roster_import=imp, background=True)
    world.staff_a1.memberships.update(active=False)
    worker()
    imp.refresh_from_db()
    assert (imp.status, imp.error, imp.payload) == (Status.FAILED, "没有导入权限", "")
    assert not Resident.objects.filter(name="陈新").exists()


@pytest.mark.django_db(transaction=True)
def test_a_large_export_is_made_by_the_worker_and_downloaded_once(client, world, worker, tmp_path):
    with override_settings(ROSTER_EXPORT_INLINE_MAX_ROWS=1, VAR_DIR=tmp_path):
        client.force_login(world.staff_a1)
        response = client.post(reverse("residents:roster_export"), {"full_ids": "on", "reason": "核对名单"})
        assert response.status_code == 302
        export = RosterExport.objects.get()
        assert (export.status, export.requested_by, export.full_ids) == ("pending", world.staff_a1, True)
        assert not AuditEvent.objects.filter(personal=True).exists()
        assert 'hx-trigger="every 2s"' in client.get(reverse("residents:roster")).content.decode()

        worker()
        export.refresh_from_db()
        assert (export.status, export.row_count) == ("ready", 2)
        path = tmp_path / "exports" / export.file_name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        event = AuditEvent.objects.get(personal=True)
        assert (event.action, event.reason, event.detail["rows"], event.object_id) == (
            "roster_export_full", "核对名单", 2, export.pk)
        page = client.get(reverse("residents:roster")).content.decode()
        link = reverse("residents:roster_export_download", args=[export.pk])
        assert link in page

        client.force_login(world.staff_a2)
        assert client.get(link).status_code == 404
        client.force_login(world.street_officer)
        assert client.get(link).status_code == 404
        assert path.exists()

        client.force_login(world.staff_a1)
        download = client.get(link)
        assert download.status_code == 200 and download["Cache-Control"] == "no-store"
        rows = sheet_rows(b"".join(download.streaming_content))
        assert sorted(r[3] for r in rows[1:]) == ["张秀英", "李建国"]
        assert world.resident_a1.plain_id in [r[7] for r in rows[1:]]
        assert not path.exists()
        export.refresh_from_db()
        assert (export.status, export.file_name) == ("downloaded", "")
        again = client.get(link)
        assert again.status_code == 302
        assert "已下载过" in client.get(again["Location"]).content.decode()


@pytest.mark.django_db
@override_settings(ROSTER_INLINE_MAX_ROWS=0,
                   TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}})
def test_with_the_immediate_backend_the_task_runs_at_commit(world, django_capture_on_commit_callbacks):
    staff = acting(world.staff_a1)
    with django_capture_on_commit_callbacks(execute=True):
        imp = import_file(staff, world.committee_a1, xlsx([person()]))
    imp.refresh_from_db()
    assert imp.status == Status.VALIDATED and imp.count_new == 1
