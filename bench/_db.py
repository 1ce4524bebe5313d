"""The PostgreSQL database that benchmarks run against.

Usage, at the top of a bench script run from the repository root:

    from _db import use_bench_database      # bench/ is on sys.path when running bench/x.py
    url = use_bench_database()              # DATABASE_URL, else xiuhua_bench on localhost
    from xiuhua.residents.models import Resident  # Django is set up and migrated by now

The database is created if it does not exist, then migrated. Benchmarks never run on SQLite:
the figures are meant for production, which is PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench"
REPO_ROOT = Path(__file__).resolve().parent.parent


def use_bench_database(url: str | None = None, *, migrate: bool = True) -> str:
    """Point Django at the bench database (creating it when missing), set Django up, migrate.

    Call before importing models. Returns the database URL in use."""
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"benchmarks need PostgreSQL, not {url.split(':', 1)[0]}")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    _create_database_if_missing(url)

    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    return url


def _create_database_if_missing(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    params: dict[str, Any] = {
        key: value for key, value in (
            ("host", cfg.get("HOST")), ("port", cfg.get("PORT")),
            ("user", cfg.get("USER")), ("password", cfg.get("PASSWORD")),
        ) if value
    }
    name = str(cfg["NAME"])
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", file=sys.stderr)


def bench_unit(kind, name, parent, **extra):
    """The org unit `name` of `kind` under `parent`, created (and validated) when missing: benches
    share databases and run twice in a row, so their places are found again, never doubled."""
    from xiuhua.places.models import OrgUnit

    found = OrgUnit.objects.filter(kind=kind, name=name, parent=parent).first()
    if found is None:
        found = OrgUnit(kind=kind, name=name, parent=parent, **extra)
        found.full_clean()
        found.save()
    return found
