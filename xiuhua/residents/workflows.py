"""The roster's declared state tables (core.workflow): an import, and a large export.

An import is taken through its steps by the member who uploaded or commits it (their committee,
or a street or district above it) or, for the import_roster command and the task worker, by the
system: those actions are declared with both. Pruning (expire, stuck) is the system's alone. An
export is made by the worker and downloaded, once, by the member who asked for it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers
from xiuhua.core.workflow import Action, Workflow
from xiuhua.places.models import Kind, OrgUnit

from .models import RosterExport, RosterImport


def imports_into(membership, committee: OrgUnit) -> bool:
    """Whether the membership may import into the committee: its own, or one under its street or
    district; never from a grid's membership, which sees only part of a committee."""
    return committee.kind == Kind.COMMITTEE and not membership.grid_id and covers(membership, committee)


def _for_its_committee(membership, roster_import: RosterImport) -> bool:
    return imports_into(membership, roster_import.committee)


def _import_refusal(roster_import: RosterImport, action: str) -> str:
    return _("该导入当前为“%(status)s”,不能进行此操作") % {"status": roster_import.get_status_display()}


S = RosterImport.Status


def _step(sources, target, label) -> Action:
    """A step the importing member takes, or the system on their behalf (command, worker)."""
    return Action(sources, target, Cap.IMPORT_ROSTER, guard=_for_its_committee, system=True, label=label)


ROSTER_IMPORT = Workflow(
    RosterImport, name="roster_import", field="status", states=S, refusal=_import_refusal,
    related=("committee",), label=lambda roster_import: roster_import.filename,
    actions={
        "validate": _step({S.UPLOADED}, S.VALIDATING, gettext_lazy("校验")),
        "finish_validation": _step({S.VALIDATING}, S.VALIDATED, gettext_lazy("完成校验")),
        "fail_validation": _step({S.VALIDATING}, S.FAILED, gettext_lazy("校验失败")),
        "request_commit": _step({S.VALIDATED}, S.COMMITTING, gettext_lazy("确认导入")),
        "commit": _step({S.COMMITTING}, S.COMMITTED, gettext_lazy("导入")),
        # The data changed between the preview and the commit: the new problems are shown instead.
        "refuse_commit": _step({S.COMMITTING}, S.VALIDATED, gettext_lazy("退回校验")),
        "fail_commit": _step({S.COMMITTING}, S.FAILED, gettext_lazy("导入失败")),
        "discard": _step({S.VALIDATED}, S.DISCARDED, gettext_lazy("放弃")),
        "expire": Action({S.UPLOADED, S.VALIDATED}, S.FAILED, system=True, label=gettext_lazy("过期删除")),
        "stuck": Action({S.VALIDATING, S.COMMITTING}, S.FAILED, system=True, label=gettext_lazy("超时停止")),
    },
)

E = RosterExport.Status


def _export_refusal(export: RosterExport, action: str) -> str:
    if action == "download":
        return _("该导出文件不存在或已下载过")
    return _("该导出当前为“%(status)s”,不能进行此操作") % {"status": export.get_status_display()}


ROSTER_EXPORT = Workflow(
    RosterExport, name="roster_export", field="status", states=E, refusal=_export_refusal,
    label=lambda export: export.description,
    actions={
        "run": Action({E.PENDING}, E.RUNNING, system=True, label=gettext_lazy("生成")),
        "finish": Action({E.RUNNING}, E.READY, system=True, label=gettext_lazy("生成完成")),
        "fail": Action({E.RUNNING}, E.FAILED, system=True, label=gettext_lazy("生成失败")),
        # Only the member who asked sees the export (RosterExport.visible_to).
        "download": Action({E.READY}, E.DOWNLOADED, Cap.EXPORT_ROSTER, label=gettext_lazy("下载")),
        "expire": Action({E.READY}, E.FAILED, system=True, label=gettext_lazy("过期删除")),
    },
)

__all__ = ["ROSTER_EXPORT", "ROSTER_IMPORT", "imports_into"]
