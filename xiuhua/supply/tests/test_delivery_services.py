"""Delivery services: the gate check and its shortage (preview and confirm agree), disinfection,
sorting, the door; exact outcomes and audit events."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F as Field

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household
from xiuhua.supply import services
from xiuhua.supply import services_delivery as d
from xiuhua.supply.demo_delivery import closed_offer
from xiuhua.supply.models_orders import Delivery, Offer, OfferStatus, Order, OrderLine, OrderStatus
from xiuhua.testing import acting, make_user

from .conftest import LEADER_PHONE, NOW, filing_data

pytestmark = pytest.mark.django_db

F, P = "first_ordered", "proportional"


def approved_filing(world, leader):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(), now=NOW)
    return services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve", now=NOW)


def two_buildings(world, documented, packs=None):
    """Orders of 5号 (302, 1201, 101) and 6号 (101, 201), placed a minute apart in that order:
    eggs 3, 1, 2, 2, 0 (8) and vegetables 1, 1, 0, 1, 1 (4)."""
    h5_1201 = Household.objects.create(building=world.building_a1, room="1201")
    h5_101 = Household.objects.create(building=world.building_a1, room="101")
    h6_201 = Household.objects.create(building=world.building_a1b, room="201")
    households = [world.household_a1, h5_1201, h5_101, world.household_a1b, h6_201]
    packs = packs or [(3, 1), (1, 1), (2, 0), (2, 1), (0, 1)]
    offer = closed_offer(filing=approved_filing(world, documented), actor=acting(world.staff_a1),
                         orders=list(zip(households, packs, strict=True)), start=NOW, title="鸡蛋蔬菜团购")
    return offer, households


@pytest.fixture
def offer(world, documented):
    return two_buildings(world, documented)[0]


def items_of(offer):
    eggs, veg = offer.items.order_by("position")
    return eggs, veg


def rooms(plan):
    return [(b.name, [h.room for h in b.households]) for b in plan.buildings]


def allotted(offer):
    return {(o.building.name, o.household.room): [(line.quantity, line.allotted) for line in o.lines.all()]
            for o in Order.objects.filter(offer=offer).select_related("building", "household")}


def arrive(world, offer, received, rule=F, **checks):
    plan = d.delivery_plan(offer, received, rule)
    kwargs = {"plate_matches": True, "driver_matches": True, "goods_match": True, "note": ""} | checks
    return d.delivery_arrive(actor=acting(world.staff_a1), offer=offer, received=received, rule=rule,
                             fingerprint=plan.fingerprint, now=NOW + dt.timedelta(hours=3), **kwargs)


def test_the_preview_shows_each_household_per_building_and_who_gets_none(world, offer):
    eggs, veg = items_of(offer)
    plan = d.delivery_plan(offer, {eggs.pk: 4, veg.pk: 4}, F)
    assert rooms(plan) == [("5号", ["101", "302", "1201"]), ("6号", ["101", "201"])]
    assert [(b, h.room) for b, h in plan.unfilled] == [("5号", "101")]
    got = {(b.name, h.room): [(line.name, line.quantity, line.allotted) for line in h.lines]
           for b in plan.buildings for h in b.households}
    assert got == {
        ("5号", "302"): [("鸡蛋", 3, 3), ("蔬菜套餐", 1, 1)], ("5号", "1201"): [("鸡蛋", 1, 1), ("蔬菜套餐", 1, 1)],
        ("5号", "101"): [("鸡蛋", 2, 0)], ("6号", "101"): [("鸡蛋", 2, 0), ("蔬菜套餐", 1, 1)],
        ("6号", "201"): [("蔬菜套餐", 1, 1)]}
    assert [(i.ordered, i.received, i.given, i.short) for i in plan.items] == [(8, 4, 4, True), (4, 4, 4, False)]
    assert not Delivery.objects.exists()  # a preview writes nothing


def test_the_confirm_sets_every_line_and_leaves_orders_with_nothing_unfilled(world, offer):
    eggs, veg = items_of(offer)
    before_pk = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    arrive(world, offer, {eggs.pk: 4, veg.pk: 4}, F, goods_match=False, note="鸡蛋少到4份")
    offer.refresh_from_db()
    assert (offer.status, offer.short_rule) == (OfferStatus.ARRIVED, F)
    assert allotted(offer) == {
        ("5号", "302"): [(3, 3), (1, 1)], ("5号", "1201"): [(1, 1), (1, 1)], ("5号", "101"): [(2, 0)],
        ("6号", "101"): [(2, 0), (1, 1)], ("6号", "201"): [(1, 1)]}
    assert dict(Order.objects.filter(offer=offer).values_list("household__room", "status").filter(
        building__name="5号")) == {"302": "placed", "1201": "placed", "101": "unfilled"}
    eggs.refresh_from_db()
    veg.refresh_from_db()
    assert (eggs.received, veg.received) == (4, 4)
    delivery = Delivery.objects.get(offer=offer)
    assert (delivery.goods_match, delivery.check_note, delivery.checked_by_id) == (
        False, "鸡蛋少到4份", world.staff_a1.pk)
    assert list(AuditEvent.objects.filter(pk__gt=before_pk).order_by("pk").values_list("action", flat=True)) == [
        "groupbuy_order_leave_unfilled", "groupbuy_offer_arrive"]
    assert AuditEvent.objects.get(action="groupbuy_order_leave_unfilled").detail["count"] == 1


def test_enough_came_everyone_gets_their_order_and_no_rule_is_needed(world, offer):
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 9, veg.pk: 4}, rule="")
    offer.refresh_from_db()
    assert (offer.status, offer.short_rule) == (OfferStatus.ARRIVED, "")
    assert not OrderLine.objects.filter(order__offer=offer).exclude(allotted=Field("quantity")).exists()
    assert not Order.objects.filter(offer=offer, status=OrderStatus.UNFILLED).exists()


def test_a_shortage_needs_a_rule_and_a_mismatch_needs_a_note(world, offer):
    eggs, veg = items_of(offer)
    with pytest.raises(ValidationError, match="请选择缺货分配规则"):
        d.delivery_plan(offer, {eggs.pk: 4, veg.pk: 4}, "")
    with pytest.raises(ValidationError, match="请填写核对说明"):
        arrive(world, offer, {eggs.pk: 4, veg.pk: 4}, plate_matches=False)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CLOSED and not Delivery.objects.exists()


def test_the_confirm_refuses_when_the_orders_changed_after_the_preview(world, offer):
    eggs, veg = items_of(offer)
    received = {eggs.pk: 4, veg.pk: 4}
    plan = d.delivery_plan(offer, received, P)
    OrderLine.objects.filter(order__household=world.household_a1, item=eggs).update(quantity=2)
    with pytest.raises(ValidationError, match="预览之后订单有变化"):
        d.delivery_arrive(actor=acting(world.staff_a1), offer=offer, received=received, rule=P,
                          fingerprint=plan.fingerprint, plate_matches=True, driver_matches=True, goods_match=True,
                          note="")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CLOSED and not Delivery.objects.exists()
    assert not OrderLine.objects.filter(allotted__isnull=False).exists()


def test_orders_placed_in_the_same_second_go_by_their_number(world, offer):
    eggs, veg = items_of(offer)
    Order.objects.filter(offer=offer).update(created_at=NOW)
    plan = d.delivery_plan(offer, {eggs.pk: 3, veg.pk: 4}, F)
    first = Order.objects.filter(offer=offer).order_by("pk").first()
    assert [h.room for _b, h in plan.unfilled] == ["101"]  # 5号101 ordered eggs only and came third
    got = {h.order_id: h.lines[0].allotted for b in plan.buildings for h in b.households}
    assert got[first.pk] == 3


def test_nothing_came_leaves_every_order_unfilled_and_sorting_ends_the_offer(world, offer):
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 0, veg.pk: 0}, P)
    assert set(Order.objects.filter(offer=offer).values_list("status", flat=True)) == {OrderStatus.UNFILLED}
    staff = acting(world.staff_a1)
    d.delivery_disinfect(actor=staff, offer=offer, chlorine="250", wait="10", now=NOW + dt.timedelta(hours=3))
    d.delivery_sort(actor=staff, offer=offer, now=NOW + dt.timedelta(hours=4))
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DONE
    assert AuditEvent.objects.filter(action="groupbuy_offer_finish").count() == 1


@pytest.mark.parametrize("chlorine, wait, message", [
    ("249", "10", "含氯消毒液浓度须在 250-500 mg/L 之间"), ("501", "10", "含氯消毒液浓度须在 250-500 mg/L 之间"),
    ("abc", "10", "含氯消毒液浓度须在"), ("300", "9", "作用时间须在 10-30 分钟之间"),
    ("300", "31", "作用时间须在 10-30 分钟之间"), ("300", "", "作用时间须在")])
def test_disinfection_out_of_range_is_refused(world, offer, chlorine, wait, message):
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 8, veg.pk: 4}, "")
    with pytest.raises(ValidationError, match=message):
        d.delivery_disinfect(actor=acting(world.staff_a1), offer=offer, chlorine=chlorine, wait=wait)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ARRIVED
    assert Delivery.objects.get(offer=offer).disinfected_at is None


def test_sorting_waits_for_the_disinfectant_then_records_who(world, offer):
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 8, veg.pk: 4}, "")
    staff = acting(world.staff_a1)
    at = NOW + dt.timedelta(hours=3, minutes=10)  # 13:10 in Shanghai
    delivery = d.delivery_disinfect(actor=staff, offer=offer, chlorine=500, wait=30, now=at)
    assert (delivery.chlorine_mg_l, delivery.wait_minutes, delivery.disinfected_by_id) == (500, 30, staff.pk)
    assert delivery.released_at == at + dt.timedelta(minutes=30)
    with pytest.raises(ValidationError, match="消杀作用时间未到,13:40 后才能分拣"):
        d.delivery_sort(actor=staff, offer=offer, now=at + dt.timedelta(minutes=29))
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DISINFECTED
    delivery = d.delivery_sort(actor=staff, offer=offer, now=at + dt.timedelta(minutes=30))
    offer.refresh_from_db()
    assert (offer.status, delivery.sorted_at, delivery.sorted_by_id) == (
        OfferStatus.SORTED, at + dt.timedelta(minutes=30), staff.pk)


def sorted_offer(world, offer, received=None):
    eggs, veg = items_of(offer)
    arrive(world, offer, received or {eggs.pk: 4, veg.pk: 4}, F)
    staff = acting(world.staff_a1)
    d.delivery_disinfect(actor=staff, offer=offer, chlorine=300, wait=10, now=NOW + dt.timedelta(hours=3))
    d.delivery_sort(actor=staff, offer=offer, now=NOW + dt.timedelta(hours=4))
    return offer


def test_the_door_delivers_once_and_the_last_order_ends_the_offer(world, offer):
    sorted_offer(world, offer)
    volunteer = acting(world.volunteer)
    live = list(Order.objects.filter(offer=offer, status=OrderStatus.PLACED).order_by("pk"))
    assert len(live) == 4
    first = d.order_deliver(actor=volunteer, order=live[0], now=NOW + dt.timedelta(hours=5))
    assert first.now and (first.order.status, first.order.delivered_by_id) == (OrderStatus.DELIVERED, volunteer.pk)
    events = AuditEvent.objects.filter(action="groupbuy_order_deliver").count()
    again = d.order_deliver(actor=acting(world.staff_a1), order=live[0], now=NOW + dt.timedelta(hours=6))
    assert not again.now
    assert (again.order.delivered_at, again.order.delivered_by_id) == (NOW + dt.timedelta(hours=5), volunteer.pk)
    assert AuditEvent.objects.filter(action="groupbuy_order_deliver").count() == events == 1
    for order in live[1:-1]:
        d.order_deliver(actor=volunteer, order=order)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.SORTED
    d.order_deliver(actor=volunteer, order=live[-1])
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.DONE


def test_the_door_refuses_before_sorting_and_outside_the_committee(world, offer):
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 8, veg.pk: 4}, "")
    order = Order.objects.filter(offer=offer).first()
    with pytest.raises(ValidationError, match="尚未分拣完成"):
        d.order_deliver(actor=acting(world.volunteer), order=order)
    other = make_user("volunteer_a2", "volunteer", world.committee_a2)
    with pytest.raises(PermissionDenied):
        d.order_deliver(actor=acting(world.pharmacy_clerk), order=order)
    sorted_offer_rest(world, offer)
    with pytest.raises(PermissionDenied):
        d.order_deliver(actor=acting(other), order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def sorted_offer_rest(world, offer):
    staff = acting(world.staff_a1)
    d.delivery_disinfect(actor=staff, offer=offer, chlorine=300, wait=10, now=NOW + dt.timedelta(hours=3))
    d.delivery_sort(actor=staff, offer=offer, now=NOW + dt.timedelta(hours=4))


def test_a_volunteer_sees_the_orders_of_their_committee_only(world, offer):
    assert Order.objects.visible_to(acting(world.volunteer)).count() == 5
    other = make_user("volunteer_a2", "volunteer", world.committee_a2)
    assert Order.objects.visible_to(acting(other)).count() == 0
    # The building lead of a grid still sees the grid's households only (5号302).
    assert list(Order.objects.visible_to(acting(world.grid_worker)).values_list("household__room", flat=True)) == [
        "302"]


def test_door_keys_are_unguessable_and_checked(world, offer):
    order = Order.objects.filter(offer=offer).first()
    key = d.door_key(order.pk)
    assert d.order_of_key(key) == order.pk
    assert d.order_of_key(key.lower()) == order.pk
    assert d.order_of_key(f"{order.pk}-AAAAAAAA") is None
    assert d.door_url(order.pk).endswith(f"/supply/o/{key}/")


def test_sorting_texts_each_household_with_a_mobile_once(world, offer):
    from xiuhua.sms.models import OutboundSms

    sorted_offer(world, offer)
    texts = OutboundSms.objects.filter(purpose="groupbuy_on_way").order_by("phone")
    assert [(t.phone, t.text) for t in texts] == [
        ("13812340000", "【绣花针】您在国和一村团购的物资已分拣,志愿者正在送货上门,请留意门口。"),
        ("13812345678", "【绣花针】您在国和一村团购的物资已分拣,志愿者正在送货上门,请留意门口。")]
    assert AuditEvent.objects.get(action="groupbuy_offer_sort").detail["texts"] == 2
