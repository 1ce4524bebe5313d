"""Caps of group buying under real parallel transactions (PostgreSQL): 64 households ordering the
last 10 packs get exactly 10; two votes of one household count once; a household's two orders at
once give one order."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F, Sum

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household
from xiuhua.supply import services
from xiuhua.supply import services_orders as orders
from xiuhua.supply.models import OfferItem, OfferItemStripe, Order, OrderLine, PollVote
from xiuhua.testing import acting, build_world, make_resident, run_parallel

from .conftest import LEADER_PHONE, NOW, add_documents, filing_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LATER = NOW + dt.timedelta(hours=8)


RICE = {"name": "大米", "unit": "kg", "pack_quantity": "10", "price": "65"}


def _approved(world, count=1, items=(RICE,)):
    leader = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    services.leader_decide(actor=acting(world.staff_a1), leader=leader, action="approve")
    add_documents(leader)
    made = []
    for n in range(count):
        filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, now=NOW, data=filing_data(
            supplier=f"供货商{n}", items=list(items)))
        made.append(services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve", now=NOW))
    return made


def _households(world, count):
    made = []
    for n in range(count):
        household = Household.objects.create(building=world.building_a1, room=f"{1001 + n}", grid=world.grid_a1)
        make_resident(household, f"住户{n}", mobile=f"1391000{n:04d}")
        made.append(household)
    return made


def _placed_and_refused(results: list, placed_as: type = Order) -> tuple[list, list]:
    """Parallel orders' results split into the placed and the refused; anything else (a deadlock,
    a crash) fails the test with what it was."""
    placed = [r for r in results if isinstance(r, placed_as)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    others = [r for r in results if not isinstance(r, (placed_as, ValidationError))]
    assert not others, others
    return placed, refused


def test_64_households_ordering_the_last_10_packs_get_exactly_10():
    world = build_world()
    (filing,) = _approved(world)
    item = filing.items.get()
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={item.pk: (10, 1)},
                              orders_close_at=LATER, now=NOW)
    offer_item = offer.items.get()
    households = _households(world, 64)

    def order(i):
        return orders.order_place(actor=None, offer=offer, household=households[i], phone=f"1391000{i:04d}",
                                  items={str(offer_item.pk): 1}, now=NOW)

    results = run_parallel(order, 64)
    placed, refused = _placed_and_refused(results)
    assert (len(placed), len(refused)) == (10, 54), results
    assert {tuple(r.messages) for r in refused} == {("大米已订完,剩余0份",)}
    assert OfferItem.objects.get(pk=offer_item.pk).ordered == 10
    assert Order.objects.count() == 10
    assert OrderLine.objects.aggregate(n=Sum("quantity"))["n"] == 10
    assert AuditEvent.objects.filter(action="groupbuy_order_place").count() == 10


def test_two_votes_of_one_household_at_once_count_once():
    world = build_world()
    filings = _approved(world, 2)
    poll = orders.poll_open(actor=acting(world.staff_a1), filings=filings, category="rice", title="大米选哪家",
                            closes_at=LATER, now=NOW)
    options = list(poll.options.all())

    def vote(i):
        # The same household's phone, twice at once, for different options.
        return orders.poll_vote(actor=None, poll=poll, option_id=options[i].pk, household=world.household_a1b,
                                phone=LEADER_PHONE, now=NOW)

    results = run_parallel(vote, 2)
    assert sorted(type(r).__name__ for r in results) == ["PollVote", "ValidationError"], results
    assert next(r for r in results if isinstance(r, ValidationError)).messages == ["您家已投过票"]
    assert PollVote.objects.count() == 1
    assert AuditEvent.objects.filter(action="groupbuy_poll_vote").count() == 1


def test_a_households_two_orders_at_once_give_one_order():
    world = build_world()
    (filing,) = _approved(world)
    item = filing.items.get()
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={item.pk: (100, 3)},
                              orders_close_at=LATER, now=NOW)
    offer_item = offer.items.get()
    lead = acting(world.grid_worker)
    world.household_a1.refresh_from_db()

    def order(i):
        if i == 0:
            return orders.order_place(actor=None, offer=offer, household=world.household_a1, phone="13812345678",
                                      items={str(offer_item.pk): 2}, now=NOW)
        return orders.order_place(actor=acting(type(lead).objects.get(pk=lead.pk)), offer=offer,
                                  household=world.household_a1, items={str(offer_item.pk): 1}, now=NOW)

    results = run_parallel(order, 2)
    placed, refused = _placed_and_refused(results)
    assert (len(placed), len(refused)) == (1, 1), results
    assert refused[0].messages == ["您家已在这个团购下过单,如需修改请先取消原订单"]
    assert Order.objects.count() == 1
    line = OrderLine.objects.get()
    assert OfferItem.objects.get(pk=offer_item.pk).ordered == line.quantity


def test_the_fast_path_writes_what_the_general_path_writes():
    world = build_world()
    (filing,) = _approved(world)
    item = filing.items.get()
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={item.pk: (100, 3)},
                              orders_close_at=LATER, now=NOW)
    offer_item = offer.items.get()
    households = _households(world, 2)
    fast = orders.order_place(actor=None, offer=offer, household=households[0], phone="13910000000",
                              items={str(offer_item.pk): 2}, now=NOW)
    general = orders.order_place(actor=None, offer=offer, household=households[1], phone="13910000001",
                                 items={str(offer_item.pk): 2}, now=NOW, fast=False)
    fields = ("offer_id", "committee_id", "building_id", "resident_id", "channel", "placed_by_id", "status",
              "amount", "created_at")
    a, b = (Order.objects.filter(pk=o.pk).values(*fields).get() for o in (fast, general))
    assert a["resident_id"] != b["resident_id"]
    assert {k: v for k, v in a.items() if k != "resident_id"} == {k: v for k, v in b.items() if k != "resident_id"}
    lines = [list(OrderLine.objects.filter(order=o).values_list("item_id", "quantity", "price", "allotted"))
             for o in (fast, general)]
    assert lines[0] == lines[1]
    events = [AuditEvent.objects.get(action="groupbuy_order_place", object_id=o.pk) for o in (fast, general)]
    for event in events:
        assert (event.object_type, event.committee_id, event.subject_label, event.actor_id) == (
            "supply.order", world.committee_a1.pk, offer.title, None)
    assert events[0].detail == {**events[1].detail, "phone": events[0].detail["phone"]}
    assert OfferItem.objects.get(pk=offer_item.pk).ordered == 4


def test_the_last_10_packs_spread_over_the_stripes_go_to_exactly_10_of_64_households():
    world = build_world()
    (filing,) = _approved(world)
    item = filing.items.get()
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={item.pk: (512, 1)},
                              orders_close_at=LATER, now=NOW)
    offer_item = offer.items.get()
    assert offer_item.stripes == 16
    # 502 packs ordered already: one left in each of stripes 0-9, none in 10-15.
    stripes = OfferItemStripe.objects.filter(item=offer_item)
    stripes.update(ordered=F("available"))
    stripes.filter(stripe__lt=10).update(ordered=F("available") - 1)
    households = _households(world, 64)

    def order(i):
        return orders.order_place(actor=None, offer=offer, household=households[i], phone=f"1391000{i:04d}",
                                  items={str(offer_item.pk): 1}, now=NOW)

    results = run_parallel(order, 64)
    placed, refused = _placed_and_refused(results)
    assert (len(placed), len(refused)) == (10, 54), results
    assert {tuple(r.messages) for r in refused} == {("大米已订完,剩余0份",)}
    assert list(stripes.order_by("stripe").values_list("ordered", "available")) == [(32, 32)] * 16
    assert OrderLine.objects.aggregate(n=Sum("quantity"))["n"] == 10


def test_parallel_orders_of_two_items_in_one_stripe_each_never_deadlock():
    # One stripe per item: every order updates the same two counter rows, which the order's
    # statement locks in item order (an UPDATE alone visits them in the table's physical order,
    # which each update changes, and two orders visiting them in opposite orders deadlock).
    world = build_world()
    (filing,) = _approved(world, items=(RICE, {"name": "鸡蛋", "unit": "盒", "pack_quantity": "1", "price": "20"}))
    rice, eggs = filing.items.order_by("position")
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={rice.pk: (30, 2), eggs.pk: (30, 2)},
                              orders_close_at=LATER, now=NOW)
    items = list(offer.items.order_by("position"))
    assert [item.stripes for item in items] == [1, 1]
    households = _households(world, 48)

    def order(i):
        return orders.order_fast_or_place(offer_id=offer.pk, household_id=households[i].pk,
                                          phone=f"1391000{i:04d}", items={str(items[0].pk): 1, str(items[1].pk): 1},
                                          now=NOW)

    results = run_parallel(order, 48)
    placed, refused = _placed_and_refused(results, placed_as=int)
    assert (len(placed), len(refused)) == (30, 18)
    assert {tuple(r.messages) for r in refused} == {("大米已订完,剩余0份",)}
    assert [OfferItem.objects.get(pk=item.pk).ordered for item in items] == [30, 30]
    assert OrderLine.objects.count() == 60
