"""seed_demo's votes, offers and orders: an open poll with votes and an open offer with orders."""

import io

import pytest
from django.core.management import call_command

from xiuhua.supply.models import Channel, Offer, OfferItem, Order, OrderLine, Poll, PollStatus, PollVote

pytestmark = pytest.mark.django_db


def test_seed_demo_writes_an_open_poll_and_an_open_offer_with_orders(client):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Group-buy orders: a vote of 2 vegetable offers with 6 votes; an open offer with 8 orders." in out.getvalue()
    poll = Poll.objects.get()
    assert poll.status == PollStatus.OPEN and poll.options.count() == 2
    assert PollVote.objects.filter(channel=Channel.BUILDING_LEAD).count() == 1
    offer = Offer.objects.get(status="open")  # the delivery demo's offer is past ordering
    channels = sorted(Order.objects.filter(offer=offer).values_list("channel", flat=True))
    assert channels == ["building_lead", "self", "self", "self", "self", "self", "self", "staff_phone"]
    for item in OfferItem.objects.filter(offer=offer):
        assert item.ordered == sum(OrderLine.objects.filter(item=item).values_list("quantity", flat=True))
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert (Poll.objects.count(), Offer.objects.filter(status="open").count(),
            Order.objects.filter(offer=offer).count()) == (1, 1, 8)
    # The demo accounts see it on their pages.
    from django.urls import reverse

    from xiuhua.accounts.models import User

    client.force_login(User.objects.get(username="committee"))
    home = client.get("/").content.decode()
    assert 'id="work-groupbuy-polls"' in home and 'id="work-groupbuy-offers"' in home
    for url in (reverse("supply:polls"), reverse("supply:poll", args=[poll.pk]), reverse("supply:offers"),
                reverse("supply:offer", args=[offer.pk]), reverse("supply:offer_orders", args=[offer.pk]),
                reverse("supply:for_residents")):
        assert client.get(url).status_code == 200, url
    client.force_login(User.objects.get(username="grid"))
    page = client.get(reverse("supply:for_residents")).content.decode()
    assert f'id="for-offer-{offer.pk}"' in page and f'id="for-poll-{poll.pk}"' in page
