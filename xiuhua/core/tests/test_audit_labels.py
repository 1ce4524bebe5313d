"""Every kind of audit event the code writes has a label in the user's words, found in one place
(core.audit): the workflow's own declaration for `<workflow>_<action>` events, EVENT_LABELS for
the rest. A new kind written without a label fails here."""

import ast
from pathlib import Path

from django.utils import translation

from xiuhua.core.audit import EVENT_LABELS, PURPOSE_LABELS, event_label, reason_label, role_label
from xiuhua.core.workflow import WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]  # xiuhua/


def written_kinds() -> set[str]:
    """The `action=` of every audit(...), lookup_audit(...) and list_download(...) call outside
    tests, with the branches of a conditional expression."""
    kinds: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("audit", "lookup_audit", "list_download"):
                continue
            for keyword in node.keywords:
                if keyword.arg == "action":
                    kinds |= {c.value for c in ast.walk(keyword.value)
                              if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return kinds


def workflow_kinds() -> dict[str, str]:
    return {workflow.audit_action(name): str(action.label) for workflows in WORKFLOWS.values()
            for workflow in workflows for name, action in workflow.actions.items()}


def test_the_scan_finds_the_kinds_written_outside_workflows():
    kinds = written_kinds()
    assert {"reveal_id", "roster_export", "roster_export_full", "personal_lookup", "ticket_create",
            "tracing_worklist_export"} <= kinds
    assert len(kinds) >= 45


def test_every_kind_written_outside_a_workflow_has_a_label():
    missing = sorted(k for k in written_kinds() if event_label(k) == k)
    assert missing == []
    # ...and each label is listed once: none is left over from a kind no longer written.
    assert sorted(set(EVENT_LABELS) - written_kinds()) == []


def test_workflow_events_are_named_by_their_record_and_action():
    kinds = workflow_kinds()
    assert len(kinds) > 40
    with translation.override("zh-hans"):
        assert event_label("ticket_accept") == "工单:受理"
        for kind, label in kinds.items():
            assert event_label(kind).endswith(label or kind.rsplit("_", 1)[-1]), kind


def test_roles_capabilities_and_purposes_read_as_words():
    with translation.override("zh-hans"):
        assert role_label("committee_staff") == "居委会工作人员"
        assert event_label("reveal_id") == "查看完整证件号"
        assert reason_label("resident_search") == "居民查询"
        assert reason_label("核对身份") == "核对身份"
        assert role_label("") == ""
        assert set(PURPOSE_LABELS) == {"resident_search", "resident_identity", "mask_verification",
                                       "voucher_redeem", "tracing_import", "arrival_self_register"}
