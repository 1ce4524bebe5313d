"""What group buying's delivery adds to core (core.registry): the demo offer, arrived and
disinfected, ready for sorting (after the group-buy demo's leader, order 57)."""

from __future__ import annotations

from xiuhua.core.registry import DemoPart, HomePart, Sweep


def seed_demo() -> list[str]:
    from .demo_delivery import ensure_demo_delivery

    return ensure_demo_delivery()


PARTS: list[HomePart | DemoPart | Sweep] = [DemoPart("groupbuy_delivery", order=59, seed=seed_demo)]
