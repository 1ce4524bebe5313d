"""Offers, votes, orders and delivery of group buying (issue 15).

A committee puts several approved filings of one category to a vote (`Poll`): one vote per
household, held by a unique constraint, until the closing time. The chosen filing, or any
approved filing, opens orders (`Offer`): each `OfferItem` has the packs the supplier can bring
(`available`) and a cap per household; `ordered` is raised by one conditional UPDATE per item
(`ordered + n <= available`), so parallel orders never oversell, and a household holds one live
order per offer (a partial unique constraint). Orders come from the resident's phone, from a
building lead (楼组长) for residents without phones, or from staff taking a call; the last two are
marked with who placed them.

At the gate the delivery is checked against the filing and the packs received are counted; when
fewer came than were ordered, the committee chooses a sharing rule, sees its result, and confirms
it (`OrderLine.allotted`). Then it is disinfected (chlorine concentration, wait, who and when) and
sorted: a pick list per building and a label per household whose QR the volunteer scans at the
door to mark the order delivered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Prefetch, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household, Resident

__all__ = [
    "CHLORINE_MAX", "CHLORINE_MIN", "STRIPES", "WAIT_MAX", "WAIT_MIN", "Category", "Channel", "Delivery", "Offer",
    "OfferItem", "OfferItemStripe", "OfferStatus", "Order", "OrderLine", "OrderStatus", "Poll", "PollOption",
    "PollStatus", "PollVote", "ShortRule", "offer_items_prefetch", "stripe_shares",
]

# The disinfection rule of domain.md: chlorine 250-500 mg/L, then a wait of 10-30 minutes.
CHLORINE_MIN, CHLORINE_MAX = 250, 500
WAIT_MIN, WAIT_MAX = 10, 30


class OrdersScoped(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_supply"


class HouseholdScoped(ScopedQuerySet):
    """Orders of households: a building lead (grid worker) sees those of their grid only; whoever
    carries orders to the door (a volunteer: DELIVER_ORDERS alone) sees those of their unit and
    grid too, since the door page reads them and `move(order, "deliver")` locks them through here."""

    scope_committee = "committee"
    scope_household = "household"
    scope_cap = ("order_for_resident", "deliver_orders")


class Category(models.TextChoices):
    VEGETABLES = "vegetables", _("蔬菜")
    MEAT = "meat", _("肉禽蛋")
    RICE = "rice", _("米面粮油")
    MILK = "milk", _("牛奶")
    MEDICINE = "medicine", _("药品")
    OTHER = "other", _("其他")


class PollStatus(models.TextChoices):
    OPEN = "open", _("投票中")
    CLOSED = "closed", _("已截止")
    CANCELLED = "cancelled", _("已取消")


class Poll(models.Model):
    """Several approved offers of one category put to the households of a compound."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    category = models.CharField(_("品类"), max_length=12, choices=Category.choices)
    title = models.CharField(_("标题"), max_length=80)
    closes_at = models.DateTimeField(_("截止时间"))
    status = models.CharField(_("状态"), max_length=12, choices=PollStatus.choices, default=PollStatus.OPEN)
    # The option with the most votes when it closed (ties: the lower total price, then the first listed).
    winner = models.ForeignKey("PollOption", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = OrdersScoped.as_manager()

    class Meta:
        verbose_name = _("团购投票")
        verbose_name_plural = _("团购投票")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    filing = models.ForeignKey("supply.Filing", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["poll", "filing"], name="supply_poll_option_unique")]

    def __str__(self) -> str:
        return f"{self.poll} · {self.filing}"


class Channel(models.TextChoices):
    SELF = "self", _("本人手机")
    BUILDING_LEAD = "building_lead", _("楼组长代下单")
    STAFF_PHONE = "staff_phone", _("电话代下单")


class PollVote(models.Model):
    """One household's vote: the unique constraint makes a second vote from the household count
    for nothing, however the two arrive."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SELF)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "household"], name="supply_poll_vote_once")]

    def __str__(self) -> str:
        return f"{self.poll} · {self.option_id}"


class OfferStatus(models.TextChoices):
    OPEN = "open", _("接龙中")
    CLOSED = "closed", _("已截单")
    ARRIVED = "arrived", _("已到货")
    DISINFECTED = "disinfected", _("已消杀")
    SORTED = "sorted", _("已分拣")
    DONE = "done", _("已送完")
    CANCELLED = "cancelled", _("已取消")


class ShortRule(models.TextChoices):
    # Each household gets its share of what came, rounded down; what is left goes one pack at a
    # time in the order the orders were placed.
    PROPORTIONAL = "proportional", _("按比例分配,余数按下单先后")
    # One pack to every household first (in order placed), then the rest in order placed.
    ONE_EACH_FIRST = "one_each_first", _("每户先配一份,再按下单先后")
    # Whole orders in the order placed until the packs run out.
    FIRST_ORDERED = "first_ordered", _("按下单先后整单配送")


class Offer(models.Model):
    """Orders opened on one approved filing, for the households of the leader's compound."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    filing = models.OneToOneField("supply.Filing", on_delete=models.PROTECT, related_name="offer")
    poll = models.ForeignKey(Poll, null=True, blank=True, on_delete=models.SET_NULL, related_name="offers")
    category = models.CharField(_("品类"), max_length=12, choices=Category.choices)
    title = models.CharField(_("标题"), max_length=80)
    orders_close_at = models.DateTimeField(_("截单时间"))
    status = models.CharField(_("状态"), max_length=12, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    short_rule = models.CharField(_("缺货分配规则"), max_length=16, choices=ShortRule.choices, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrdersScoped.as_manager()

    class Meta:
        verbose_name = _("团购接龙")
        verbose_name_plural = _("团购接龙")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


# An item's packs are split over up to STRIPES counter rows (`OfferItemStripe`), at least
# STRIPE_MIN packs each: every order of an offer takes packs of the same items, and one counter row
# would make them queue on its lock, one commit at a time.
STRIPES = 16
STRIPE_MIN = 32


def stripe_shares(available: int) -> list[int]:
    """How `available` packs are split over an item's stripes: as evenly as can be."""
    count = max(1, min(STRIPES, available // STRIPE_MIN))
    return [available // count + (1 if n < available % count else 0) for n in range(count)]


class OfferItemQuerySet(models.QuerySet):
    def with_ordered(self) -> OfferItemQuerySet:
        """Each item with its packs ordered (the sum over its stripes) read in the same query."""
        return self.annotate(ordered_packs=Coalesce(Sum("stripe_rows__ordered"), 0))


class OfferItem(models.Model):
    """One item of the filing as offered. Its packs are counted in its stripes: what is ordered is
    their sum, and no stripe's `ordered` ever passes its `available` (CHECK, and the conditional
    UPDATE that raises it), so the item's never passes its own."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="items")
    filing_item = models.ForeignKey("supply.FilingItem", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    available = models.PositiveIntegerField(_("可供份数"))
    per_household = models.PositiveSmallIntegerField(_("每户限购份数"), default=1)
    # How many stripes hold its packs (len(stripe_shares(available))); a household's order tries
    # stripe household_id % stripes first.
    stripes = models.PositiveSmallIntegerField(default=1, editable=False)
    # Counted at the gate; null until the delivery is checked.
    received = models.PositiveIntegerField(_("实到份数"), null=True, blank=True)

    objects = OfferItemQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(per_household__gte=1), name="supply_offer_item_cap_positive"),
        ]

    def __str__(self) -> str:
        return str(self.filing_item)

    @property
    def ordered(self) -> int:
        packs = getattr(self, "ordered_packs", None)
        if packs is None:
            packs = self.stripe_rows.aggregate(n=Sum("ordered"))["n"] or 0  # type: ignore[attr-defined]
        return packs

    @property
    def left(self) -> int:
        return self.available - self.ordered


def offer_items_prefetch() -> Prefetch:
    """Offers' items for a list of offers, with their filing item and packs ordered in one query
    (without it every item's `ordered` and `left` would each ask the stripes)."""
    return Prefetch("items", queryset=OfferItem.objects.with_ordered().select_related("filing_item"))


class OfferItemStripe(models.Model):
    """A share of an item's packs with its own counter (see STRIPES)."""

    item = models.ForeignKey(OfferItem, on_delete=models.CASCADE, related_name="stripe_rows")
    stripe = models.PositiveSmallIntegerField()
    available = models.PositiveIntegerField()
    ordered = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "stripe"], name="supply_offer_stripe_unique"),
            models.CheckConstraint(condition=Q(ordered__lte=F("available")), name="supply_offer_stripe_no_oversell"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.stripe} {self.ordered}/{self.available}"

    @staticmethod
    def split(item: OfferItem, *, ordered: int = 0) -> list[OfferItemStripe]:
        """The stripes of a new item (to bulk_create), `ordered` packs already taken, first stripes first."""
        rows = []
        for n, share in enumerate(stripe_shares(item.available)):
            taken = min(share, ordered)
            ordered -= taken
            rows.append(OfferItemStripe(item=item, stripe=n, available=share, ordered=taken))
        return rows


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("已下单")
    CANCELLED = "cancelled", _("已取消")
    DELIVERED = "delivered", _("已送达")
    # Nothing of it came (the shortage rule allotted none): nothing to carry, nothing to pay.
    UNFILLED = "unfilled", _("缺货未配")


class Order(models.Model):
    """A household's order on an offer; at most one live (not cancelled) per household and offer."""

    # Orders come in thousands a minute when an offer opens, so no index a query does not use: the
    # offer and building are read through (offer, building), the household through the one live
    # order per household; who placed, delivered or is named on it is never searched by.
    # The offer and the committee are the same row for every order of an offer: a foreign-key
    # constraint would lock that one row (FOR KEY SHARE) in every ordering transaction, and
    # PostgreSQL turns many such lockers of one row into ever larger multixacts (about a tenth of
    # the order's time in bench/supply.py). Both are PROTECTed here, never deleted with orders,
    # and the order statement reads the open offer it orders from. The building is shared the same
    # way by every order of its households. The household and resident are the order's own, but a
    # constraint's check locks their rows too, and the first lock of a row after each checkpoint
    # writes its whole 8 kB page to the WAL: 7 kB of WAL per order with the constraints, 2 kB
    # without (bench/supply.py). The order statement finds the household and resident it names, the
    # general path loads them, and they are PROTECTed (the resident SET_NULL) here.
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="orders", db_index=False,
                              db_constraint=False)
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False,
                                 db_constraint=False)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 db_index=False, db_constraint=False)
    channel = models.CharField(_("下单方式"), max_length=16, choices=Channel.choices, default=Channel.SELF)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", db_index=False)
    status = models.CharField(_("状态"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    amount = models.DecimalField(_("金额(元)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", db_index=False)

    objects = HouseholdScoped.as_manager()

    class Meta:
        verbose_name = _("团购订单")
        verbose_name_plural = _("团购订单")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "household"], condition=~Q(status="cancelled"),
                                    name="supply_order_one_per_household"),
        ]
        indexes = [models.Index(fields=["offer", "building"], name="supply_order_offer_building")]

    def __str__(self) -> str:
        return f"{self.offer} #{self.pk}"


class OrderLine(models.Model):
    # No constraint: its check would lock the order's row once per line, in the transaction that
    # has just inserted it. Lines are written only with their order and deleted with it here.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_constraint=False)
    # No constraint, as Order.offer: every line of an offer's orders names one of its few items.
    item = models.ForeignKey(OfferItem, on_delete=models.PROTECT, related_name="lines", db_constraint=False)
    quantity = models.PositiveSmallIntegerField(_("份数"))
    price = models.DecimalField(max_digits=10, decimal_places=2)
    # Packs this household gets of what arrived (the shortage rule); null until the gate check.
    allotted = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["item__position", "pk"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="supply_order_line_positive")]

    def __str__(self) -> str:
        return f"{self.item} × {self.quantity}"


class Delivery(models.Model):
    """What happened at the gate: the check against the filing, the disinfection, the sorting."""

    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="delivery")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    arrived_at = models.DateTimeField(_("到达时间"))
    plate_matches = models.BooleanField(_("车牌与报备一致"))
    driver_matches = models.BooleanField(_("司机与报备一致"))
    goods_match = models.BooleanField(_("货品与报备一致"))
    check_note = models.CharField(_("核对说明"), max_length=200, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    chlorine_mg_l = models.PositiveSmallIntegerField(_("含氯消毒液浓度(mg/L)"), null=True, blank=True)
    wait_minutes = models.PositiveSmallIntegerField(_("作用时间(分钟)"), null=True, blank=True)
    disinfected_at = models.DateTimeField(_("消杀时间"), null=True, blank=True)
    disinfected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    sorted_at = models.DateTimeField(_("分拣时间"), null=True, blank=True)
    sorted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")

    objects = OrdersScoped.as_manager()

    class Meta:
        verbose_name = _("到货记录")
        verbose_name_plural = _("到货记录")
        constraints = [
            models.CheckConstraint(
                condition=Q(chlorine_mg_l__isnull=True)
                | Q(chlorine_mg_l__gte=CHLORINE_MIN, chlorine_mg_l__lte=CHLORINE_MAX),
                name="supply_delivery_chlorine_range"),
            models.CheckConstraint(
                condition=Q(wait_minutes__isnull=True) | Q(wait_minutes__gte=WAIT_MIN, wait_minutes__lte=WAIT_MAX),
                name="supply_delivery_wait_range"),
        ]

    def __str__(self) -> str:
        return f"{self.offer}"

    @property
    def released_at(self):
        """When the goods may leave the disinfection area."""
        if self.disinfected_at is None or self.wait_minutes is None:
            return None
        return self.disinfected_at + dt.timedelta(minutes=self.wait_minutes)
