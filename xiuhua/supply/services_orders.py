"""Every write of group buying's votes, offers and orders (issue 15).

Residents act with `actor=None` once the page has proven their phone (core.resident_phone) and
the household is one where that phone is a living resident's mobile; building leads (grid
workers, their grid only) and committee staff act for households (ORDER_FOR_RESIDENT), and such
votes and orders are marked with the channel and who. Committee staff run polls and offers
(RUN_GROUPBUY). Status changes go through core.workflow `move`; the other writes write one audit
event each.

Quotas never check then act: a vote is one row under a unique constraint (poll, household); an
order is one row under a partial unique constraint (one live order per household and offer), and
each item's packs are taken by one conditional UPDATE (`ordered = ordered + n WHERE ordered + n <=
available`), all in the order's transaction, so a refused order changes nothing. On PostgreSQL a
resident's order first tries `_order_fast`: one statement that does all of it (fast_orders),
shared with the other orders the process receives at that moment; anything unusual (a repeat, an
item run out, a closed offer, a household not of the phone) falls back to the general path,
which explains the refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_unit, require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_name, mask_phone
from xiuhua.core.workflow import move, move_many
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household, Relation, Resident
from xiuhua.sms.services import BulkMessage, sms_send_many
from xiuhua.sms.texts import register_purpose, register_template

from . import services
from .fast_orders import place_fast
from .models import (
    Category,
    Channel,
    Filing,
    FilingStatus,
    Offer,
    OfferItem,
    OfferItemStripe,
    OfferStatus,
    Order,
    OrderLine,
    OrderStatus,
    Poll,
    PollOption,
    PollStatus,
    PollVote,
    stripe_shares,
)

MAX_OPTIONS = 6
MAX_PACKS = 100_000
MAX_CAP = 99
LIVING = services.LIVING


def _shown(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%m-%d %H:%M")


# ------------------------------------------------------------------ who acts for a household


def phone_households(phone: str):
    """The households where the proven phone is a living resident's mobile (in address order)."""
    if not phone:
        return Household.objects.none()
    ids = Resident.objects.filter(mobile=phone, living_status__in=LIVING).values("household_id")
    return (Household.objects.filter(pk__in=ids).select_related("building", "compound")
            .order_by("compound_id", "building__sort_key", "building_id", "room_sort", "pk"))


def _resident_of(household: Household, phone: str) -> Resident | None:
    return (Resident.objects.filter(household=household, mobile=phone, living_status__in=LIVING)
            .order_by("pk").first())


def _acting_for(actor, household: Household, phone: str) -> tuple[str, Resident | None]:
    """The channel of a vote or order for `household`, checking who acts: the household's own
    proven phone (actor None), or a member with ORDER_FOR_RESIDENT whose scope (a grid worker's
    grid) holds the household."""
    if actor is None:
        resident = _resident_of(household, phone) if phone else None
        if resident is None:
            raise PermissionDenied
        return Channel.SELF, resident
    membership = require(actor, Cap.ORDER_FOR_RESIDENT)
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise PermissionDenied
    return (Channel.BUILDING_LEAD if membership.role == Role.GRID_WORKER else Channel.STAFF_PHONE), None


def household_at(actor, *, building_id, room: str) -> Household:
    """The household at building + room in the actor's scope (a building lead's grid); one
    refusal for missing and out of scope."""
    require(actor, Cap.ORDER_FOR_RESIDENT)
    room = (room or "").strip().removesuffix("室")
    try:
        return Household.objects.visible_to(actor).select_related("building", "compound").get(
            building_id=int(building_id), room=room)
    except (Household.DoesNotExist, TypeError, ValueError):
        raise ValidationError({"room": _("在您负责的范围内找不到这一户,请核对楼号和室号")}) from None


def _check_filing(filing: Filing, *, committee=None) -> None:
    """A filing that may be put to a vote or opened: approved, leader and supplier not banned."""
    if filing.status != FilingStatus.APPROVED:
        raise ValidationError(_("报备%(n)s尚未通过审核,不能开团") % {"n": filing.number})
    if committee is not None and filing.committee_id != committee.pk:
        raise ValidationError(_("报备%(n)s不属于本居委会") % {"n": filing.number})
    ban = services.leader_banned(filing.leader)
    if ban is not None:
        raise ValidationError(_("报备%(n)s的团长已被列入禁入名单(%(reason)s)") % {
            "n": filing.number, "reason": ban.reason})
    ban = services.supplier_banned(services.street_of(filing.committee), filing.supplier, filing.supplier_licence)
    if ban is not None:
        raise ValidationError(_("报备%(n)s的供货商已被列入禁入名单(%(reason)s)") % {
            "n": filing.number, "reason": ban.reason})


def filing_total(filing: Filing) -> Decimal:
    """The price of one pack of every item: how a tie between options is broken."""
    return filing.items.aggregate(total=Sum("price"))["total"] or Decimal("0")


# ------------------------------------------------------------------ polls


def poll_open(*, actor, filings: list[Filing], category: str, title: str, closes_at: dt.datetime | None,
              now: dt.datetime | None = None) -> Poll:
    """Put two or more approved filings of one compound to the vote of its households until
    `closes_at`; the options keep the order given."""
    now = now or timezone.now()
    title = (title or "").strip()
    errors: dict[str, str] = {}
    if category not in Category.values:
        errors["category"] = _("请选择品类")
    if not title:
        errors["title"] = _("请填写标题")
    if closes_at is None:
        errors["closes_at"] = _("请填写截止时间")
    elif closes_at <= now:
        errors["closes_at"] = _("截止时间须晚于现在")
    unique = list(dict.fromkeys(filings))
    if len(unique) < 2:
        errors["filings"] = _("请至少选择两个已通过的报备供居民投票")
    elif len(unique) > MAX_OPTIONS:
        errors["filings"] = _("最多%(n)d个方案") % {"n": MAX_OPTIONS}
    if errors:
        raise ValidationError(errors)
    assert closes_at is not None
    with transaction.atomic():
        committee = unique[0].committee
        access_unit(actor, committee, Cap.RUN_GROUPBUY)
        compounds = set()
        for filing in unique:
            _check_filing(filing, committee=committee)
            compounds.add(filing.leader.compound_id)
        if len(compounds) > 1:
            raise ValidationError({"filings": _("投票的各方案须是同一小区的团购")})
        poll = Poll.objects.create(committee=committee, compound_id=compounds.pop(), category=category,
                                   title=title[:80], closes_at=closes_at, created_by=actor, created_at=now)
        PollOption.objects.bulk_create([PollOption(poll=poll, filing=f, position=n) for n, f in enumerate(unique)])
        audit(actor=actor, action="groupbuy_poll_open", obj=poll, committee_id=committee.pk, subject_label=poll.title,
              detail={"filings": [f.pk for f in unique], "closes_at": closes_at.isoformat()})
        return poll


def poll_counts(poll: Poll) -> dict[int, int]:
    """Votes per option id (every option, zero included)."""
    counts = dict(PollVote.objects.filter(poll=poll).values_list("option_id").annotate(n=Count("pk"))
                  .values_list("option_id", "n"))
    return {option.pk: counts.get(option.pk, 0) for option in poll.options.all()}


def poll_vote(*, actor, poll: Poll, option_id, household: Household, phone: str = "",
              now: dt.datetime | None = None) -> PollVote:
    """One household's vote, from its phone or entered for it (marked); a second vote from the
    household, however it arrives, counts for nothing and is refused with 您家已投过票."""
    now = now or timezone.now()
    channel, resident = _acting_for(actor, household, phone)
    if household.compound_id != poll.compound_id:
        raise PermissionDenied
    option = PollOption.objects.filter(poll=poll, pk=_int(option_id) or 0).first()
    if option is None:
        raise ValidationError({"option": _("请选择一个方案")})
    if poll.status != PollStatus.OPEN or poll.closes_at <= now:
        raise ValidationError(_("投票已截止"))
    try:
        with transaction.atomic():
            vote = PollVote.objects.create(poll=poll, option=option, household=household, resident=resident,
                                           channel=channel, entered_by=actor, created_at=now)
            audit(actor=actor, action="groupbuy_poll_vote", obj=vote, committee_id=poll.committee_id,
                  subject_label=poll.title, detail={"option": option.pk, "channel": channel})
    except IntegrityError:
        raise ValidationError(_("您家已投过票")) from None
    return vote


def _winner(poll: Poll) -> PollOption | None:
    """Most votes; a tie goes to the lower price of one pack of every item, then to the first
    listed. None without any vote."""
    counts = poll_counts(poll)
    if not any(counts.values()):
        return None
    options = list(poll.options.select_related("filing"))
    return min(options, key=lambda o: (-counts[o.pk], filing_total(o.filing), o.position, o.pk))


def poll_close(*, actor, poll: Poll, now: dt.datetime | None = None) -> Poll:
    """Close a poll by hand (RUN_GROUPBUY) or on time (actor None, the sweep); the winner is kept."""
    now = now or timezone.now()

    def change(locked: Poll):
        if actor is None and locked.closes_at > now:
            raise ValidationError(_("还没到截止时间"))
        locked.winner = _winner(locked)
        locked.closed_at = now
        return {"winner": locked.winner.filing_id if locked.winner else None, "votes": poll_counts(locked)}

    return move(poll, "close" if actor is not None else "close_on_time", actor=actor, change=change, now=now)


def poll_cancel(*, actor, poll: Poll, reason: str = "") -> Poll:
    reason = (reason or "").strip()

    def change(locked: Poll):
        if not reason:
            raise ValidationError({"reason": _("请填写取消的理由")})
        return {"reason": reason[:200]}

    return move(poll, "cancel", actor=actor, change=change, reason=reason)


# ------------------------------------------------------------------ offers


@dataclass
class ItemTerms:
    filing_item_id: int
    available: int
    per_household: int


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def offer_open(*, actor, filing: Filing, terms: dict[int, tuple], orders_close_at: dt.datetime | None,
               category: str = "", title: str = "", poll: Poll | None = None,
               now: dt.datetime | None = None) -> Offer:
    """Open orders on an approved filing (once): per filing item id, (packs available, cap per
    household); an item given no packs is left out. From a poll, the filing must be its winner."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if category and category not in Category.values:
        errors["category"] = _("请选择品类")
    if orders_close_at is None:
        errors["orders_close_at"] = _("请填写截单时间")
    elif orders_close_at <= now:
        errors["orders_close_at"] = _("截单时间须晚于现在")
    items = {item.pk: item for item in filing.items.all()}
    chosen: list[ItemTerms] = []
    for item_id, item in items.items():
        available, cap = (terms.get(item_id) or ("", ""))[:2]
        if str(available).strip() in ("", "0"):
            continue
        packs, per = _int(available), _int(cap or 1)
        if packs is None or not 0 < packs <= MAX_PACKS:
            errors["items"] = _("%(item)s的可供份数须是1到%(max)d之间的整数") % {"item": item.name, "max": MAX_PACKS}
        elif per is None or not 0 < per <= MAX_CAP:
            errors["items"] = _("%(item)s的每户限购份数须是1到%(max)d之间的整数") % {"item": item.name, "max": MAX_CAP}
        else:
            chosen.append(ItemTerms(item_id, packs, per))
    if not chosen and "items" not in errors:
        errors["items"] = _("请至少为一种商品填写可供份数")
    if errors:
        raise ValidationError(errors)
    assert orders_close_at is not None
    with transaction.atomic():
        access_unit(actor, filing.committee, Cap.RUN_GROUPBUY)
        filing = Filing.objects.select_for_update().select_related("leader__compound", "committee").get(pk=filing.pk)
        _check_filing(filing)
        if Offer.objects.filter(filing=filing).exists():
            raise ValidationError(_("报备%(n)s已经开过团,一个报备只能开团一次") % {"n": filing.number})
        if poll is not None:
            if poll.status != PollStatus.CLOSED or poll.winner is None or poll.winner.filing_id != filing.pk:
                raise ValidationError(_("只有已截止投票中得票最多的方案可以开团"))
            category = category or poll.category
        first = filing.items.order_by("position", "pk").first()
        offer = Offer.objects.create(
            committee=filing.committee, compound=filing.leader.compound, filing=filing, poll=poll,
            category=category or Category.OTHER,
            title=((title or "").strip() or f"{filing.supplier} {first.name if first else ''}".strip())[:80],
            orders_close_at=orders_close_at, opened_by=actor, created_at=now)
        offered = OfferItem.objects.bulk_create([
            OfferItem(offer=offer, filing_item_id=t.filing_item_id, position=n, available=t.available,
                      per_household=t.per_household, stripes=len(stripe_shares(t.available)))
            for n, t in enumerate(chosen)])
        OfferItemStripe.objects.bulk_create([row for item in offered for row in OfferItemStripe.split(item)])
        audit(actor=actor, action="groupbuy_offer_open", obj=offer, committee_id=offer.committee_id,
              subject_label=offer.title, detail={"filing": filing.pk, "poll": poll.pk if poll else None,
                                                 "items": {str(t.filing_item_id): [t.available, t.per_household]
                                                           for t in chosen}})
        return offer


def offer_close(*, actor, offer: Offer, now: dt.datetime | None = None) -> Offer:
    """Close orders by hand (RUN_GROUPBUY) or at the offer's time (actor None, the sweep)."""
    now = now or timezone.now()

    def change(locked: Offer):
        if actor is None and locked.orders_close_at > now:
            raise ValidationError(_("还没到截单时间"))
        return {"orders": Order.objects.filter(offer=locked, status=OrderStatus.PLACED).count()}

    return move(offer, "close" if actor is not None else "close_on_time", actor=actor, change=change, now=now)


def sweep_due(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Close the polls and offers whose time has come; returns (polls, offers) closed. A row a
    parallel sweep or a person closed first is left alone."""
    now = now or timezone.now()
    polls = offers = 0
    for poll in Poll.objects.filter(status=PollStatus.OPEN, closes_at__lte=now).order_by("pk"):
        try:
            poll_close(actor=None, poll=poll, now=now)
        except ValidationError:  # closed meanwhile
            continue
        polls += 1
    for offer in Offer.objects.filter(status=OfferStatus.OPEN, orders_close_at__lte=now).order_by("pk"):
        try:
            offer_close(actor=None, offer=offer, now=now)
        except ValidationError:
            continue
        offers += 1
    return polls, offers


# ------------------------------------------------------------------ orders


def _quantities(offer: Offer, wanted: dict) -> tuple[dict[int, OfferItem], dict[int, int]]:
    """The offer's items and the packs wanted of each (0 left out); refuses bad numbers and caps."""
    items = {item.pk: item for item in offer.items.select_related("filing_item")}
    chosen: dict[int, int] = {}
    for key, value in (wanted or {}).items():
        item_id, n = _int(key), _int(value if str(value).strip() else 0)
        if item_id is None or item_id not in items:
            raise ValidationError({"items": _("没有这种商品,请刷新页面后重试")})
        item = items[item_id]
        if n is None or n < 0:
            raise ValidationError({"items": _("%(item)s的份数须是整数") % {"item": item.filing_item.name}})
        if n > item.per_household:
            raise ValidationError({"items": _("%(item)s每户限购%(cap)d份") % {
                "item": item.filing_item.name, "cap": item.per_household}})
        if n:
            chosen[item_id] = n
    if not chosen:
        raise ValidationError({"items": _("请至少选择一种商品")})
    return items, chosen


def _open_for_orders(offer: Offer, now: dt.datetime) -> None:
    if offer.status != OfferStatus.OPEN or offer.orders_close_at <= now:
        raise ValidationError(_("该团购已截单,不能再下单或取消"))


def order_place(*, actor, offer: Offer, household: Household, items: dict, phone: str = "",
                now: dt.datetime | None = None, fast: bool = True, resident_id=None) -> Order:
    """A household's order: from its proven phone (actor None), a building lead of its grid or
    committee staff taking a call. One live order per household and offer; each item's packs are
    taken by one conditional UPDATE, so parallel orders never pass `available`; any refusal
    leaves everything as it was and says which item ran out, or the cap. An order placed for the
    household names the living resident it is for (`resident_id`, or by default the head of the
    household, else its first living resident; see `order_resident`)."""
    now = now or timezone.now()
    if fast and actor is None and connection.vendor == "postgresql":
        done = _order_fast(offer_id=offer.pk, household_id=household.pk, phone=phone, items=items, now=now)
        if done is not None:
            return done
    channel, resident = _acting_for(actor, household, phone)
    if household.compound_id != offer.compound_id:
        raise PermissionDenied
    if offer.status == OfferStatus.CANCELLED:
        raise ValidationError(_("该团购已取消,不能下单"))
    _open_for_orders(offer, now)
    if actor is not None:
        resident = order_resident(household, resident_id)
    catalogue, chosen = _quantities(offer, items)
    amount = sum((catalogue[i].filing_item.price * n for i, n in chosen.items()), Decimal("0"))
    with transaction.atomic():
        # The packs first, then the order, as offer_cancel expects: an order that waited for a
        # stripe the cancellation held finds no pack left. A repeat is refused below and gives
        # the packs back.
        for item_id, n in sorted(chosen.items()):  # items in one order: parallel orders cannot deadlock
            left = _take_packs(catalogue[item_id], n, household.pk)
            if left is not None:
                # A cancellation that committed while this order waited for the packs leaves none.
                if Offer.objects.filter(pk=offer.pk, status=OfferStatus.CANCELLED).exists():
                    raise ValidationError(_("该团购已取消,不能下单"))
                if live_orders(offer).filter(household=household).exists():  # a repeat says so first
                    raise ValidationError(_("您家已在这个团购下过单,如需修改请先取消原订单"))
                name = catalogue[item_id].filing_item.name
                if left <= 0:
                    raise ValidationError(_("%(item)s已订完,剩余0份") % {"item": name})
                raise ValidationError(_("%(item)s只剩%(left)d份,不够%(n)d份") % {"item": name, "left": left, "n": n})
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    offer=offer, committee_id=offer.committee_id, building_id=household.building_id,
                    household=household, resident=resident, channel=channel, placed_by=actor, amount=amount,
                    created_at=now)
        except IntegrityError:
            raise ValidationError(_("您家已在这个团购下过单,如需修改请先取消原订单")) from None
        OrderLine.objects.bulk_create([
            OrderLine(order=order, item_id=i, quantity=n, price=catalogue[i].filing_item.price)
            for i, n in sorted(chosen.items())])
        audit(actor=actor, action="groupbuy_order_place", obj=order, committee_id=offer.committee_id,
              subject_label=offer.title,
              detail={"channel": channel, "items": {str(i): n for i, n in sorted(chosen.items())},
                      "amount": str(amount), **({"phone": mask_phone(phone)} if actor is None else {})})
        return order


def _take_packs(item: OfferItem, n: int, household_id: int) -> int | None:
    """Take n packs of the item in the caller's transaction; None when taken, else the packs left.
    First the household's own stripe, one conditional UPDATE; when it has fewer than n left (the
    offer is selling out), every stripe of the item locked in stripe order and the packs taken
    from as many as it needs, so a pack left anywhere is never refused."""
    home = household_id % item.stripes
    stripes = OfferItemStripe.objects.filter(item_id=item.pk)
    if stripes.filter(stripe=home, ordered__lte=F("available") - n).update(ordered=F("ordered") + n):
        return None
    rows = list(stripes.select_for_update().order_by("stripe"))
    left = sum(row.available - row.ordered for row in rows)
    if left < n:
        return left
    for row in rows:
        part = min(n, row.available - row.ordered)
        if part:
            stripes.filter(pk=row.pk).update(ordered=F("ordered") + part)
            n -= part
        if not n:
            break
    return None


def _give_back_packs(item: OfferItem, n: int, household_id: int) -> None:
    """A cancelled line's packs back to the item: to the household's own stripe when it holds that
    many, else from the stripes in order, all locked (a line may have been taken from several)."""
    home = household_id % item.stripes
    stripes = OfferItemStripe.objects.filter(item_id=item.pk)
    if stripes.filter(stripe=home, ordered__gte=n).update(ordered=F("ordered") - n):
        return
    for row in stripes.select_for_update().order_by("stripe"):
        part = min(n, row.ordered)
        if part:
            stripes.filter(pk=row.pk).update(ordered=F("ordered") - part)
            n -= part
        if not n:
            return


def order_fast_or_place(*, offer_id: int, household_id: int, items: dict, phone: str,
                        now: dt.datetime | None = None) -> int:
    """A resident's order by ids (the JSON endpoint), giving the new order's id: the
    one-statement path first, then the general one with the rows loaded, which explains a
    refusal. A household that is not the phone's, or an offer that does not exist, is
    PermissionDenied."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        done = _order_fast_id(offer_id=offer_id, household_id=household_id, phone=phone, items=items, now=now)
        if done is not None:
            return done
    offer = Offer.objects.filter(pk=offer_id).first()
    household = phone_households(phone).filter(pk=household_id).first()
    if offer is None or household is None:
        raise PermissionDenied
    return order_place(actor=None, offer=offer, household=household, items=items, phone=phone, now=now,
                       fast=False).pk


def _order_fast(*, offer_id: int, household_id: int, phone: str, items: dict, now: dt.datetime) -> Order | None:
    """_order_fast_id's order, as an unsaved-looking Order carrying its id."""
    order_id = _order_fast_id(offer_id=offer_id, household_id=household_id, phone=phone, items=items, now=now)
    if order_id is None:
        return None
    return Order(pk=order_id, offer_id=offer_id, household_id=household_id, channel=Channel.SELF,
                 status=OrderStatus.PLACED, created_at=now)


def _order_fast_id(*, offer_id: int, household_id: int, phone: str, items: dict, now: dt.datetime) -> int | None:
    """The usual resident order by fast_orders' one statement, gathered with the process's other
    orders of the moment, giving its id; None, with nothing written, for anything else (a repeat,
    an item run out, a cap, a closed offer, another phone's household), which the general path
    then explains."""
    wanted: dict[int, int] = {}
    for key, value in (items or {}).items():
        item_id, n = _int(key), _int(value if str(value).strip() else 0)
        if item_id is None or n is None or n < 0 or n > MAX_CAP or item_id in wanted:
            return None
        if n:
            wanted[item_id] = n
    if not wanted or not phone:
        return None
    return place_fast(offer_id=offer_id, household_id=household_id, phone=phone, packs=wanted, now=now)


def order_cancel(*, actor, order: Order, phone: str = "", now: dt.datetime | None = None) -> Order:
    """Cancel an order until orders close (the household's phone, or a member for it); its packs
    go back to the offer in the same transaction."""
    now = now or timezone.now()
    household = Household.objects.get(pk=order.household_id)
    _acting_for(actor, household, phone)

    def change(locked: Order):
        offer = Offer.objects.get(pk=locked.offer_id)
        _open_for_orders(offer, now)
        lines = list(locked.lines.select_related("item").order_by("item_id"))
        for line in lines:
            _give_back_packs(line.item, line.quantity, locked.household_id)
        return {"items": {str(line.item_id): line.quantity for line in lines}}

    return move(order, "cancel" if actor is None else "cancel_for", actor=actor, change=change, now=now)


# ------------------------------------------------------------------ reading


def live_orders(offer: Offer):
    return Order.objects.filter(offer=offer).exclude(status=OrderStatus.CANCELLED)


def building_counts(offer: Offer) -> list[dict]:
    """Per building: orders and packs per item (what to sort into each building's pile)."""
    rows: dict[int, dict] = {}
    lines = (OrderLine.objects.filter(order__offer=offer).exclude(order__status=OrderStatus.CANCELLED)
             .values("order__building_id", "order__building__name", "order__building__sort_key", "item_id")
             .annotate(packs=Sum("quantity"), orders=Count("order_id", distinct=True)))
    orders = dict(live_orders(offer).values_list("building_id").annotate(n=Count("pk"))
                  .values_list("building_id", "n"))
    for row in lines:
        entry = rows.setdefault(row["order__building_id"], {
            "name": row["order__building__name"], "sort": row["order__building__sort_key"],
            "orders": orders.get(row["order__building_id"], 0), "packs": {}})
        entry["packs"][row["item_id"]] = row["packs"]
    return sorted(rows.values(), key=lambda r: (r["sort"], r["name"]))


def offer_totals(offer: Offer) -> list[OfferItem]:
    return list(offer.items.with_ordered().select_related("filing_item"))


def channel_counts(offer: Offer) -> dict[str, int]:
    return dict(live_orders(offer).values_list("channel").annotate(n=Count("pk")).values_list("channel", "n"))


# ------------------------------------------------------------------ whom an order placed for a household is for


def household_residents(household: Household) -> list[Resident]:
    """The household's living residents, the head first, then in roster order: whom a building
    lead or staff taking a call may name on an order (the first is the default)."""
    residents = Resident.objects.filter(household=household, living_status__in=LIVING).order_by("pk")
    return sorted(residents, key=lambda r: r.relation != Relation.HEAD)


def resident_choices(household: Household) -> list[dict]:
    """The same residents as the order form shows them: masked name, head marked, default first."""
    return [{"pk": r.pk, "name": mask_name(r.name), "head": r.relation == Relation.HEAD, "default": n == 0}
            for n, r in enumerate(household_residents(household))]


def order_resident(household: Household, resident_id=None) -> Resident | None:
    """The living resident of `household` an order placed for it names: the one chosen, or by
    default the head of the household, else its first living resident (None when nobody lives
    there). A resident of another household, moved out or deceased is refused."""
    if resident_id in (None, ""):
        residents = household_residents(household)
        return residents[0] if residents else None
    resident = Resident.objects.filter(household=household, pk=_int(resident_id) or 0,
                                       living_status__in=LIVING).first()
    if resident is None:
        raise ValidationError({"resident": _("所选的居民不是这一户的在住居民,请重新选择下单人")})
    return resident


# ------------------------------------------------------------------ an offer cancelled (取消接龙)

# Texted once per cancelled order, to the mobile of the resident it names (every order from a
# resident's own phone; an order placed for someone without a mobile gets none).
OFFER_CANCELLED = register_template("XH_GROUPBUY_OFFER_CANCELLED",
                                    "您在{compound}的团购“{title}”已取消,原因:{reason}。您的订单已随之取消,不会送货。")
OFFER_CANCELLED_PURPOSE = register_purpose("groupbuy_offer_cancelled", gettext_lazy("团购接龙取消通知"))
# The text's parameters are cut so that it stays one or two SMS parts.
_TEXT_TITLE, _TEXT_REASON = 16, 30


def _cut(text: str, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[:size - 1] + "…"


def _lock_for_cancel(offer: Offer) -> None:
    """Before the offer's own row: its live orders, then every stripe of its items (item and
    stripe order, as orders take them). Orders never lock the offer's row (Order.offer has no
    database constraint), so the stripes are where a cancellation meets them: holding them waits
    for every order that has taken packs and not yet committed, and no other can take any until
    the cancellation commits. The live orders come first, so that a resident cancelling one (its
    order's row, then the stripes) finishes before."""
    live = Order.objects.filter(offer=offer, status=OrderStatus.PLACED).select_for_update(of=("self",))
    list(live.order_by("pk").values_list("pk", flat=True))
    stripes = OfferItemStripe.objects.filter(item__offer=offer).select_for_update(of=("self",))
    list(stripes.order_by("item_id", "stripe").values_list("pk", flat=True))


def _cancel_orders_of(offer: Offer, reason: str) -> dict:
    """Inside the offer's cancellation (its orders, stripes and row locked by then): every live
    order cancelled, the packs given back and the households texted, in the caller's transaction.
    The stripes are emptied (ordered 0, as no live line is left, and available 0), so an order
    that was waiting for a stripe finds no pack left once this commits and is undone, whichever
    path it came by: no live order is left on a cancelled offer."""
    placed = Order.objects.filter(offer=offer, status=OrderStatus.PLACED)
    stripes = OfferItemStripe.objects.filter(item__offer=offer)
    counted: dict[int, int] = {}
    for item_id, ordered in stripes.values_list("item_id", "ordered"):  # the same as the lines unless they drifted
        counted[item_id] = counted.get(item_id, 0) + ordered
    stripes.update(ordered=0, available=0)
    rows = list(placed.order_by("pk").values_list("pk", "resident__mobile"))
    packs = dict(OrderLine.objects.filter(order__offer=offer, order__status=OrderStatus.PLACED)
                 .values_list("item_id").annotate(n=Sum("quantity")).values_list("item_id", "n"))
    moved = move_many(Order.objects.filter(offer=offer), "cancel", actor=None, committee_id=offer.committee_id,
                      subject_label=offer.title, detail={"offer": offer.pk, "reason": reason[:200]})
    params = {"compound": offer.compound.name, "title": _cut(offer.title, _TEXT_TITLE),
              "reason": _cut(reason, _TEXT_REASON)}
    texts = sms_send_many(template=OFFER_CANCELLED.code, purpose=OFFER_CANCELLED_PURPOSE, messages=[
        BulkMessage(to=mobile, params=params, committee_id=offer.committee_id,
                    idempotency_key=f"groupbuy-offer-cancelled:{pk}") for pk, mobile in rows if mobile])
    return {"orders": moved, "packs": {str(k): v for k, v in sorted(packs.items())},
            "counted": {str(k): v for k, v in sorted(counted.items())}, "texts": texts}


def offer_cancel(*, actor, offer: Offer, reason: str = "", now: dt.datetime | None = None) -> Offer:
    """Cancel an offer before its goods arrive (OPEN or CLOSED, RUN_GROUPBUY), with a reason: in
    one transaction the offer moves to CANCELLED, its live orders to cancelled (the order
    workflow's system action, one audit event for the batch), their packs go back and each
    household whose order names a resident with a mobile is texted once. A second submission
    finds the offer cancelled and is refused by the state table, so nothing happens twice."""
    reason = " ".join((reason or "").split())
    access_unit(actor, OrgUnit.objects.get(pk=offer.committee_id), Cap.RUN_GROUPBUY)
    if not reason:
        raise ValidationError({"reason": _("请填写取消接龙的理由,居民会在短信里看到")})

    def change(locked: Offer):
        return _cancel_orders_of(locked, reason)

    with transaction.atomic():
        if Offer.objects.filter(pk=offer.pk, status__in=(OfferStatus.OPEN, OfferStatus.CLOSED)).exists():
            _lock_for_cancel(offer)
        return move(offer, "cancel", actor=actor, change=change, reason=reason[:200], now=now)
