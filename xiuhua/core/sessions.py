"""The session store: Django's database sessions, read with one fixed, prepared SQL statement.

Every request reads its session (the phone proof of a resident ordering, the staff member's
login). Django's ORM query for that one row, and the model instance it builds, cost about a
third of the CPU of a resident's group-buy order (bench/supply.py). On PostgreSQL the statement
goes through a cursor that binds its parameters on the server, so psycopg prepares it once per
connection and later reads skip PostgreSQL's parser and planner; Django's own cursors bind on the
client and are never prepared. Writes, expiry and the cleanup command are Django's own, except
that a JSON endpoint can leave an unchanged session unwritten (`keep_stored`).
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    # Set for a request whose view leaves the session as it found it (resident_phone_json):
    # SESSION_SAVE_EVERY_REQUEST's write, which slides the idle expiry, is then skipped. A phone
    # page's script calls such endpoints in bursts (every order of an offer's opening minutes),
    # and the pages around them slide the expiry anyway.
    keep_stored = False

    def save(self, must_create=False):
        if self.keep_stored and not must_create and not self.modified:
            return
        super().save(must_create)

    def _session_data(self) -> str | None:
        """The stored, still valid data of this session's key, or None (then the key is dropped)."""
        key = self.session_key  # None for a malformed key (Django validates it)
        if key is None:
            return None
        model = self.model
        connection = connections[router.db_for_read(model)]
        sql = (f"SELECT session_data FROM {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
               "WHERE session_key = %s AND expire_date > %s")
        if connection.vendor == "postgresql":
            import psycopg

            connection.ensure_connection()
            with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(sql, [key, timezone.now()])
                row = cursor.fetchone()
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [key, timezone.now()])
                row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return row[0]

    def load(self):
        # Django's load() builds a Session instance only to read its data back out.
        data = self._session_data()
        return {} if data is None else self.decode(data)
