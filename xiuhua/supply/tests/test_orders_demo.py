"""seed_demo's votes, offers and orders: an open poll with votes and an open offer with orders."""

import io

import pytest
from django.core.management import call_command

from xiuhua.supply.models import Channel, Offer, OfferItem, Order, OrderLine, Poll, PollStatus, PollVote

pytestmark = pytest.mark.django_db


def test_seed_demo_writes_an_open_poll_and_an_open_offer_with_orders():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Group-buy orders: a vote of 2 vegetable offers with 6 votes; an open offer with 8 orders." in out.getvalue()
    poll = Poll.objects.get()
    assert poll.status == PollStatus.OPEN and poll.options.count() == 2
    assert PollVote.objects.filter(channel=Channel.BUILDING_LEAD).count() == 1
    offer = Offer.objects.get()
    channels = sorted(Order.objects.filter(offer=offer).values_list("channel", flat=True))
    assert channels == ["building_lead", "self", "self", "self", "self", "self", "self", "staff_phone"]
    for item in OfferItem.objects.filter(offer=offer):
        assert item.ordered == sum(OrderLine.objects.filter(item=item).values_list("quantity", flat=True))
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert (Poll.objects.count(), Offer.objects.count(), Order.objects.count()) == (1, 1, 8)
