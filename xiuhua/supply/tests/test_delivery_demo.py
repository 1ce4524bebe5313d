"""seed_demo's group-buy delivery: an offer arrived short and disinfected, ready for sorting."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from xiuhua.supply.demo_delivery import DEMO_TITLE
from xiuhua.supply.models_orders import Delivery, Offer, OfferStatus, Order, OrderLine

pytestmark = pytest.mark.django_db


def test_seed_demo_leaves_an_offer_ready_for_sorting():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Group-buy delivery: " in out.getvalue()
    offer = Offer.objects.get(title=DEMO_TITLE)
    assert (offer.status, offer.short_rule) == (OfferStatus.DISINFECTED, "proportional")
    delivery = Delivery.objects.get(offer=offer)
    assert (delivery.chlorine_mg_l, delivery.wait_minutes) == (500, 20)
    assert delivery.released_at < timezone.now()
    assert Order.objects.filter(offer=offer).values("building").distinct().count() == 2
    first = offer.items.order_by("position").first()
    assert first.received == first.ordered - 4
    assert sum(OrderLine.objects.filter(item=first).values_list("allotted", flat=True)) == first.received
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert Offer.objects.filter(title=DEMO_TITLE).count() == 1
