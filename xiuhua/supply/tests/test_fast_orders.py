"""The gathered order statement (supply.fast_orders) on PostgreSQL: one statement places each of
its orders that may be placed and no other; a statement whose orders together want more than is
left writes nothing, and each order is then tried alone; orders that arrive while a statement runs
go together in the next one."""

import threading

import pytest
from django.db import DataError, connection, transaction

from xiuhua.core.models import AuditEvent
from xiuhua.supply import fast_orders
from xiuhua.supply import services_orders as orders
from xiuhua.supply.fast_orders import FastOrder, place_fast, run_statement
from xiuhua.supply.models import OfferItem, OfferItemStripe, Order, OrderLine
from xiuhua.testing import acting, build_world, wait_for

from .conftest import NOW
from .test_orders_race import LATER, _approved, _households

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _offer(world, available: int, cap: int):
    (filing,) = _approved(world)
    item = filing.items.get()
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={item.pk: (available, cap)},
                              orders_close_at=LATER, now=NOW)
    return offer, offer.items.get()


def _order(offer, item, household, phone: str, n: int) -> FastOrder:
    return FastOrder(offer_id=offer.pk, household_id=household.pk, phone=phone, packs={item.pk: n}, now=NOW)


def test_one_statement_places_each_of_its_orders_that_may_be_placed_and_no_other():
    world = build_world()
    offer, item = _offer(world, 100, 2)
    a, b, c = _households(world, 3)
    batch = [_order(offer, item, a, "13910000000", 2),
             _order(offer, item, b, "13910000000", 1),  # a's phone is no resident's of b
             _order(offer, item, c, "13910000002", 1)]
    run_statement(batch)
    placed = [o.order_id for o in batch]
    assert placed[1] is None and None not in (placed[0], placed[2])
    assert sorted(Order.objects.values_list("pk", "household_id", "amount")) == [
        (placed[0], a.pk, 130), (placed[2], c.pk, 65)]
    assert sorted(OrderLine.objects.values_list("order_id", "quantity")) == [(placed[0], 2), (placed[2], 1)]
    assert OfferItem.objects.get(pk=item.pk).ordered == 3
    events = AuditEvent.objects.filter(action="groupbuy_order_place").order_by("object_id")
    assert [(e.object_id, e.detail["items"], e.detail["phone"]) for e in events] == [
        (placed[0], {str(item.pk): 2}, "139****0000"), (placed[2], {str(item.pk): 1}, "139****0002")]


def test_a_statement_whose_orders_want_more_than_is_left_writes_nothing_and_each_is_tried_alone():
    world = build_world()
    offer, item = _offer(world, 3, 2)  # 3 packs: one stripe
    assert item.stripes == 1
    a, b = _households(world, 2)
    with pytest.raises(DataError):
        run_statement([_order(offer, item, a, "13910000000", 2), _order(offer, item, b, "13910000001", 2)])
    assert (Order.objects.count(), OrderLine.objects.count(), AuditEvent.objects.filter(
        action="groupbuy_order_place").count()) == (0, 0, 0)
    assert list(OfferItemStripe.objects.filter(item=item).values_list("ordered", flat=True)) == [0]

    first = place_fast(offer_id=offer.pk, household_id=a.pk, phone="13910000000", packs={item.pk: 2}, now=NOW)
    second = place_fast(offer_id=offer.pk, household_id=b.pk, phone="13910000001", packs={item.pk: 2}, now=NOW)
    assert first == Order.objects.get(household=a).pk and second is None
    assert OfferItem.objects.get(pk=item.pk).ordered == 2


def test_orders_arriving_while_a_statement_runs_go_together_in_the_next():
    world = build_world()
    offer, item = _offer(world, 100, 1)
    households = _households(world, 6)
    gatherer = fast_orders._gatherer
    before = (gatherer.statements_run, gatherer.orders_run)
    locked, release = threading.Event(), threading.Event()
    results: dict[int, int | None] = {}

    def hold_stripes():  # the first statement waits for these rows, so the others must queue
        try:
            with transaction.atomic():
                list(OfferItemStripe.objects.select_for_update().filter(item=item))
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def place(i: int):
        try:
            results[i] = place_fast(offer_id=offer.pk, household_id=households[i].pk, phone=f"1391000{i:04d}",
                                    packs={item.pk: 1}, now=NOW)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_stripes)
    holder.start()
    assert locked.wait(timeout=30)
    first = threading.Thread(target=place, args=(0,))
    first.start()
    wait_for(lambda: gatherer.statements_run == before[0] + 1, "the first statement")
    others = [threading.Thread(target=place, args=(i,)) for i in range(1, 6)]
    for thread in others:
        thread.start()
    wait_for(lambda: len(gatherer._queue) == 5, "five queued orders")
    release.set()
    for thread in (holder, first, *others):
        thread.join(timeout=60)
    assert sorted(results) == list(range(6)) and None not in results.values()
    assert (gatherer.statements_run - before[0], gatherer.orders_run - before[1]) == (2, 6)
    assert sorted(Order.objects.values_list("pk", flat=True)) == sorted(results.values())
    assert OfferItem.objects.get(pk=item.pk).ordered == 6
