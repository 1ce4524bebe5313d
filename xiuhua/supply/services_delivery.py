"""Delivery of group buying: the gate check with any shortage shared out, the disinfection, the
sorting and the door (every write of the delivery pages).

    delivery_plan(offer, received, rule)     what each household gets (the preview; no write)
    delivery_arrive(...)                     offer CLOSED -> ARRIVED: the check, packs counted,
                                             OrderLine.allotted set, orders with nothing -> UNFILLED
    delivery_disinfect(...)                  ARRIVED -> DISINFECTED: chlorine, wait, who and when
    delivery_sort(...)                       DISINFECTED -> SORTED, not before the wait is over
    order_deliver(...)                       an order DELIVERED at the door (once); the last one
                                             carried or left unfilled ends the offer (DONE)

The preview and the confirm share `delivery_plan`; the confirm recomputes it with the offer row
locked and refuses when the orders are not the ones previewed (their fingerprint differs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.core.keyed_codes import KeyedCode
from xiuhua.core.workflow import move, move_many
from xiuhua.sms.services import BulkMessage, sms_send_many
from xiuhua.sms.texts import register_purpose, register_template

from . import shortage
from .models_orders import (
    CHLORINE_MAX,
    CHLORINE_MIN,
    WAIT_MAX,
    WAIT_MIN,
    Delivery,
    Offer,
    OfferItem,
    OfferStatus,
    Order,
    OrderLine,
    OrderStatus,
    ShortRule,
)

# The label's QR: /supply/o/<order pk>-<code>/, unguessable (core.keyed_codes).
DOOR = KeyedCode("xiuhua.supply.order.v1")
MAX_PACKS = 1_000_000

# Texted once per order when its offer is sorted, to the mobile of the resident who ordered.
ON_THE_WAY = register_template("XH_GROUPBUY_ON_WAY", "您在{compound}团购的物资已分拣,志愿者正在送货上门,请留意门口。")
ON_THE_WAY_PURPOSE = register_purpose("groupbuy_on_way", gettext_lazy("团购物资分拣后送货上门通知"))


def door_key(order_pk: int) -> str:
    return DOOR.key(order_pk)


def door_url(order_pk: int) -> str:
    """The full URL the label's QR code holds (settings.PUBLIC_BASE_URL + path)."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("supply:door", kwargs={"key": door_key(order_pk)})


def order_of_key(key: str) -> int | None:
    return DOOR.pk_of(key)


# ---------------------------------------------------------------------------------------------
# The plan: what each household gets


@dataclass
class PlanLine:
    line_id: int
    item_id: int
    name: str
    quantity: int
    allotted: int


@dataclass
class PlanHousehold:
    order_id: int
    room: str
    lines: list[PlanLine] = field(default_factory=list)

    @property
    def none(self) -> bool:
        return all(line.allotted == 0 for line in self.lines)

    @property
    def short(self) -> bool:
        return any(line.allotted < line.quantity for line in self.lines)


@dataclass
class PlanBuilding:
    name: str
    households: list[PlanHousehold] = field(default_factory=list)

    @property
    def short_count(self) -> int:
        return sum(1 for h in self.households if h.short)


@dataclass
class PlanItem:
    item: OfferItem
    ordered: int
    received: int
    given: int

    @property
    def short(self) -> bool:
        return self.received < self.ordered


@dataclass
class Plan:
    rule: str
    items: list[PlanItem]
    buildings: list[PlanBuilding]
    fingerprint: str

    @property
    def short(self) -> bool:
        return any(item.short for item in self.items)

    @property
    def unfilled(self) -> list[tuple[str, PlanHousehold]]:
        return [(b.name, h) for b in self.buildings for h in b.households if h.none]

    @property
    def orders(self) -> int:
        return sum(len(b.households) for b in self.buildings)

    def allotments(self) -> dict[int, tuple[int, int]]:
        """line id -> (quantity, allotted)."""
        return {line.line_id: (line.quantity, line.allotted)
                for b in self.buildings for h in b.households for line in h.lines}


def parse_received(offer: Offer, data) -> dict[int, int]:
    """Packs received per item from the form (`received_<item pk>`), each a whole number."""
    received = {}
    for item in offer.items.select_related("filing_item"):
        raw = str(data.get(f"received_{item.pk}", "")).strip()
        if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_PACKS:
            raise ValidationError(_("请填写“%(item)s”实到份数(0或正整数)") % {"item": item.filing_item.name})
        received[item.pk] = int(raw)
    return received


def _live_lines(offer: Offer):
    return (OrderLine.objects.filter(order__offer=offer, order__status=OrderStatus.PLACED)
            .order_by("order__created_at", "order_id", "pk")
            .values_list("pk", "order_id", "item_id", "quantity", "order__building__name",
                         "order__building__sort_key", "order__building_id", "order__household__room",
                         "order__household__room_sort"))


def delivery_plan(offer: Offer, received: dict[int, int], rule: str) -> Plan:
    """What each live order gets of what came (pure apart from reading the orders)."""
    if rule and rule not in ShortRule.values:
        raise ValidationError(_("请选择缺货分配规则"))
    items = list(offer.items.select_related("filing_item"))
    rows = list(_live_lines(offer))
    wants: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line_id, _order, item_id, quantity, *_rest in rows:
        wants[item_id].append((line_id, quantity))
    ordered = {item.pk: sum(q for _line, q in wants[item.pk]) for item in items}
    if any(received.get(item.pk, 0) < ordered[item.pk] for item in items) and not rule:
        raise ValidationError(_("有货品缺货,请选择缺货分配规则"))
    # The rules share per order; a line is its order's want for the item (one line per item).
    given: dict[int, int] = {}
    for item in items:
        given.update(shortage.share(rule or ShortRule.PROPORTIONAL, received.get(item.pk, 0), wants[item.pk]))
    names = {item.pk: item.filing_item.name for item in items}
    buildings: dict[int, PlanBuilding] = {}
    households: dict[int, PlanHousehold] = {}
    order_keys: dict[int, tuple] = {}
    digest = hashlib.sha256()
    for line_id, order_id, item_id, quantity, b_name, _b_sort, b_id, room, room_sort in rows:
        digest.update(f"{line_id}:{order_id}:{item_id}:{quantity};".encode())
        building = buildings.setdefault(b_id, PlanBuilding(b_name))
        if order_id not in households:
            households[order_id] = PlanHousehold(order_id, room)
            building.households.append(households[order_id])
            order_keys[order_id] = (room_sort, order_id)
        households[order_id].lines.append(PlanLine(line_id, item_id, names[item_id], quantity, given[line_id]))
    sorts = {b_id: (b_sort, b_id) for _l, _o, _i, _q, _n, b_sort, b_id, _r, _rs in rows}
    ordered_buildings = [buildings[b] for b in sorted(buildings, key=lambda b: sorts[b])]
    for building in ordered_buildings:
        building.households.sort(key=lambda h: order_keys[h.order_id])
    plan_items = [PlanItem(item, ordered[item.pk], received.get(item.pk, 0),
                           sum(given[line] for line, _q in wants[item.pk])) for item in items]
    return Plan(rule=rule, items=plan_items, buildings=ordered_buildings, fingerprint=digest.hexdigest()[:16])


# ---------------------------------------------------------------------------------------------
# The gate check


def delivery_arrive(*, actor, offer: Offer, plate_matches: bool, driver_matches: bool, goods_match: bool,
                    note: str, received: dict[int, int], rule: str, fingerprint: str,
                    now: dt.datetime | None = None) -> Plan:
    """The delivery checked at the gate and the packs counted; the shortage shared by `rule`."""
    require(actor, Cap.RUN_GROUPBUY)
    now = now or timezone.now()
    note = (note or "").strip()[:200]
    if not (plate_matches and driver_matches and goods_match) and not note:
        raise ValidationError(_("车牌、司机或货品与报备不一致时,请填写核对说明"))
    result: dict[str, Plan] = {}

    def change(locked: Offer):
        plan = delivery_plan(locked, received, rule)
        if plan.fingerprint != fingerprint:
            raise ValidationError(_("预览之后订单有变化,请重新预览后再确认"))
        Delivery.objects.create(offer=locked, committee_id=locked.committee_id, arrived_at=now,
                                plate_matches=plate_matches, driver_matches=driver_matches,
                                goods_match=goods_match, check_note=note, checked_by=actor)
        items = list(locked.items.all())
        for item in items:
            item.received = received.get(item.pk, 0)
        OfferItem.objects.bulk_update(items, ["received"])
        # Everyone gets what they ordered (one UPDATE); then the lines the rule cut.
        OrderLine.objects.filter(order__offer=locked, order__status=OrderStatus.PLACED).update(
            allotted=F("quantity"))
        cut = [OrderLine(pk=line, allotted=allotted)
               for line, (quantity, allotted) in plan.allotments().items() if allotted < quantity]
        OrderLine.objects.bulk_update(cut, ["allotted"], batch_size=500)
        unfilled = [h.order_id for _b, h in plan.unfilled]
        if unfilled:
            move_many(Order.objects.filter(offer=locked, pk__in=unfilled), "leave_unfilled", actor=None,
                      committee_id=locked.committee_id, subject_label=locked.title,
                      detail={"offer": locked.pk, "rule": rule})
        locked.short_rule = rule if plan.short else ""
        result["plan"] = plan
        return {"short": [item.item.pk for item in plan.items if item.short],
                "rule": locked.short_rule, "unfilled": len(unfilled), "note": note}

    move(offer, "arrive", actor=actor, change=change, now=now)
    return result["plan"]


# ---------------------------------------------------------------------------------------------
# Disinfection and sorting


def _whole(value, low: int, high: int, message: str) -> int:
    raw = str(value if value is not None else "").strip()
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(message)
    return int(raw)


def delivery_disinfect(*, actor, offer: Offer, chlorine, wait, now: dt.datetime | None = None) -> Delivery:
    require(actor, Cap.RUN_GROUPBUY)
    now = now or timezone.now()
    mg = _whole(chlorine, CHLORINE_MIN, CHLORINE_MAX,
                _("含氯消毒液浓度须在 %(low)s-%(high)s mg/L 之间") % {"low": CHLORINE_MIN, "high": CHLORINE_MAX})
    minutes = _whole(wait, WAIT_MIN, WAIT_MAX,
                     _("作用时间须在 %(low)s-%(high)s 分钟之间") % {"low": WAIT_MIN, "high": WAIT_MAX})

    def change(locked: Offer):
        delivery = Delivery.objects.select_for_update().get(offer=locked)
        delivery.chlorine_mg_l, delivery.wait_minutes = mg, minutes
        delivery.disinfected_at, delivery.disinfected_by = now, actor
        delivery.save(update_fields=["chlorine_mg_l", "wait_minutes", "disinfected_at", "disinfected_by"])
        return {"chlorine_mg_l": mg, "wait_minutes": minutes}

    move(offer, "disinfect", actor=actor, change=change, now=now)
    return Delivery.objects.get(offer=offer)


def _finish_if_done(offer_id: int) -> bool:
    """The offer ends (DONE) once no order is left to carry; the caller holds the offer's lock."""
    offer = Offer.objects.get(pk=offer_id)
    if offer.status != OfferStatus.SORTED:
        return False
    if Order.objects.filter(offer_id=offer_id, status=OrderStatus.PLACED).exists():
        return False
    move(offer, "finish", actor=None)
    return True


def _text_on_the_way(offer: Offer) -> int:
    """Queue one text per order still to carry, to the mobile of the resident who ordered (none for
    an order placed for someone without a phone); keyed by order, so it is sent once."""
    phones = (Order.objects.filter(offer=offer, status=OrderStatus.PLACED).exclude(resident=None)
              .exclude(resident__mobile="").values_list("pk", "resident__mobile"))
    params = {"compound": offer.compound.name}
    return sms_send_many(template=ON_THE_WAY.code, purpose=ON_THE_WAY_PURPOSE, messages=[
        BulkMessage(to=mobile, params=params, committee_id=offer.committee_id,
                    idempotency_key=f"groupbuy-on-way:{pk}") for pk, mobile in phones])


def delivery_sort(*, actor, offer: Offer, now: dt.datetime | None = None) -> Delivery:
    require(actor, Cap.RUN_GROUPBUY)
    now = now or timezone.now()

    def change(locked: Offer):
        delivery = Delivery.objects.select_for_update().get(offer=locked)
        released = delivery.released_at
        if released is not None and now < released:
            raise ValidationError(
                _("消杀作用时间未到,%(time)s 后才能分拣") % {"time": timezone.localtime(released).strftime("%H:%M")})
        delivery.sorted_at, delivery.sorted_by = now, actor
        delivery.save(update_fields=["sorted_at", "sorted_by"])
        return {"texts": _text_on_the_way(locked)}

    with transaction.atomic():
        move(offer, "sort", actor=actor, change=change, now=now)
        _finish_if_done(offer.pk)  # nothing came at all: nothing to carry
    return Delivery.objects.get(offer=offer)


def labels_printed(*, actor, offer: Offer, building_id: int | None, count: int) -> None:
    """Labels carry masked names and door codes: printing them is recorded."""
    require(actor, Cap.RUN_GROUPBUY)
    audit(actor=actor, action="groupbuy_labels_print", obj=offer, committee_id=offer.committee_id,
          subject_label=offer.title, detail={"building": building_id, "labels": count})


# ---------------------------------------------------------------------------------------------
# The door


@dataclass
class Delivered:
    order: Order
    now: bool  # delivered by this call (False: it had been already)


def order_deliver(*, actor, order: Order, now: dt.datetime | None = None) -> Delivered:
    """The order handed over at the door, once. The offer's row is locked first, so two scans of
    one label queue up (the second finds it delivered and changes nothing), and so does the last
    order of the offer with any other (the one that carries the last ends the offer)."""
    require(actor, Cap.DELIVER_ORDERS)
    now = now or timezone.now()
    with transaction.atomic():
        offer = Offer.objects.select_for_update().get(pk=order.offer_id)
        current = Order.objects.get(pk=order.pk)
        if current.status == OrderStatus.DELIVERED:
            return Delivered(current, False)
        if offer.status != OfferStatus.SORTED:
            raise ValidationError(_("这批团购尚未分拣完成,不能确认送达"))

        def change(locked: Order):
            locked.delivered_at, locked.delivered_by = now, actor
            return None

        moved = move(current, "deliver", actor=actor, change=change, now=now)
        _finish_if_done(offer.pk)
    return Delivered(moved, True)
