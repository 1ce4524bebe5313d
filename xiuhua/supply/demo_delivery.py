"""Demo delivery for `seed_demo`, and the ORM builder of a closed offer that it and the delivery
tests share.

In the demo committee (the `committee` account's), after the group-buy demo (its leader, with
valid documents): an offer on the demo's approved filing (rice and a vegetable bundle; a new
approved filing when an offer has that one already) took orders
from households of two buildings, closed, arrived with the first item short (shared in proportion) and
was disinfected 40 minutes ago with a 20-minute wait, so it is ready for sorting: `make demo`
shows the pick lists, the labels and the door pages. Idempotent: nothing is written when the
committee has the demo offer already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household, Resident

from .models import Filing, Leader
from .models_orders import Category, Channel, Offer, OfferItem, OfferItemStripe, Order, OrderLine, stripe_shares

DEMO_TITLE = "本周保供团购(演示)"


def closed_offer(*, filing: Filing, actor, orders: Sequence[tuple[Household, Sequence[int]]], start: dt.datetime,
                 title: str = "", available: Sequence[int] | None = None) -> Offer:
    """An offer on `filing` with one order per (household, packs of each item, 0 for none), placed
    a minute apart from `start` in the order given, then closed by `actor` (RUN_GROUPBUY). The
    orders are written with the ORM, as the order pages would leave them."""
    items = list(filing.items.order_by("position", "pk"))
    offer = Offer.objects.create(committee_id=filing.committee_id, compound=filing.leader.compound, filing=filing,
                                 category=Category.OTHER, title=title or f"{filing.supplier} 团购",
                                 orders_close_at=start + dt.timedelta(hours=2), opened_by=actor, created_at=start)
    offer_items = OfferItem.objects.bulk_create([
        OfferItem(offer=offer, filing_item=item, position=n, per_household=10, available=packs,
                  stripes=len(stripe_shares(packs)))
        for n, item in enumerate(items)
        for packs in [available[n] if available else 10 * max(len(orders), 1)]])
    residents = {r.household_id: r for r in Resident.objects.filter(household__in=[h for h, _q in orders])
                 .order_by("-pk")}
    placed = Order.objects.bulk_create([
        Order(offer=offer, committee_id=filing.committee_id, building_id=household.building_id, household=household,
              resident=residents.get(household.pk), channel=Channel.SELF, created_at=start + dt.timedelta(minutes=n),
              amount=sum((Decimal(q) * item.price for q, item in zip(packs, items, strict=True)), Decimal("0")))
        for n, (household, packs) in enumerate(orders)])
    OrderLine.objects.bulk_create([
        OrderLine(order=order, item=offer_item, quantity=q, price=offer_item.filing_item.price)
        for order, (_household, packs) in zip(placed, orders, strict=True)
        for q, offer_item in zip(packs, offer_items, strict=True) if q])
    OfferItemStripe.objects.bulk_create([
        row for n, offer_item in enumerate(offer_items)
        for row in OfferItemStripe.split(offer_item, ordered=sum(packs[n] for _h, packs in orders))])
    return move(offer, "close", actor=actor)


def _new_filing(leader: Leader, staff, now: dt.datetime) -> Filing:
    from . import services

    filing = services.filing_submit(actor=None, phone=leader.resident.mobile, leader=leader,
                                    now=now - dt.timedelta(hours=6), data={
        "supplier": "上海鲜达食品有限公司", "supplier_licence": "JY13101100012345", "driver_name": "王师傅",
        "driver_phone": "13900001234", "vehicle_plate": "沪A12345",
        "window_start": now - dt.timedelta(hours=1), "window_end": now + dt.timedelta(hours=1),
        "items": [{"name": "鸡蛋", "unit": "枚", "pack_quantity": "30", "price": "33"},
                  {"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": "58",
                   "contents": "土豆 1kg\n青菜 500g\n番茄 500g\n洋葱 500g"}]})
    return services.filing_decide(actor=staff, filing=filing, action="approve")


def ensure_demo_delivery() -> list[str]:
    from . import services_delivery
    from .demo_groupbuy import _acting

    staff = _acting("committee")
    if staff is None:
        return []
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    if Offer.objects.filter(committee=committee, title=DEMO_TITLE).exists():
        return []
    leader = Leader.objects.filter(committee=committee, status="approved").select_related("resident").first()
    if leader is None:
        return []
    compound = leader.compound
    buildings = list(OrgUnit.objects.filter(kind=Kind.BUILDING, parent=compound).in_natural_order()[:2])
    households = [h for b in buildings for h in Household.objects.filter(building=b).in_natural_order()[:6]]
    if not households:
        return []
    now = timezone.now()
    # The group-buy demo's approved filing, unless an offer took it already; else a new one.
    filing = (Filing.objects.filter(leader=leader, status="approved", offer__isnull=True).order_by("pk").first()
              or _new_filing(leader, staff, now))
    count = filing.items.count()
    base = [(2, 1), (1, 1), (1, 0), (3, 2), (1, 1), (0, 1)]
    packs = [tuple(row[i] if i < len(row) else 1 for i in range(count)) for row in base]
    packs = [row if any(row) else (1, *row[1:]) for row in packs]
    orders = [(h, packs[n % len(packs)]) for n, h in enumerate(households)]
    offer = closed_offer(filing=filing, actor=staff, orders=orders, start=now - dt.timedelta(hours=5),
                         title=DEMO_TITLE)
    items = list(offer.items.order_by("position"))
    received = {item.pk: item.ordered for item in items} | {items[0].pk: max(items[0].ordered - 4, 0)}
    plan = services_delivery.delivery_plan(offer, received, "proportional")
    services_delivery.delivery_arrive(actor=staff, offer=offer, plate_matches=True, driver_matches=True,
                                      goods_match=True, note="", received=received, rule="proportional",
                                      fingerprint=plan.fingerprint, now=now - dt.timedelta(minutes=50))
    services_delivery.delivery_disinfect(actor=staff, offer=offer, chlorine=500, wait=20,
                                         now=now - dt.timedelta(minutes=40))
    return [f"Group-buy delivery: {DEMO_TITLE} in {compound.name}, {len(orders)} orders, disinfected, "
            "ready for sorting."]
