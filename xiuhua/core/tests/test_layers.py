"""`core` and `places` sit below the domain apps: they import none of them.

The check reads the code of xiuhua/core and xiuhua/places (their tests aside): no `import` or
`from … import` of a domain app's module, relative ones included, and no import by name
(`import_module`, `import_string`, `__import__`). What core's pages and commands show or do for
each domain, the domain registers in core.registry from its AppConfig.ready(). The core templates
name no domain app's pages either.

accounts, residents and sms count as foundation: core already stood on them (the roles and
memberships, the scope overview of the first page, the SMS gateway of one-time codes and lookup
alerts) before the registry, and places' demo data is made of accounts and residents.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # xiuhua/
BELOW = ("core", "places")
DOMAIN_APPS = ("antigen", "isolation", "masks", "passport", "screening", "supply", "tickets", "tracing", "zones")
IMPORTERS = {"import_module", "import_string", "__import__"}
CORE_TEMPLATES = ROOT / "templates" / "core"
URL_OF_DOMAIN = re.compile(r"\{%\s*url\s+['\"](?P<app>\w+)[:'\"]")


def _is_domain(module: str) -> bool:
    parts = module.split(".")
    return len(parts) >= 2 and parts[0] == "xiuhua" and parts[1] in DOMAIN_APPS


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an import names, with a relative one resolved against the file's package."""
    if node.level == 0:
        return node.module or ""
    package = ["xiuhua", *path.relative_to(ROOT).parent.parts]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def domain_imports(path: Path, source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a domain app's module in the source of `path`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if _is_domain(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, node)
            names = [f"{module}.{alias.name}" for alias in node.names]  # `from xiuhua import tickets`
            found += [(node.lineno, name) for name in [module, *names] if _is_domain(name)][:1]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in IMPORTERS and node.args and isinstance(node.args[0], ast.Constant):
                target = str(node.args[0].value)
                if _is_domain(target):
                    found.append((node.lineno, target))
    return found


def modules_below():
    for package in BELOW:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


def test_core_and_places_import_no_domain_app():
    problems = [
        f"{path.relative_to(ROOT.parent)}:{line}: imports {module}"
        for path in modules_below()
        for line, module in domain_imports(path, path.read_text())
    ]
    assert problems == [], "core and places import no domain app (register in core.registry):\n" + "\n".join(
        problems
    )


def test_core_templates_name_no_domain_page():
    problems = [
        f"{path.relative_to(ROOT.parent)}: {match.group(0)}"
        for path in sorted(CORE_TEMPLATES.rglob("*.html"))
        for match in URL_OF_DOMAIN.finditer(path.read_text())
        if match.group("app") in DOMAIN_APPS
    ]
    assert problems == []


def test_the_check_sees_each_kind_of_import():
    path = ROOT / "core" / "views.py"
    source = """
import xiuhua.tickets.models
from xiuhua.isolation.selectors import open_alerts
from xiuhua import tracing
from ..masks import codes
from importlib import import_module
import_module("xiuhua.tickets.demo")
from xiuhua.residents.models import Tag
from . import registry
from ..places.models import OrgUnit
"""
    assert [line for line, _module in domain_imports(path, source)] == [2, 3, 4, 5, 7]
