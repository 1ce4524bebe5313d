"""The PostgreSQL backend's health check: no round trip for a healthy idle connection, and a
connection the server closed is found unusable and replaced."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_postgresql_runs_on_our_backend():
    assert connection.settings_dict["ENGINE"] == "xiuhua.core.postgresql" and connection.vendor == "postgresql"


def test_a_healthy_idle_connection_is_usable_without_a_statement(monkeypatch):
    connection.ensure_connection()
    calls = []
    monkeypatch.setattr(DjangoWrapper, "is_usable", lambda self: calls.append(1) or True)
    assert connection.is_usable() is True
    assert calls == []  # Django's own check would have sent SELECT 1


def test_a_connection_the_server_closed_is_unusable_and_the_next_request_reconnects():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"] or None, port=db["PORT"] or None,
                         password=db["PASSWORD"] or None, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connection.is_usable() is False
    connection.health_check_done = False  # as at the start of a request
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
