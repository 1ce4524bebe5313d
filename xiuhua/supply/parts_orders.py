"""What group buying's votes, offers and orders add to core (core.registry): on the committee's
first page, polls and offers taking votes and orders now; the demo poll and offer; the sweep that
closes polls and offers at their time."""

from __future__ import annotations

from django.utils import timezone

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, Sweep


def running_work(user, membership) -> dict[str, int] | None:
    from .models import Offer, OfferStatus, Poll, PollStatus

    if not membership.has(Cap.RUN_GROUPBUY):
        return None
    now = timezone.now()
    return {
        "groupbuy_polls_open": Poll.objects.visible_to(user).filter(status=PollStatus.OPEN, closes_at__gt=now).count(),
        "groupbuy_offers_open": Offer.objects.visible_to(user).filter(status=OfferStatus.OPEN,
                                                                      orders_close_at__gt=now).count(),
    }


def seed_demo() -> list[str]:
    from .demo_orders import ensure_demo_orders

    return ensure_demo_orders()


PARTS: list[HomePart | DemoPart | Sweep] = [
    HomePart("groupbuy_orders", order=48, work=running_work, template="supply/orders/_home_work.html"),
    DemoPart("groupbuy_orders", order=58, seed=seed_demo),
    Sweep("groupbuy_orders_sweep", every=60),
]
