"""Pruning what imports and exports leave behind: run daily by `manage.py prune_rosters`.

Personal data is kept no longer than its use: the encrypted rows of an import nobody committed,
and the export files nobody downloaded. Imports left half-way by a stopped process are marked
failed, so that staff see they must upload again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.core.workflow import move

from ..models import RosterExport, RosterImport
from .exports import exports_dir

Status = RosterImport.Status

UNCOMMITTED_KEPT = dt.timedelta(days=7)
STUCK_AFTER = dt.timedelta(hours=2)
EXPORT_FILES_KEPT = dt.timedelta(hours=24)
_EXPORT_FILE = re.compile(r"[0-9a-f]{32}\.xlsx")


@dataclass
class PruneResult:
    imports_expired: int = 0
    imports_failed: int = 0
    export_files_deleted: int = 0


def roster_prune(*, now: dt.datetime | None = None) -> PruneResult:
    """Expire, fail and delete, as the system; one audit event for each import or export changed.

    - An import validated (or uploaded) more than 7 days ago and never committed: its encrypted
      file or rows are deleted and it is marked failed ("expired").
    - An import in validating or committing for more than 2 hours: marked failed. One whose task
      still waits in the queue is left alone (the worker is behind, it will run); so is one whose
      commit is running (it holds the import's row lock).
    - Export files: ready but not downloaded within 24 hours (the export is marked failed), files
      of exports already downloaded, and files older than 24 hours that no export refers to.
    """
    now = now or timezone.now()
    return PruneResult(
        imports_expired=_expire_uncommitted(now),
        imports_failed=_fail_stuck(now),
        export_files_deleted=_delete_export_files(now),
    )


def _expire_uncommitted(now: dt.datetime) -> int:
    cutoff = now - UNCOMMITTED_KEPT
    stale = RosterImport.objects.exclude(payload="").filter(
        Q(status=Status.VALIDATED, finished_at__lt=cutoff) | Q(status=Status.UPLOADED, created_at__lt=cutoff)
    )
    count = 0
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            roster_import = _lock(pk, (Status.VALIDATED, Status.UPLOADED))
            if roster_import is None:
                continue
            move(roster_import, "expire", actor=None, change=partial(
                _give_up, error=_("超过7天未确认导入,已删除上传的数据,请重新上传")))
            count += 1
    return count


def _fail_stuck(now: dt.datetime) -> int:
    cutoff = now - STUCK_AFTER
    waiting, running_since = _queued_tasks()
    # The import entered its state after the last recorded time (validation's end, or the upload).
    stale = (
        RosterImport.objects.filter(status__in=(Status.VALIDATING, Status.COMMITTING))
        .alias(since=Coalesce("finished_at", "created_at"))
        .filter(since__lt=cutoff)
    )
    count = 0
    for pk in stale.values_list("pk", flat=True):
        started = running_since.get(pk)
        if pk in waiting or (started is not None and started >= cutoff):
            continue
        with transaction.atomic():
            roster_import = _lock(pk, (Status.VALIDATING, Status.COMMITTING))
            if roster_import is None:
                continue
            move(roster_import, "stuck", actor=None, detail={"status": roster_import.status}, change=partial(
                _give_up, error=_("处理超过2小时仍未完成,已停止,未写入任何数据;请重新上传")))
            count += 1
    return count


def _give_up(roster_import: RosterImport, *, error: str) -> None:
    """The import fails and its encrypted data goes."""
    roster_import.payload, roster_import.payload_kind, roster_import.preview = "", "", ""
    roster_import.error, roster_import.finished_at = error, timezone.now()


def _lock(pk: int, statuses: tuple[str, ...]) -> RosterImport | None:
    """The import, locked, if it is still in one of these states and no one else holds it."""
    return RosterImport.objects.select_for_update(skip_locked=True).filter(pk=pk, status__in=statuses).first()


def _queued_tasks() -> tuple[set[int], dict[int, dt.datetime]]:
    """Imports whose task waits in the database task queue, and since when others' tasks run."""
    if not apps.is_installed("django_tasks_db"):
        return set(), {}
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from xiuhua.residents import tasks

    paths = [tasks.roster_import_validate_task.module_path, tasks.roster_import_commit_task.module_path]
    waiting: set[int] = set()
    running: dict[int, dt.datetime] = {}
    results = DBTaskResult.objects.filter(
        task_path__in=paths, status__in=(TaskResultStatus.READY, TaskResultStatus.RUNNING)
    )
    for status, started_at, args_kwargs in results.values_list("status", "started_at", "args_kwargs"):
        import_id = args_kwargs["args"][0]
        if status == TaskResultStatus.RUNNING and started_at is not None:
            running[import_id] = max(started_at, running.get(import_id, started_at))
        else:
            waiting.add(import_id)
    return waiting, running


def _delete_export_files(now: dt.datetime) -> int:
    cutoff = now - EXPORT_FILES_KEPT
    directory = exports_dir()
    deleted = 0
    unused = RosterExport.objects.filter(status=RosterExport.Status.READY, finished_at__lt=cutoff)
    for pk in unused.values_list("pk", flat=True):
        with transaction.atomic():
            export = (RosterExport.objects.select_for_update(skip_locked=True)
                      .filter(pk=pk, status=RosterExport.Status.READY).first())
            if export is None:
                continue
            if export.file_name:
                deleted += _unlink(directory / export.file_name)
            move(export, "expire", actor=None, change=_expire_export)
    # Files no ready export refers to: those of exports already downloaded (or failed), and, once a
    # day old, any other (a worker stopped while writing; a younger one may be being written now).
    done = RosterExport.objects.exclude(file_name="").exclude(status=RosterExport.Status.READY)
    finished = set(done.values_list("file_name", flat=True))
    ready = set(RosterExport.objects.filter(status=RosterExport.Status.READY).values_list("file_name", flat=True))
    for path in directory.iterdir():
        if not _EXPORT_FILE.fullmatch(path.name) or path.name in ready:
            continue
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        if path.name in finished or modified < cutoff:
            deleted += _unlink(path)
    done.update(file_name="")
    return deleted


def _expire_export(export: RosterExport) -> None:
    export.file_name = ""
    export.error = _("24小时内未下载,文件已删除,请重新导出")


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1
