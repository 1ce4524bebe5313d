import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from xiuhua.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_password_lands_on_home(client, world):
    response = client.post(reverse("accounts:login"), {"username": "staff_a1", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = client.get(reverse("home"))
    assert page.context["membership"].org_unit == world.committee_a1
    assert page.context["totals"]["residents"] == 2


def test_wrong_password_shows_message(client, world):
    response = client.post(reverse("accounts:login"), {"username": "staff_a1", "password": "nope"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_after_repeated_failures_even_with_the_right_password(client, world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "staff_a1", "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"username": "staff_a1", "password": PASSWORD})
    assert response.status_code == 429
    assert "账号已暂时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked by someone else's failures.
    response = client.post(reverse("accounts:login"), {"username": "staff_b1", "password": PASSWORD})
    assert response.status_code == 302


def test_session_expires():
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_user_without_membership_sees_explanation(client, world):
    client.force_login(world.no_role)
    response = client.get(reverse("home"))
    assert "尚未分配任何职务" in response.content.decode()


def test_logout_requires_post_and_ends_session(client, world):
    client.force_login(world.staff_a1)
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("residents:search")).status_code == 302


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "1",
        "SECRET_KEY": "p" * 20 + "roduction-secret-key-with-enough-entropy-7f3k2",
        "XIUHUA_DATA_KEY": "N2vYpQzq0yq8m9mE0a4Ew2D3qf6qgPq5m4sCq0ZyV0U=",
        "DATABASE_URL": "postgres://xiuhua@127.0.0.1:5432/xiuhua",
        "ALLOWED_HOSTS": "xiuhua.example.gov.cn",
        "XIUHUA_VAR_DIR": str(tmp_path),
        "XIUHUA_MANIFEST_STATIC": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
