"""The usual resident order in one PostgreSQL statement, with the orders that arrive together in
one process gathered into one statement and one commit (group commit).

`place_fast(...)` gives the new order's id, or None with nothing written for anything unusual (a
repeat, an item run out, a cap, a closed offer, another phone's household), which the general
path in services_orders then explains.

Why gather: every order of an offer is a short statement whose cost is mostly fixed (the
protocol, the executor's start, the transaction, the WAL flush at COMMIT), and the flush makes
each committing order wait for the disk. Orders are gathered the way PostgreSQL gathers commits:
the first thread to arrive runs the statement for itself; threads that arrive while it runs
queue; when it is done, the first of them runs one statement for all that queued. Nobody waits
for a timer, and a lone order runs at once. A gathered statement that fails as a whole (one of
its orders took fewer packs than it wanted, a deadlock) is retried order by order, each on its
own thread, so one order never refuses another.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from dataclasses import dataclass, field

from django.db import DatabaseError, DataError, connection, transaction

from xiuhua.core.crypto import mask_phone
from xiuhua.core.pgstatements import constant_list, prepared_cursor, text_array

from .services import LIVING

MAX_GATHERED = 32  # orders in one statement at most


# One statement for a batch of orders k = 1..n (the orders as arrays, their lines as arrays keyed
# by k). Its text is fixed, so psycopg prepares it once per connection and later batches skip the
# planner. Per order, as for one: `who` finds the household only where the phone is a living
# resident's mobile, in the offer's compound, with the offer open and every wanted item of the
# offer within its cap. `home` then locks the stripes the batch's orders take from, in item and
# stripe order, before any order is inserted: the general path also takes its packs before it
# inserts, and every path locks an item's stripes in stripe order, items in item order (two
# orders of one household, one by each path, would otherwise each hold what the other waits for:
# the stripe and the one-live-order index entry). `ins` inserts the orders once the stripes are
# held; ON CONFLICT DO NOTHING is the one live order per household and offer (a batch never holds
# one household's order for one offer twice). `upd` takes each stripe's packs for all the batch's
# inserted orders at once, only where they are left (rechecked on the locked row); the lines and
# the audit events follow. When the orders inserted did not get every pack they wanted, the last
# column divides by zero: the error aborts the whole statement, so nothing of it stays, and each
# order is tried again alone.
_STATEMENT = f"""
WITH ord AS (
  SELECT * FROM unnest(%(k)s::text::int[], %(offer)s::text::bigint[], %(household)s::text::bigint[],
                       %(phone)s::text::text[], %(masked)s::text::text[], %(now)s::text::timestamptz[])
    AS o(k, offer_id, household_id, phone, masked, now)),
want AS (SELECT * FROM unnest(%(line_k)s::text::int[], %(item)s::text::bigint[], %(packs)s::text::int[])
  AS w(k, item_id, n)),
priced AS (
  SELECT w.k, w.item_id, w.n, fi.price, mod(o.household_id, i.stripes) AS stripe
  FROM want w JOIN ord o ON o.k = w.k
  JOIN supply_offeritem i ON i.id = w.item_id AND i.offer_id = o.offer_id AND w.n >= 1 AND w.n <= i.per_household
  JOIN supply_filingitem fi ON fi.id = i.filing_item_id),
who AS (
  SELECT DISTINCT ON (o.k) o.k, o.offer_id, o.now, o.masked, h.id AS household_id, h.building_id,
         f.committee_id, f.title, r.id AS resident_id
  FROM ord o
  JOIN residents_household h ON h.id = o.household_id
  JOIN supply_offer f ON f.id = o.offer_id AND f.compound_id = h.compound_id AND f.status = 'open'
    AND f.orders_close_at > o.now
  JOIN residents_resident r ON r.household_id = h.id AND r.mobile = o.phone
    AND r.living_status = ANY({constant_list(LIVING)})
  WHERE (SELECT count(*) FROM priced p WHERE p.k = o.k) = (SELECT count(*) FROM want w WHERE w.k = o.k)
  ORDER BY o.k, r.id),
taking AS (SELECT p.* FROM priced p JOIN who USING (k)),
home AS (
  SELECT s.id, s.item_id, s.stripe FROM supply_offeritemstripe s
  WHERE (s.item_id, s.stripe) IN (SELECT item_id, stripe FROM taking)
  ORDER BY s.item_id, s.stripe FOR UPDATE OF s),
ins AS (
  INSERT INTO supply_order (offer_id, committee_id, building_id, household_id, resident_id, channel, placed_by_id,
                            status, amount, created_at, delivered_at, delivered_by_id)
  SELECT who.offer_id, who.committee_id, who.building_id, who.household_id, who.resident_id, 'self', NULL, 'placed',
         (SELECT sum(t.n * t.price) FROM taking t WHERE t.k = who.k), who.now, NULL, NULL
  FROM who
  WHERE (SELECT count(*) FROM home) = (SELECT count(DISTINCT (item_id, stripe)) FROM taking)
  ORDER BY who.k
  ON CONFLICT DO NOTHING RETURNING id, offer_id, household_id),
got AS (SELECT who.*, ins.id AS order_id FROM ins JOIN who USING (offer_id, household_id)),
need AS (
  SELECT home.id, sum(t.n) AS n FROM got JOIN taking t USING (k)
  JOIN home ON home.item_id = t.item_id AND home.stripe = t.stripe GROUP BY home.id),
upd AS (
  UPDATE supply_offeritemstripe s SET ordered = s.ordered + need.n FROM need
  WHERE s.id = need.id AND s.ordered + need.n <= s.available
  RETURNING s.id),
lines AS (
  INSERT INTO supply_orderline (order_id, item_id, quantity, price, allotted)
  SELECT got.order_id, t.item_id, t.n, t.price, NULL FROM got JOIN taking t USING (k) ORDER BY got.k, t.item_id
  RETURNING id),
aud AS (
  INSERT INTO core_auditevent (at, actor_id, actor_role, action, personal, object_type, object_id, committee_id,
                               subject_label, reason, detail)
  SELECT got.now, NULL, '', 'groupbuy_order_place', false, 'supply.order', got.order_id, got.committee_id,
         left(got.title, 200), '',
         jsonb_build_object('channel', 'self',
                            'items', (SELECT jsonb_object_agg(t.item_id::text, t.n) FROM taking t WHERE t.k = got.k),
                            'amount', (SELECT sum(t.n * t.price) FROM taking t WHERE t.k = got.k)::text,
                            'phone', got.masked)
  FROM got ORDER BY got.k RETURNING id)
SELECT (SELECT coalesce(string_agg(k || ':' || order_id, ','), '') FROM got),
       1 / ((SELECT count(*) FROM upd) = (SELECT count(*) FROM need)
            AND (SELECT count(*) FROM lines) = (SELECT count(*) FROM got JOIN taking USING (k))
            AND (SELECT count(*) FROM aud) = (SELECT count(*) FROM got))::int
"""


@dataclass(eq=False)
class FastOrder:
    """One resident's order as the statement takes it: the items' packs, by item id."""

    offer_id: int
    household_id: int
    phone: str
    packs: dict[int, int]
    now: dt.datetime
    taken: bool = False  # in a statement now
    done: bool = False
    order_id: int | None = None
    alone: bool = False  # the batch failed as a whole: try again alone
    error: BaseException | None = field(default=None, repr=False)


def run_statement(orders: list[FastOrder]) -> None:
    """The statement for `orders` on this thread's connection; each order's `order_id` is set
    where it was placed. DataError (fewer packs taken than wanted) and any other database error
    reach the caller with nothing written. Inside a transaction (a test, a caller's atomic block)
    the statement runs in a savepoint; outside one it is its own transaction, so the items' stripes
    are locked only while PostgreSQL runs it, never while Python waits for a COMMIT."""
    lines = [(k, item, order.packs[item]) for k, order in enumerate(orders, 1) for item in sorted(order.packs)]
    params: dict[str, str] = {
        "k": text_array(range(1, len(orders) + 1)),
        "offer": text_array(o.offer_id for o in orders),
        "household": text_array(o.household_id for o in orders),
        "phone": text_array(o.phone for o in orders),
        "masked": text_array(mask_phone(o.phone) for o in orders),
        "now": text_array(o.now.isoformat() for o in orders),
        "line_k": text_array(k for k, _item, _n in lines),
        "item": text_array(item for _k, item, _n in lines),
        "packs": text_array(n for _k, _item, n in lines),
    }
    with (transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext(),
          prepared_cursor(connection) as cursor):
        cursor.execute(_STATEMENT, params)
        placed, _ok = cursor.fetchone()
    ids = dict(pair.split(":") for pair in placed.split(",")) if placed else {}
    for k, order in enumerate(orders, 1):
        order.order_id = int(ids[str(k)]) if str(k) in ids else None


class Gatherer:
    """Group commit in one process: see the module's docstring."""

    def __init__(self) -> None:
        self._turn = threading.Condition(threading.Lock())
        self._queue: list[FastOrder] = []
        # One statement at a time: orders that arrive while it runs wait for the next, which
        # carries them all (bench/supply.py: about an eighth more orders a second than a statement
        # per order). The cost: a statement that waits for a lock (an offer being cancelled) holds
        # up the process's other orders until it is through.
        self._running = False
        self.statements_run = 0  # for tests and a look at how well orders gather
        self.orders_run = 0

    def place(self, order: FastOrder) -> int | None:
        with self._turn:
            self._queue.append(order)
        while True:
            with self._turn:
                while (order.taken or self._running) and not order.done:
                    self._turn.wait()
                if order.done:
                    break
                # This thread runs the next statement, for what is queued (its own order among
                # them unless 32 were ahead of it or its household's earlier order is).
                self._running = True
                batch, rest = _one_per_household(self._queue[:MAX_GATHERED])
                self._queue[:MAX_GATHERED] = rest
                for queued in batch:
                    queued.taken = True
                self.statements_run += 1
                self.orders_run += len(batch)
            self._run(batch)
        return _outcome(order)

    def _run(self, batch: list[FastOrder]) -> None:
        try:
            run_statement(batch)
        except DatabaseError as exc:  # nothing was written
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for queued in batch:
                    queued.alone = True
        finally:
            with self._turn:
                for queued in batch:
                    queued.done = True
                self._running = False
                self._turn.notify_all()


def _outcome(order: FastOrder) -> int | None:
    """On the order's own thread: its id, None for a refusal, its error, or its retry alone."""
    if order.alone:
        return place_alone(order)
    if isinstance(order.error, DataError):
        return None
    if order.error is not None:
        raise order.error
    return order.order_id


def _one_per_household(queued: list[FastOrder]) -> tuple[list[FastOrder], list[FastOrder]]:
    """The queued orders to run now, at most one per household and offer, and the others (left
    queued, in their order, for the next statement)."""
    seen: set[tuple[int, int]] = set()
    batch: list[FastOrder] = []
    rest: list[FastOrder] = []
    for order in queued:
        key = (order.offer_id, order.household_id)
        (rest if key in seen else batch).append(order)
        seen.add(key)
    return batch, rest


def place_alone(order: FastOrder) -> int | None:
    """`order` in a statement of its own; None for a refusal (nothing written)."""
    order.alone, order.error = False, None
    try:
        run_statement([order])
    except DataError:
        return None
    return order.order_id


_gatherer = Gatherer()


def place_fast(*, offer_id: int, household_id: int, phone: str, packs: dict[int, int], now: dt.datetime) -> int | None:
    """The order's id once placed by the statement, gathered with others arriving at once; None
    with nothing written for anything the general path must explain. Inside a caller's
    transaction the order runs alone, in that transaction."""
    order = FastOrder(offer_id=offer_id, household_id=household_id, phone=phone, packs=packs, now=now)
    if connection.in_atomic_block:
        return place_alone(order)
    return _gatherer.place(order)
