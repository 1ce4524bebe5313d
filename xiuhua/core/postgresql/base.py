"""Django's PostgreSQL backend, with a health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before its first use in each
request by running `SELECT 1`: one more statement and one more round trip for every request, a
third of the statements of a mask reservation. A connection that sits idle between requests has
nothing to read; if its socket is readable, the server has closed it (a restart, an idle
timeout, a terminated backend) or sent a notice, and only then is `SELECT 1` run to decide. A
connection that is not idle, or that psycopg already knows is closed or broken, is judged as
Django judges it.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from psycopg.pq import TransactionStatus


class DatabaseWrapper(PostgresWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if conn.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        try:
            readable, _w, _x = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return super().is_usable() if readable else True
