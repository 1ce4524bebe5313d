import os
import shutil

import pytest
from django.conf import settings

from xiuhua.testing import build_world


def _is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] in ("django.db.backends.postgresql", "xiuhua.core.postgresql")


def pytest_configure(config):
    # Real hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    need_pg = os.environ.get("XIUHUA_REQUIRE_POSTGRES") == "1"
    need_browser = os.environ.get("XIUHUA_REQUIRE_BROWSER") == "1"
    if need_pg and not _is_postgres():
        raise pytest.UsageError("XIUHUA_REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL")
    have_browser = bool(shutil.which("chromium") and shutil.which("chromedriver"))
    if need_browser and not have_browser:
        raise pytest.UsageError("XIUHUA_REQUIRE_BROWSER=1 but chromium/chromedriver are missing")
    for item in items:
        if "postgres" in item.keywords and not _is_postgres():
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (see README)"))
        if "browser" in item.keywords and not have_browser:
            item.add_marker(pytest.mark.skip(reason="needs Debian chromium and chromium-driver"))


@pytest.fixture(autouse=True)
def steady_rate_windows(monkeypatch):
    """Rate limits count in fixed windows; a test running across a window's end would see its
    counts split in two. Each test counts at one instant just after midnight UTC, where every
    window (10 minutes, a day) starts."""
    import datetime as dt

    from django.utils import timezone

    from xiuhua.core import ratelimit

    instant = ratelimit.window_start(timezone.now(), 86400) + dt.timedelta(seconds=1)
    monkeypatch.setattr(ratelimit, "clock", lambda: instant)


@pytest.fixture
def world(db):
    return build_world()
