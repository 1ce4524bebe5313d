"""Import services: upload, validate, commit (inline or in the worker), discard.

Each step is a declared action of the import's table (workflows.ROSTER_IMPORT), moved by
core.workflow.move: the row locked, the table, the right and the committee checked, one audit
event written.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_identity
from xiuhua.core.workflow import move
from xiuhua.places.models import OrgUnit

from ..models import RosterImport, RosterProblem
from .access import check_committee_access
from .checks import Places, Problem, RowChecker, merge_households
from .columns import cell_text, is_example
from .files import RosterFileError, Table, open_table
from .plan import BATCH_SIZE, Plan, plan_rows, registered_elsewhere, write_plan
from .preview import build_preview, shown_preview
from .worker import actor_ids, enqueue, progress_reporter, seal, unseal

logger = logging.getLogger(__name__)

Status = RosterImport.Status

PROGRESS_EVERY = 1000


def _setting(*, finished: bool = False, **values) -> Callable[[RosterImport], None]:
    """A move's change: these fields, and the time the import's work ended where it ends
    (validated, committed or failed)."""
    def change(locked: RosterImport) -> None:
        for name, value in values.items():
            setattr(locked, name, value)
        if values.get("payload") == "":
            locked.preview = ""  # the preview holds the same people
        if finished:
            locked.finished_at = timezone.now()
    return change


def _read_upload(uploaded_file) -> bytes:
    limit = settings.ROSTER_MAX_UPLOAD_BYTES
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise RosterFileError(_("文件过大(不能超过 %(mb)s MB)") % {"mb": limit // (1024 * 1024)})
    data = b"".join(uploaded_file.chunks()) if hasattr(uploaded_file, "chunks") else uploaded_file.read()
    if len(data) > limit:
        raise RosterFileError(_("文件过大(不能超过 %(mb)s MB)") % {"mb": limit // (1024 * 1024)})
    return data


def _has_data(table: Table, look_at: int = 200) -> bool:
    """A row with a value other than the template's example row, among the first rows."""
    name_at = table.columns["name"]
    for count, (_number, values) in enumerate(table.rows):
        if any(cell_text(v) for v in values):
            name = cell_text(values[name_at]) if name_at < len(values) else ""
            if not is_example(name):
                return True
        if count >= look_at:
            break
    return False


def _too_many_rows(limit: int) -> RosterFileError:
    return RosterFileError(ngettext("一次最多导入 %(n)d 行,请拆分文件", "一次最多导入 %(n)d 行,请拆分文件", limit)
                           % {"n": limit})


def roster_import_upload(*, actor, committee: OrgUnit, uploaded_file, background: bool | None = None) -> RosterImport:
    """Check the file's shape, keep it encrypted and validate it (inline when small).

    Raises RosterFileError, with nothing written, for a file that is too big, of the wrong
    type, unreadable, empty or without the roster's header columns.
    """
    check_committee_access(actor, committee)
    data = _read_upload(uploaded_file)
    filename = Path(getattr(uploaded_file, "name", "") or "roster").name[:255]
    table = open_table(data, filename)
    if not _has_data(table):
        raise RosterFileError(_("表格中没有数据行"))
    if len(table.rows) > settings.ROSTER_MAX_ROWS:
        raise _too_many_rows(settings.ROSTER_MAX_ROWS)
    if background is None:
        background = len(table.rows) >= settings.ROSTER_INLINE_MAX_ROWS
    with transaction.atomic():
        roster_import = RosterImport.objects.create(
            committee=committee, uploaded_by=actor, filename=filename,
            file_format=table.file_format, sha256=hashlib.sha256(data).hexdigest(),
            rows_total=len(table.rows), payload=seal(data), payload_kind="file",
        )
        audit(actor=actor, action="roster_import_upload", obj=roster_import, committee_id=committee.pk,
              subject_label=filename, detail={"bytes": len(data), "format": table.file_format})
        if background:
            enqueue("roster_import_validate_task", roster_import.pk)
    if not background:
        roster_import = roster_import_validate(actor=actor, roster_import=roster_import, table=table)
    return roster_import


def roster_import_validate(*, actor, roster_import: RosterImport, table: Table | None = None) -> RosterImport:
    """Read every row, store the problems and counts; keep the clean rows (encrypted) if none.

    table: the file as the upload has just read it (else it is read from the import's payload).
    """
    check_committee_access(actor, roster_import.committee)
    roster_import = move(roster_import, "validate", actor=actor, change=_setting(rows_done=0))
    try:
        return _validate(actor, roster_import, table)
    except RosterFileError as exc:
        error = exc.messages[0]
    except Exception:
        logger.exception("roster import %s: validation failed", roster_import.pk)
        error = _("校验时出现错误,请重新上传或联系管理员")
    return move(roster_import, "fail_validation", actor=actor,
                change=_setting(finished=True, error=error, payload="", payload_kind=""))


def _validate(actor, roster_import: RosterImport, table: Table | None) -> RosterImport:
    committee = roster_import.committee
    if table is None:
        table = open_table(unseal(roster_import.payload), roster_import.filename)
    report = progress_reporter(roster_import)
    total = len(table.rows)
    checker = RowChecker(Places.load(committee), table.columns)
    rows: list[dict] = []
    problems: list[Problem] = []
    problem_rows: set[int] = set()
    first_of: dict[str, int] = {}
    limit = settings.ROSTER_MAX_ROWS
    seen = 0
    identified: list[dict] = []  # rows with problems whose number is sound
    for number, values in table.rows:
        clean, row_problems = checker.check(number, values)
        if clean is None:
            continue
        seen += 1
        if seen > limit:
            raise _too_many_rows(limit)
        if seen % PROGRESS_EVERY == 0:
            report(seen if seen < total else max(total - 1, 0))
        if "number" in clean:
            key = f"{clean['id_type']}|{clean['number']}"
            other = first_of.setdefault(key, number)
            if other != number:
                row_problems.append(Problem(
                    number, "id_number", gettext_noop("与第%(row)d行的证件号码重复(%(masked)s)"),
                    {"row": other, "masked": mask_identity(clean["number"])}))
            elif row_problems:
                identified.append(clean)
        if row_problems:
            problems.extend(row_problems)
            problem_rows.add(number)
        else:
            rows.append(clean)
    elsewhere = registered_elsewhere(committee, identified)
    problems.extend(elsewhere)
    if seen == 0:
        raise RosterFileError(_("表格中没有数据行"))
    _merged, household_problems = merge_households(rows)
    problems.extend(household_problems)
    problem_rows.update(p.row for p in household_problems)
    plan = plan_rows(committee, rows)
    problems.extend(plan.problems)
    problem_rows.update(p.row for p in plan.problems)
    _audit_elsewhere(roster_import, len(elsewhere) + plan.count_elsewhere)
    ok_rows = [r for r in rows if r["row"] not in problem_rows]
    counts = plan.counts()
    if problem_rows:
        # Counts describe the rows without problems; the rows themselves are not kept.
        sub_plan = plan_rows(committee, ok_rows) if ok_rows else Plan()
        counts = sub_plan.counts()
    with transaction.atomic():
        RosterProblem.objects.filter(roster_import=roster_import).delete()
        RosterProblem.objects.bulk_create(
            [RosterProblem(roster_import=roster_import, row=p.row, column=p.column, message=p.message[:300],
                           params=p.params)
             for p in sorted(problems, key=lambda p: p.row)],
            batch_size=BATCH_SIZE,
        )
        detail = {"rows": seen, "problem_rows": len(problem_rows)}
        return move(roster_import, "finish_validation", actor=actor, detail=detail, change=_setting(
            finished=True, rows_total=seen, rows_done=seen,
            count_new=counts["new"], count_updated=counts["updated"], count_unchanged=counts["unchanged"],
            households_new=counts["households_new"], households_updated=counts["households_updated"],
            count_problem_rows=len(problem_rows), error="",
            payload="" if problem_rows else seal(json.dumps(rows, ensure_ascii=False).encode()),
            payload_kind="" if problem_rows else "rows",
            preview="" if problem_rows else seal(json.dumps(build_preview(rows, plan), ensure_ascii=False).encode()),
        ))


def _audit_elsewhere(roster_import: RosterImport, count: int) -> None:
    """A file that names numbers registered in other committees was told they exist: one personal
    audit event with how many, so the street sees an upload used to probe numbers (design rule 8)."""
    if count:
        audit(actor=roster_import.uploaded_by, action="identity_elsewhere", personal=True, obj=roster_import,
              committee_id=roster_import.committee_id, reason="roster_import", detail={"rows": count})


def roster_import_commit(*, actor, roster_import: RosterImport, background: bool | None = None) -> RosterImport:
    """Write a validated import: all rows or none. Refused while any row has a problem."""
    check_committee_access(actor, roster_import.committee)
    roster_import.refresh_from_db()
    if roster_import.status == Status.VALIDATED and roster_import.count_problem_rows:
        n = roster_import.count_problem_rows
        raise ValidationError(ngettext("还有 %(n)d 行存在问题,请修改文件后重新上传",
                                        "还有 %(n)d 行存在问题,请修改文件后重新上传", n) % {"n": n})
    if roster_import.status == Status.VALIDATED and not roster_import.committable:
        raise ValidationError(_("该导入不能提交,请重新上传"))
    if background is None:
        background = roster_import.rows_total >= settings.ROSTER_INLINE_MAX_ROWS
    with transaction.atomic():
        roster_import = move(roster_import, "request_commit", actor=actor, change=_setting(rows_done=0))
        if background:
            enqueue("roster_import_commit_task", roster_import.pk, *actor_ids(actor))
    if background:
        return roster_import
    return roster_import_commit_run(actor=actor, roster_import=roster_import)


class _Refused(Exception):
    def __init__(self, plan: Plan) -> None:
        super().__init__("refused")
        self.plan = plan


def roster_import_commit_run(*, actor, roster_import: RosterImport) -> RosterImport:
    """The commit itself (inline, or in the worker): one transaction and one audit event."""
    try:
        check_committee_access(actor, roster_import.committee)
    except PermissionDenied:
        # The user lost the right between asking and the worker starting: nothing is written.
        if roster_import.status == Status.COMMITTING:
            # As the system: the user who asked may no longer take a step of it.
            move(roster_import, "fail_commit", actor=None,
                 change=_setting(finished=True, payload="", payload_kind="", error=_("没有导入权限")))
        raise
    try:
        with transaction.atomic():
            # One import at a time per committee: the second waits for the first to finish.
            # (NO KEY: single registrations, which only take a key-share lock, go on meanwhile.)
            committee = OrgUnit.objects.select_for_update(no_key=True).get(pk=roster_import.committee_id)
            locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
            if locked.status != Status.COMMITTING or locked.payload_kind != "rows":
                raise ValidationError(_("该导入当前为“%(status)s”,不能提交") % {"status": locked.get_status_display()})
            rows = json.loads(unseal(locked.payload))
            places = Places.load(committee)
            known = {pk for buildings in places.buildings.values() for pk in buildings.values()}
            gone = [Problem(r["row"], "building", gettext_noop("该楼栋已不存在"))
                    for r in rows if r["building"] not in known]
            plan = plan_rows(committee, rows, check_elsewhere=False)
            plan.problems = gone + plan.problems
            if plan.problems:
                raise _Refused(plan)
            write_plan(committee, plan)
            counts = plan.counts()
            return move(locked, "commit", actor=actor, detail={"rows": len(rows), **counts}, change=_setting(
                finished=True, rows_done=len(rows), count_new=counts["new"],
                count_updated=counts["updated"], count_unchanged=counts["unchanged"],
                households_new=counts["households_new"], households_updated=counts["households_updated"],
                payload="", payload_kind="",
            ))
    except _Refused as refused:
        problems = refused.plan.problems
        with transaction.atomic():
            RosterProblem.objects.filter(roster_import=roster_import).delete()
            RosterProblem.objects.bulk_create(
                [RosterProblem(roster_import=roster_import, row=p.row, column=p.column, message=p.message[:300],
                               params=p.params)
                 for p in problems], batch_size=BATCH_SIZE)
            return move(roster_import, "refuse_commit", actor=actor, change=_setting(
                finished=True, count_problem_rows=len({p.row for p in problems}), payload="", payload_kind="",
                error=_("提交前发现数据已有变化,请查看问题并重新上传"),
            ))
    except ValidationError:
        raise  # not in a state to commit: nothing was written, the import is as it was
    except (IntegrityError, DatabaseError):
        logger.exception("roster import %s: commit failed", roster_import.pk)
        error = _("导入时数据已被他人修改,未写入任何数据,请重新上传")
    except Exception:
        logger.exception("roster import %s: commit failed", roster_import.pk)
        error = _("导入时出现错误,未写入任何数据,请重新上传或联系管理员")
    return move(roster_import, "fail_commit", actor=actor,
                change=_setting(finished=True, payload="", payload_kind="", error=error))


def roster_import_discard(*, actor, roster_import: RosterImport) -> RosterImport:
    """Give up a validated import: its encrypted rows are deleted, nothing is written."""
    check_committee_access(actor, roster_import.committee)
    return move(roster_import, "discard", actor=actor,
                change=_setting(finished=True, payload="", payload_kind="", error=""))


def earlier_commit(roster_import: RosterImport) -> RosterImport | None:
    """The last committed import of the same file into the same committee, if any."""
    return (
        RosterImport.objects.filter(committee_id=roster_import.committee_id, sha256=roster_import.sha256,
                                    status=Status.COMMITTED)
        .exclude(pk=roster_import.pk).order_by("-created_at").first()
    )


def import_preview(roster_import: RosterImport) -> dict | None:
    """What a committable import will add and change, in the active language (roster.preview)."""
    if not roster_import.preview:
        return None
    return shown_preview(json.loads(unseal(roster_import.preview)))
