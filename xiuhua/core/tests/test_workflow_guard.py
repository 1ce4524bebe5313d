"""Every status field moves through core.workflow, and nothing else writes it.

The check reads the code: outside core/workflow.py no module of the project may assign a governed
field (`obj.status = …`, `a.status, b.x = …`, `setattr(obj, "status", …)`), pass it to a
queryset's `update()` or `bulk_update()`, or set it in raw SQL. Creating a row in its first state
is allowed; every later change is a declared action.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.apps import apps
from django.db import models

from xiuhua.core.workflow import WORKFLOWS, governed_fields

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_MODULE = ROOT / "core" / "workflow.py"
RAW_UPDATE = re.compile(r"\bUPDATE\b[\s\S]*\bSET\b[\s\S]*\b(?P<field>\w+)\s*=", re.IGNORECASE)


# Rows of history: the status a row had at an event, written once when the event is recorded.
HISTORY_ROWS = {"tracing.EntryEvent"}


def project_modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = set(path.relative_to(ROOT).parts)
        if "tests" in parts or "migrations" in parts or path == WORKFLOW_MODULE:
            continue
        yield path


def _targets(node: ast.AST):
    if isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)
    elif isinstance(node, ast.Attribute):
        yield node


def violations_in(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every write of a governed field name in the source."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for attribute in _targets(target):
                    if attribute.attr in names:
                        found.append((node.lineno, f"assigns .{attribute.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name == "update":
                for keyword in node.keywords:
                    if keyword.arg in names:
                        found.append((node.lineno, f"update({keyword.arg}=…)"))
            elif name == "bulk_update":
                fields = [n.value for a in node.args[1:2] for n in ast.walk(a) if isinstance(n, ast.Constant)]
                fields += [n.value for k in node.keywords if k.arg == "fields" for n in ast.walk(k.value)
                           if isinstance(n, ast.Constant)]
                for field_name in {str(f) for f in fields} & names:
                    found.append((node.lineno, f"bulk_update of {field_name}"))
            elif name == "setattr" and len(node.args) >= 2:
                key = node.args[1]
                if isinstance(key, ast.Constant) and key.value in names:
                    found.append((node.lineno, f"setattr {key.value!s}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text: str = node.value
            for match in RAW_UPDATE.finditer(text):
                setting = text[match.start():]
                for field_name in names:
                    if re.search(rf"\bSET\b[^;]*\b{field_name}\s*=", setting, re.IGNORECASE):
                        found.append((node.lineno, f"raw SQL sets {field_name}"))
                        break
                break
    return found


def test_no_module_writes_a_status_field_outside_the_workflow():
    names = {name for fields in governed_fields().values() for name in fields}
    problems = []
    for path in project_modules():
        for line, what in violations_in(path.read_text(), names):
            problems.append(f"{path.relative_to(ROOT.parent)}:{line}: {what}")
    assert problems == [], "status fields change only through core.workflow.move:\n" + "\n".join(problems)


def test_every_status_field_has_a_workflow():
    """A model of the project with a field named status declares its workflow. (Resident.living_status
    is a roster attribute: any value may follow any other by an edit, audited as resident_update.)"""
    governed = governed_fields()
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("xiuhua."):  # not the task queue's own table
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.Field) and field.name == "status" and "status" not in governed.get(model, ()):
                missing.append(f"{model._meta.label}.{field.name}")
    missing = [label for label in missing if label.rsplit(".", 1)[0] not in HISTORY_ROWS]
    assert missing == []


def test_the_check_sees_each_kind_of_stray_write():
    source = '''
def stray(obj, rows, cursor):
    obj.status = "closed"
    obj.status, obj.other = "x", 1
    setattr(obj, "status", "y")
    rows.filter(pk=1).update(status="z")
    rows.bulk_update([obj], ["status"])
    cursor.execute("UPDATE t SET note = 'a', status = 'b' WHERE id = 1")
    ok = obj.status == "closed"
    rows.create(status="new")
    cursor.execute("SELECT * FROM t WHERE status = 'b'")
'''
    assert [line for line, _what in violations_in(source, {"status"})] == [3, 4, 5, 6, 7, 8]


def test_each_model_declares_its_actions_once():
    for model, workflows in WORKFLOWS.items():
        names = [action for workflow in workflows for action in workflow.actions]
        assert len(names) == len(set(names)), model
        for workflow in workflows:
            field = model._meta.get_field(workflow.field)
            if field.choices:
                values = {str(value) for value, _label in field.flatchoices}
                for action, act in workflow.actions.items():
                    assert act.sources <= values and act.target in values, (model, action)
