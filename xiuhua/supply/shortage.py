"""Sharing out a short delivery (缺货分配): pure functions, no database.

For one item, `share(rule, received, wants)` says how many packs each order gets of the packs
that came. `wants` are (order id, packs ordered) in the order the orders were placed (the caller
sorts by placing time, then id, so two orders placed in the same second keep a fixed order).
When enough came, every order gets what it ordered, whatever the rule. Otherwise:

- PROPORTIONAL: each order gets its share of what came, rounded down
  (floor(ordered * received / total)); the packs left over go one at a time to the orders in the
  order placed, skipping any that has all it ordered, round after round until none is left.
- ONE_EACH_FIRST: one pack to every order in the order placed while packs last; then the rest in
  the order placed, each order filled up to what it ordered before the next.
- FIRST_ORDERED: whole orders in the order placed; the first order that no longer fits whole gets
  what is left, and the orders after it get nothing (no pack that came stays in the warehouse).

Every rule gives out exactly min(received, total) packs and never more than an order asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from .models_orders import ShortRule

Want = tuple[int, int]  # (order id, packs ordered)


def share(rule: str, received: int, wants: Sequence[Want]) -> dict[int, int]:
    """Packs per order id for one item."""
    if received < 0:
        raise ValueError("received must not be negative")
    total = sum(quantity for _order, quantity in wants)
    if received >= total:
        return {order: quantity for order, quantity in wants}
    if rule == ShortRule.PROPORTIONAL:
        return _proportional(received, total, wants)
    if rule == ShortRule.ONE_EACH_FIRST:
        return _one_each_first(received, wants)
    if rule == ShortRule.FIRST_ORDERED:
        return _first_ordered(received, wants)
    raise ValueError(f"unknown rule {rule!r}")


def _proportional(received: int, total: int, wants: Sequence[Want]) -> dict[int, int]:
    given = {order: quantity * received // total for order, quantity in wants}
    left = received - sum(given.values())
    while left:
        for order, quantity in wants:
            if left and given[order] < quantity:
                given[order] += 1
                left -= 1
    return given


def _one_each_first(received: int, wants: Sequence[Want]) -> dict[int, int]:
    given = {order: 0 for order, _quantity in wants}
    left = received
    for order, _quantity in wants:
        if not left:
            break
        given[order] = 1
        left -= 1
    for order, quantity in wants:
        if not left:
            break
        more = min(quantity - given[order], left)
        given[order] += more
        left -= more
    return given


def _first_ordered(received: int, wants: Sequence[Want]) -> dict[int, int]:
    given = {}
    left = received
    for order, quantity in wants:
        given[order] = min(quantity, left)
        left -= given[order]
    return given
