"""Two volunteers scanning the same label at once deliver it once (PostgreSQL, real parallel
transactions); the last two orders of an offer delivered at once end the offer once."""

import datetime as dt

import pytest

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household
from xiuhua.supply import services
from xiuhua.supply import services_delivery as d
from xiuhua.supply.demo_delivery import closed_offer
from xiuhua.supply.models_orders import Offer, OfferStatus, Order, OrderStatus
from xiuhua.testing import acting, build_world, make_user, run_parallel

from .conftest import LEADER_PHONE, NOW, add_documents, filing_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sorted_offer(w) -> Offer:
    staff = acting(w.staff_a1)
    leader = services.leader_decide(actor=staff, action="approve", leader=services.leader_apply(
        actor=None, resident=w.resident_a1b, phone=LEADER_PHONE))
    add_documents(leader)
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(), now=NOW)
    services.filing_decide(actor=staff, filing=filing, action="approve", now=NOW)
    other = Household.objects.create(building=w.building_a1, room="1201")
    offer = closed_offer(filing=filing, actor=staff, orders=[(w.household_a1, (1, 1)), (other, (1, 0))], start=NOW)
    received = {item.pk: item.ordered for item in offer.items.all()}
    plan = d.delivery_plan(offer, received, "")
    d.delivery_arrive(actor=staff, offer=offer, plate_matches=True, driver_matches=True, goods_match=True, note="",
                      received=received, rule="", fingerprint=plan.fingerprint, now=NOW + dt.timedelta(hours=1))
    d.delivery_disinfect(actor=staff, offer=offer, chlorine=300, wait=10, now=NOW + dt.timedelta(hours=1))
    d.delivery_sort(actor=staff, offer=offer, now=NOW + dt.timedelta(hours=2))
    return offer


def deliver_as(usernames, orders):
    def act(i):
        from xiuhua.accounts.models import User

        actor = acting(User.objects.get(username=usernames[i]))
        return d.order_deliver(actor=actor, order=Order.objects.get(pk=orders[i]))

    return act


def test_two_volunteers_scanning_one_label_deliver_it_once():
    w = build_world()
    make_user("volunteer2", "volunteer", w.committee_a1)
    offer = sorted_offer(w)
    order = Order.objects.get(offer=offer, household=w.household_a1)
    results = run_parallel(deliver_as(["volunteer", "volunteer2"], [order.pk, order.pk]), 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.now for r in results) == [False, True]
    winner = next(r for r in results if r.now)
    order.refresh_from_db()
    assert (order.status, order.delivered_by_id) == (OrderStatus.DELIVERED, winner.order.delivered_by_id)
    assert AuditEvent.objects.filter(action="groupbuy_order_deliver").count() == 1
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.SORTED


def test_the_last_two_orders_delivered_at_once_end_the_offer_once():
    w = build_world()
    make_user("volunteer2", "volunteer", w.committee_a1)
    offer = sorted_offer(w)
    orders = list(Order.objects.filter(offer=offer).order_by("pk").values_list("pk", flat=True))
    results = run_parallel(deliver_as(["volunteer", "volunteer2"], orders), 2)
    assert [r.now for r in results] == [True, True]
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.DONE
    assert AuditEvent.objects.filter(action="groupbuy_offer_finish").count() == 1
