"""Orders placed for a household by a building lead (楼组长) or by staff taking a call name the
living resident they are for (chosen, or the head of the household, else its first living
resident), and the household's label shows that resident's masked name as a self-order's does."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household, LivingStatus, Relation
from xiuhua.supply import picklists, services
from xiuhua.supply import services_delivery as d
from xiuhua.supply import services_orders as orders
from xiuhua.supply.models import Channel, OfferItem, Order, OrderLine
from xiuhua.testing import acting, as_user, make_resident

from .conftest import LEADER_PHONE, add_documents, filing_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(world, leader):
    """Eggs and the vegetable bundle, open for 5 hours."""
    now = timezone.now()
    add_documents(leader, now=now)
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(now=now), now=now)
    filing = services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve", now=now)
    eggs, bundle = filing.items.all()
    return orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={eggs.pk: (100, 3), bundle.pk: (3, 1)},
                             orders_close_at=now + dt.timedelta(hours=5))


@pytest.fixture
def family(world):
    """5号 1501: a son listed first, the head 王建华 second, a daughter who moved out third."""
    household = Household.objects.create(building=world.building_a1, room="1501", grid=world.grid_a1)
    son = make_resident(household, "王小明", relation=Relation.CHILD)
    head = make_resident(household, "王建华")
    gone = make_resident(household, "王丽", sex="F", relation=Relation.CHILD)
    gone.living_status = LivingStatus.MOVED_OUT
    gone.save()
    return household, son, head, gone


def snapshot():
    return (Order.objects.count(), OrderLine.objects.count(), [i.ordered for i in OfferItem.objects.with_ordered()],
            AuditEvent.objects.filter(action="groupbuy_order_place").count())


def test_the_head_by_default_else_the_first_living_resident(world, offer, family):
    household, son, head, gone = family
    eggs = offer.items.first()
    lead = acting(world.grid_worker)
    assert [r["name"] for r in orders.resident_choices(household)] == ["王**", "王**"]
    assert [(r["pk"], r["head"], r["default"]) for r in orders.resident_choices(household)] == [
        (head.pk, True, True), (son.pk, False, False)]
    order = orders.order_place(actor=lead, offer=offer, household=household, items={str(eggs.pk): 1})
    assert (order.resident, order.channel, order.placed_by) == (head, Channel.BUILDING_LEAD, world.grid_worker)
    # Without a head living there: the first living resident on the roster.
    orders.order_cancel(actor=lead, order=order)
    head.living_status = LivingStatus.DECEASED
    head.save()
    order = orders.order_place(actor=lead, offer=offer, household=household, items={str(eggs.pk): 1})
    assert order.resident == son
    # Nobody living there: no one named, as before.
    empty = Household.objects.create(building=world.building_a1, room="1502", grid=world.grid_a1)
    order = orders.order_place(actor=acting(world.staff_a1), offer=offer, household=empty, items={str(eggs.pk): 1})
    assert (order.resident, order.channel) == (None, Channel.STAFF_PHONE)


def test_the_lead_or_staff_chooses_a_living_resident_of_that_household(world, offer, family):
    household, son, head, gone = family
    eggs = offer.items.first()
    order = orders.order_place(actor=acting(world.staff_a1), offer=offer, household=household,
                               items={str(eggs.pk): 1}, resident_id=str(son.pk))
    assert Order.objects.get(pk=order.pk).resident == son
    orders.order_cancel(actor=acting(world.staff_a1), order=order)
    before = snapshot()
    for wrong in (world.resident_a1.pk, world.resident_a2.pk, gone.pk, "x"):
        with pytest.raises(ValidationError) as exc:
            orders.order_place(actor=acting(world.grid_worker), offer=offer, household=household,
                               items={str(eggs.pk): 1}, resident_id=wrong)
        assert exc.value.message_dict == {"resident": ["所选的居民不是这一户的在住居民,请重新选择下单人"]}
    assert snapshot() == before
    # A resident's own phone names the phone's resident, whatever is posted.
    mine = orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                              items={str(eggs.pk): 1}, resident_id=son.pk, fast=False)
    assert Order.objects.get(pk=mine.pk).resident == world.resident_a1b


def test_the_label_shows_the_masked_name_of_whom_the_order_is_for(world, offer, family):
    household, son, head, gone = family
    eggs, bundle = offer.items.order_by("position")
    staff = acting(world.staff_a1)
    orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                       items={str(eggs.pk): 2})
    orders.order_place(actor=acting(world.grid_worker), offer=offer, household=world.household_a1,
                       items={str(eggs.pk): 1})
    orders.order_place(actor=staff, offer=offer, household=household, items={str(bundle.pk): 1},
                       resident_id=son.pk)
    orders.offer_close(actor=staff, offer=offer)
    received = {eggs.pk: 3, bundle.pk: 1}
    plan = d.delivery_plan(offer, received, "")
    d.delivery_arrive(actor=staff, offer=offer, received=received, rule="", fingerprint=plan.fingerprint,
                      plate_matches=True, driver_matches=True, goods_match=True, note="")
    labels = [(b.name, h.room, h.name, h.packs) for b in picklists.buildings_of(offer, names=True)
              for h in b.households]
    assert labels == [("5号", "302", "张**", {eggs.pk: 1}), ("5号", "1501", "王**", {bundle.pk: 1}),
                      ("6号", "101", "李**", {eggs.pk: 2})]
    pdf, count = picklists.labels_pdf(offer)
    assert count == 3 and pdf.startswith(b"%PDF")


def test_the_lead_page_finds_the_household_and_orders_for_the_chosen_resident(client, world, offer, family):
    household, son, head, gone = family
    eggs = offer.items.first()
    lead = as_user(client, world.grid_worker)
    page = lead.get(reverse("supply:for_residents"), {"building": world.building_a1.pk, "room": "1501室"})
    html = page.content.decode()
    assert 'id="found-household"' in html and "5号1501室 · 王**(户主)、王**" in html
    assert "王建华" not in html and "王小明" not in html and "王丽" not in html and "王*" in html
    assert f'<option value="{head.pk}" selected>王**(户主)</option><option value="{son.pk}">王**</option>' in html
    assert f'id="for-resident-{offer.pk}"' in html
    response = lead.post(reverse("supply:order_for", args=[offer.pk]), {
        "building": world.building_a1.pk, "room": "1501", "resident": son.pk, f"qty-{eggs.pk}": "1", "next": "for"},
        follow=True)
    html = response.content.decode()
    assert "已为5号1501室王**下单(楼组长代下单),金额36.00元" in html
    assert "5号1501室 王** ·" in html  # 我代下的订单
    assert Order.objects.get().resident == son
    # A resident of another household: refused with the reason, nothing written.
    before = snapshot()
    response = lead.post(reverse("supply:order_for", args=[offer.pk]), {
        "building": world.building_a1.pk, "room": "302", "resident": son.pk, f"qty-{eggs.pk}": "1", "next": "for"},
        follow=True)
    assert "所选的居民不是这一户的在住居民,请重新选择下单人" in response.content.decode()
    assert snapshot() == before
    # Outside the lead's grid: the lookup says so and shows no one.
    page = lead.get(reverse("supply:for_residents"), {"building": world.building_a1b.pk, "room": "101"})
    html = page.content.decode()
    assert "在您负责的范围内找不到这一户,请核对楼号和室号" in html and 'id="found-household"' not in html
    assert "李**" not in html


def test_staff_taking_a_call_choose_on_the_offer_page(client, world, offer, family):
    household, son, head, gone = family
    eggs = offer.items.first()
    staff = as_user(client, world.staff_a1)
    html = staff.get(reverse("supply:offer", args=[offer.pk]),
                     {"building": world.building_a1.pk, "room": "1501"}).content.decode()
    assert 'id="order-resident"' in html
    assert f'<option value="{head.pk}" selected>王**(户主)</option>' in html
    staff.post(reverse("supply:order_for", args=[offer.pk]), {
        "building": world.building_a1.pk, "room": "1501", f"qty-{eggs.pk}": "1"})
    order = Order.objects.get()
    assert (order.resident, order.channel, order.placed_by) == (head, Channel.STAFF_PHONE, world.staff_a1)
    listing = staff.get(reverse("supply:offer_orders", args=[offer.pk])).content.decode()
    assert "王**" in listing and "王建华" not in listing

