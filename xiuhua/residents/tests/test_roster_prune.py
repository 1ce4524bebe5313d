"""manage.py prune_rosters: expired import data and export files are deleted, stuck imports failed."""

import datetime as dt
import io
import os
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from xiuhua.core.models import AuditEvent
from xiuhua.residents import roster, tasks
from xiuhua.residents.models import RosterExport, RosterImport
from xiuhua.testing import acting

from .test_roster_fixtures import import_file, new_id, person, xlsx

Status = RosterImport.Status
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def staff(world):
    return acting(world.staff_a1)


def new_import(staff, world, **kwargs) -> RosterImport:
    return import_file(staff, world.committee_a1, xlsx([person(证件号码=new_id())]), **kwargs)


def later(delta: dt.timedelta) -> dt.datetime:
    return timezone.now() + delta


@pytest.mark.django_db
def test_imports_not_committed_within_7_days_lose_their_data(world, staff):
    validated = new_import(staff, world)
    uploaded = new_import(staff, world, background=True)  # its task never ran
    committed = roster.roster_import_commit(actor=staff, roster_import=new_import(staff, world))
    discarded = roster.roster_import_discard(actor=staff, roster_import=new_import(staff, world))
    assert validated.payload_kind == "rows" and uploaded.payload_kind == "file"

    assert roster.roster_prune(now=later(6 * DAY)).imports_expired == 0
    assert roster.roster_prune(now=later(8 * DAY)).imports_expired == 2
    for imp in (validated, uploaded):
        imp.refresh_from_db()
        assert (imp.status, imp.payload, imp.payload_kind) == (Status.FAILED, "", "")
        assert imp.error == "超过7天未确认导入,已删除上传的数据,请重新上传"
    committed.refresh_from_db()
    discarded.refresh_from_db()
    # Finished imports (committed, discarded) hold no data and are left as they are.
    assert (committed.status, discarded.status) == (Status.COMMITTED, Status.DISCARDED)
    events = AuditEvent.objects.filter(action="roster_import_expire")
    assert sorted(events.values_list("object_id", flat=True)) == sorted([validated.pk, uploaded.pk])
    assert {(e.actor, e.committee_id) for e in events} == {(None, world.committee_a1.pk)}
    with pytest.raises(ValidationError):
        roster.roster_import_commit(actor=staff, roster_import=validated)
    assert roster.roster_prune(now=later(8 * DAY)).imports_expired == 0


@pytest.mark.django_db
def test_imports_stuck_for_2_hours_are_failed_unless_their_task_waits_or_runs(world, staff):
    def stuck(status: str) -> RosterImport:
        imp = new_import(staff, world)
        RosterImport.objects.filter(pk=imp.pk).update(status=status)
        return imp

    validating, committing = stuck(Status.VALIDATING), stuck(Status.COMMITTING)
    queued, running, running_long = stuck(Status.VALIDATING), stuck(Status.COMMITTING), stuck(Status.COMMITTING)
    tasks.roster_import_validate_task.enqueue(queued.pk)  # the worker is behind: it will run
    for imp, started in ((running, later(2 * HOUR)), (running_long, timezone.now())):
        result = tasks.roster_import_commit_task.enqueue(imp.pk, None, None)
        DBTaskResult.objects.filter(pk=result.id).update(status="RUNNING", started_at=started)

    assert roster.roster_prune(now=later(HOUR)).imports_failed == 0
    assert roster.roster_prune(now=later(3 * HOUR)).imports_failed == 3
    for imp in (validating, committing, running_long):
        imp.refresh_from_db()
        assert (imp.status, imp.payload) == (Status.FAILED, "")
        assert imp.error == "处理超过2小时仍未完成,已停止,未写入任何数据;请重新上传"
    assert RosterImport.objects.get(pk=queued.pk).status == Status.VALIDATING
    assert RosterImport.objects.get(pk=running.pk).status == Status.COMMITTING
    assert AuditEvent.objects.filter(action="roster_import_stuck").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_commit_that_holds_its_import_is_not_failed(world, staff):
    imp = new_import(staff, world)
    RosterImport.objects.filter(pk=imp.pk).update(status=Status.COMMITTING)
    locked, release = threading.Event(), threading.Event()

    def commit_running() -> None:
        try:
            with transaction.atomic():
                RosterImport.objects.select_for_update().get(pk=imp.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=commit_running)
    thread.start()
    try:
        assert locked.wait(10)
        assert roster.roster_prune(now=later(3 * HOUR)).imports_failed == 0
    finally:
        release.set()
        thread.join()
    assert RosterImport.objects.get(pk=imp.pk).status == Status.COMMITTING
    assert roster.roster_prune(now=later(3 * HOUR)).imports_failed == 1


def export_file(directory, name: str, *, age: dt.timedelta = dt.timedelta(0)):
    path = directory / name
    path.write_bytes(b"PK")
    stamp = (timezone.now() - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.django_db
def test_export_files_not_downloaded_within_a_day_or_downloaded_are_deleted(world, tmp_path):
    with override_settings(VAR_DIR=tmp_path):
        directory = roster.exports.exports_dir()
        user, membership = world.staff_a1, world.staff_a1.memberships.get()

        def export(status: str, name: str, **values) -> RosterExport:
            return RosterExport.objects.create(requested_by=user, membership=membership, status=status,
                                               file_name=name, finished_at=timezone.now(), **values)

        ready = export("ready", "a" * 32 + ".xlsx")
        downloaded = export("downloaded", "b" * 32 + ".xlsx")  # its file was left behind
        for name in (ready.file_name, downloaded.file_name):
            export_file(directory, name)
        writing = export_file(directory, "c" * 32 + ".xlsx")  # a worker is writing it now
        orphan = export_file(directory, "d" * 32 + ".xlsx", age=25 * HOUR)  # a worker stopped
        other = export_file(directory, "notes.txt", age=30 * DAY)

        assert roster.roster_prune(now=later(HOUR)).export_files_deleted == 2
        assert not (directory / downloaded.file_name).exists() and not orphan.exists()
        assert (directory / ready.file_name).exists() and writing.exists() and other.exists()
        downloaded.refresh_from_db()
        assert downloaded.file_name == ""
        ready.refresh_from_db()
        assert (ready.status, ready.error) == ("ready", "")

        assert roster.roster_prune(now=later(25 * HOUR)).export_files_deleted == 2
        assert not (directory / ready.file_name).exists() and not writing.exists() and other.exists()
        ready.refresh_from_db()
        assert (ready.status, ready.file_name, ready.error) == ("failed", "", "24小时内未下载,文件已删除,请重新导出")
        event = AuditEvent.objects.get(action="roster_export_expire")
        assert (event.actor, event.object_id) == (None, ready.pk)


@pytest.mark.django_db
def test_the_command_prints_the_counts(world, staff, tmp_path):
    new_import(staff, world)
    with override_settings(VAR_DIR=tmp_path):
        out = io.StringIO()
        call_command("prune_rosters", stdout=out)
    assert out.getvalue().splitlines() == [
        "0 个导入超过7天未确认,已删除其数据", "0 个导入处理超过2小时未完成,已标记为失败", "已删除 0 个导出文件",
    ]
