"""The session store: Django's database sessions, read with one fixed SQL statement.

Every request reads its session (the phone proof of a resident ordering, the staff member's
login), and building the ORM query for that one row cost about a third of the CPU of a
resident's group-buy order (bench/supply.py). The statement's text never changes, so psycopg
prepares it once per connection. Writes, expiry and the cleanup command are Django's own.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        key = self.session_key  # None for a malformed key (Django validates it)
        if key is None:
            return None
        model = self.model
        table = connections[router.db_for_read(model)].ops.quote_name(model._meta.db_table)
        with connections[router.db_for_read(model)].cursor() as cursor:
            cursor.execute(f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                           [key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0])
