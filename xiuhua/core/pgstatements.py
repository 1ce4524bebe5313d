"""Hot-path statements on PostgreSQL: the few pieces every one-statement fast path needs (a
resident's reservation, a group-buy order).

- `prepared_cursor(connection)`: a cursor psycopg prepares statements on. Planning a long
  statement costs several times executing it; Django's own cursors bind on the client and are
  never prepared. This one binds on the server, so psycopg prepares a statement once per
  connection (after prepare_threshold uses), and with persistent connections every later use
  skips the planner. It is wrapped as Django wraps its cursors, so errors are Django's, and query
  logging and execute wrappers still see it.
- `text_array(values)`: an array parameter in PostgreSQL's text form (`{"a","b"}`), for the
  statement to cast (`%(x)s::text::bigint[]`): psycopg's Python list dumper cost a quarter of a
  reservation's CPU time.
- `constant_list(values)`: `ARRAY['a','b']::text[]` of code constants, written into the
  statement's text: fixed values cost nothing to send and let the plan see them.
"""

from __future__ import annotations

import re


def prepared_cursor(connection):
    """A server-binding cursor on `connection` (PostgreSQL), as Django wraps its own."""
    import psycopg

    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


def text_array(values) -> str:
    """`{"a","b"}`: the values (as strings) in PostgreSQL's text form of an array, every element
    quoted and its quotes and backslashes escaped."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def constant_list(values) -> str:
    """`ARRAY['a','b']::text[]` of code constants (checked to be plain words), sorted."""
    words = sorted(str(v) for v in values)
    if not all(re.fullmatch(r"[a-z_]+", w) for w in words):  # pragma: no cover - constants of the caller
        raise ValueError("not a plain constant")
    return "ARRAY[" + ",".join(f"'{w}'" for w in words) + "]::text[]"
