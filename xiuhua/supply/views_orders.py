"""The committee's pages of votes, offers and orders (desktop), and the building lead's page for
households without phones (a 360 px phone, staff login).

Committee staff (VIEW_SUPPLY to read, RUN_GROUPBUY to act):

    /supply/polls/                          polls with their counts; a new poll of 2+ approved filings
    /supply/polls/<pk>/                     one poll: options, counts, the winner; close, cancel,
                                            open orders on the winner (one click), a vote entered
    /supply/offers/                         offers with per-item ordered / available
    /supply/offers/open/<filing>/           open orders on an approved filing (packs, caps, closing time)
    /supply/offers/<pk>/                    one offer: per item, per building, by channel; close,
                                            cancel with a reason (取消接龙: every order goes with
                                            it); an order taken by phone (电话代下单), for the
                                            resident chosen after ?find_building=&find_room=
    /supply/offers/<pk>/orders/             its orders (masked names, room, items, channel)
    /supply/offers/<pk>/orders.xlsx         the same per building, as Excel (audited)

Building leads (grid workers) and committee staff (ORDER_FOR_RESIDENT):

    /supply/for-residents/                  open polls and offers of the committee; vote or order
                                            for a household of the lead's grid by building + room,
                                            looked up first (?find_building=&find_room=) to name
                                            the resident the order is for (default: the head)
    /supply/offers/<pk>/order/              POST an order for a household (building, room, packs)
    /supply/polls/<pk>/vote/                POST a vote for a household
    /supply/orders/<pk>/cancel/             POST cancel an order for the household

A poll, offer, order or filing outside the member's scope is the same 404 as a missing one.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, has_cap, require
from xiuhua.core.crypto import mask_name
from xiuhua.core.models import AuditEvent
from xiuhua.core.policy import requires
from xiuhua.core.sheets import Column, ListSheet, list_columns, list_download
from xiuhua.core.workflow import can
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household

from . import services_orders as orders
from .models import (
    Category,
    Filing,
    FilingStatus,
    Offer,
    OfferStatus,
    Order,
    OrderStatus,
    Poll,
    PollStatus,
    offer_items_prefetch,
)


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


def _when(text: str) -> dt.datetime | None:
    """A datetime-local field (Beijing time) as an aware datetime, or None."""
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _default_close(hours: int) -> str:
    return timezone.localtime(timezone.now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _close_before(filing: Filing) -> str:
    """The default closing time of orders: in 24 hours, or two hours before the delivery starts
    when that is sooner (and still ahead)."""
    close = timezone.now() + dt.timedelta(hours=24)
    before = filing.window_start - dt.timedelta(hours=2)
    if timezone.now() < before < close:
        close = before
    return timezone.localtime(close).strftime("%Y-%m-%dT%H:%M")


def _item_terms(post, filing: Filing) -> dict[int, tuple]:
    return {item.pk: (post.get(f"available-{item.pk}", ""), post.get(f"cap-{item.pk}", ""))
            for item in filing.items.all()}


def _openable(user):
    """Approved filings of the member's scope not opened yet (for a poll or an offer)."""
    return (Filing.objects.visible_to(user).filter(status=FilingStatus.APPROVED, offer__isnull=True)
            .select_related("leader__compound", "leader__resident").prefetch_related("items")
            .order_by("-submitted_at"))


# ------------------------------------------------------------------ polls


@requires(Cap.VIEW_SUPPLY)
@require_http_methods(["GET", "POST"])
def polls(request):
    running = has_cap(request.user, Cap.RUN_GROUPBUY)
    if request.method == "POST":
        if not running:
            raise Http404
        chosen = [access_by_id(Filing.objects.select_related("leader__compound", "committee"), request.user, pk=pk)
                  for pk in request.POST.getlist("filing")[:orders.MAX_OPTIONS + 1]]
        try:
            poll = orders.poll_open(actor=request.user, filings=chosen, category=request.POST.get("category", ""),
                                    title=request.POST.get("title", ""),
                                    closes_at=_when(request.POST.get("closes_at", "")))
        except ValidationError as exc:
            _errors(request, exc)
            return redirect("supply:polls")
        messages.success(request, _("投票已发起,居民可在手机上投票"))
        return redirect("supply:poll", poll.pk)
    rows = list(Poll.objects.visible_to(request.user).select_related("compound", "winner__filing")
                .annotate(votes_count=Count("votes"))[:100])
    return render(request, "supply/orders/polls.html", {
        "rows": rows, "running": running, "filings": _openable(request.user) if running else [],
        "categories": Category.choices, "default_close": _default_close(12)})


def _options(poll: Poll) -> list[dict]:
    counts = orders.poll_counts(poll)
    total = sum(counts.values())
    rows = []
    for option in poll.options.select_related("filing__leader__resident").prefetch_related("filing__items"):
        rows.append({"option": option, "filing": option.filing, "votes": counts[option.pk],
                     "share": round(100 * counts[option.pk] / total) if total else 0,
                     "items": list(option.filing.items.all()), "total": orders.filing_total(option.filing),
                     "winner": poll.winner_id == option.pk})
    return rows


@requires(Cap.VIEW_SUPPLY)
@require_GET
def poll(request, pk: int):
    row = access_by_id(Poll.objects.select_related("compound", "winner__filing"), request.user, pk=pk)
    winner = row.winner.filing if row.winner else None
    opened = Offer.objects.filter(filing=winner).first() if winner else None
    return render(request, "supply/orders/poll.html", {
        "poll": row, "options": _options(row), "votes": row.votes.count(),
        "by_channel": dict(row.votes.values_list("channel").annotate(n=Count("pk")).values_list("channel", "n")),
        "can_close": can(request.user, row, "close"), "can_cancel": can(request.user, row, "cancel"),
        "winner": winner, "opened": opened,
        "can_open": winner is not None and opened is None and has_cap(request.user, Cap.RUN_GROUPBUY),
        "default_close": _close_before(winner) if winner else "", "households": _households(row.compound),
        "can_vote_for": has_cap(request.user, Cap.ORDER_FOR_RESIDENT) and row.status == PollStatus.OPEN,
        "buildings": _buildings(request.user, row.compound),
    })


def _households(compound: OrgUnit) -> int:
    return Household.objects.filter(compound=compound).count()


@requires(Cap.RUN_GROUPBUY)
@require_POST
def poll_act(request, pk: int):
    row = access_by_id(Poll.objects, request.user, pk=pk)
    action = request.POST.get("action", "")
    try:
        if action == "close":
            orders.poll_close(actor=request.user, poll=row)
            messages.success(request, _("投票已截止"))
        elif action == "cancel":
            orders.poll_cancel(actor=request.user, poll=row, reason=request.POST.get("reason", ""))
            messages.success(request, _("投票已取消"))
        else:
            raise Http404
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supply:poll", row.pk)


@requires(Cap.ORDER_FOR_RESIDENT)
@require_POST
def poll_vote_for(request, pk: int):
    row = _for_resident(Poll.objects, request.user, pk)
    from_lead_page = request.POST.get("next") == "for"
    try:
        household = orders.household_at(request.user, building_id=request.POST.get("building"),
                                        room=request.POST.get("room", ""))
        orders.poll_vote(actor=request.user, poll=row, option_id=request.POST.get("option"), household=household)
    except PermissionDenied:
        messages.error(request, _("这一户不在本次投票的小区"))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已为%(building)s%(room)s室投票(代投)") % {
            "building": household.building.name, "room": household.room})
    return redirect("supply:for_residents") if from_lead_page else redirect("supply:poll", row.pk)


# ------------------------------------------------------------------ offers


@requires(Cap.VIEW_SUPPLY)
@require_GET
def offers(request):
    rows = list(Offer.objects.visible_to(request.user).select_related("compound", "filing")
                .prefetch_related(offer_items_prefetch())
                .annotate(orders_count=Count("orders", filter=~Q(orders__status=OrderStatus.CANCELLED)))[:100])
    return render(request, "supply/orders/offers.html", {
        "rows": rows, "filings": _openable(request.user) if has_cap(request.user, Cap.RUN_GROUPBUY) else []})


@requires(Cap.RUN_GROUPBUY)
@require_http_methods(["GET", "POST"])
def offer_open(request, filing_pk: int):
    filing = access_by_id(Filing.objects.select_related("leader__compound", "committee"), request.user, pk=filing_pk)
    poll_pk = request.POST.get("poll") or request.GET.get("poll") or ""
    from_poll = access_by_id(Poll.objects.select_related("winner"), request.user, pk=poll_pk) if poll_pk else None
    if request.method == "POST":
        try:
            offer = orders.offer_open(actor=request.user, filing=filing, terms=_item_terms(request.POST, filing),
                                      orders_close_at=_when(request.POST.get("orders_close_at", "")),
                                      category=request.POST.get("category", ""), title=request.POST.get("title", ""),
                                      poll=from_poll)
        except ValidationError as exc:
            _errors(request, exc)
            back = redirect("supply:poll", from_poll.pk) if from_poll else redirect("supply:offer_open", filing.pk)
            return back
        messages.success(request, _("已开团,居民可在手机上下单"))
        return redirect("supply:offer", offer.pk)
    return render(request, "supply/orders/offer_open.html", {
        "filing": filing, "items": filing.items.all(), "poll": from_poll, "categories": Category.choices,
        "default_close": _close_before(filing), "households": _households(filing.leader.compound),
        "opened": Offer.objects.filter(filing=filing).first()})


def _buildings(user, compound: OrgUnit | None = None):
    """The buildings where the member may act for households (a lead: those of their grid)."""
    households = Household.objects.visible_to(user)
    if compound is not None:
        households = households.filter(compound=compound)
    return OrgUnit.objects.filter(pk__in=households.values("building_id")).order_by("sort_key", "name")


@requires(Cap.VIEW_SUPPLY)
@require_GET
def offer(request, pk: int):
    row = access_by_id(Offer.objects.select_related("compound", "filing__leader__resident", "poll"), request.user,
                       pk=pk)
    items = orders.offer_totals(row)
    buildings = orders.building_counts(row)
    for entry in buildings:
        entry["cells"] = [entry["packs"].get(item.pk, 0) for item in items]
    can_order = has_cap(request.user, Cap.ORDER_FOR_RESIDENT) and row.status == OfferStatus.OPEN
    return render(request, "supply/orders/offer.html", {
        "offer": row, "items": items, "buildings": buildings, "channels": orders.channel_counts(row),
        "orders_count": orders.live_orders(row).count(),
        "can_close": can(request.user, row, "close"), "can_cancel": can(request.user, row, "cancel"),
        "can_order": can_order, "order_buildings": _buildings(request.user, row.compound),
        "cancelled": _cancelled(row), **(_found(request) if can_order else {}),
    })


def _cancelled(offer: Offer) -> AuditEvent | None:
    """The cancellation of a cancelled offer (who, when, why), from its audit event."""
    if offer.status != OfferStatus.CANCELLED:
        return None
    return (AuditEvent.objects.filter(action="groupbuy_offer_cancel", object_type="supply.offer", object_id=offer.pk)
            .select_related("actor").order_by("-pk").first())


def _found(request) -> dict:
    """The household a lead or staff member looked up by building and room (GET find_building and
    find_room; building and room as before) before ordering for it, with its living residents to
    choose whom the order is for (the head first, chosen). The lookup's fields have names of their
    own, so the order forms' building and room stay the page's first of those names."""
    building = request.GET.get("find_building") or request.GET.get("building", "")
    room = (request.GET.get("find_room") or request.GET.get("room", "")).strip()
    found: dict = {"building": building, "room": room, "found": None, "residents": []}
    if building and room:
        try:
            household = orders.household_at(request.user, building_id=building, room=room)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            found.update(found=household, residents=orders.resident_choices(household), room=household.room)
    return found


@requires(Cap.RUN_GROUPBUY)
@require_POST
def offer_act(request, pk: int):
    row = access_by_id(Offer.objects, request.user, pk=pk)
    action = request.POST.get("action", "")
    try:
        if action == "close":
            orders.offer_close(actor=request.user, offer=row)
            messages.success(request, _("已截单"))
        elif action == "cancel":
            if row.status == OfferStatus.CANCELLED:  # a second submission of the form
                messages.info(request, _("该接龙已经取消"))
            else:
                done = orders.offer_cancel(actor=request.user, offer=row, reason=request.POST.get("reason", ""))
                event = _cancelled(done)
                detail = event.detail if event is not None else {}
                n, texts = detail.get("orders", 0), detail.get("texts", 0)
                messages.success(request, ngettext("接龙已取消:%(n)s户的订单随之取消,份数已退回。",
                                                   "接龙已取消:%(n)s户的订单随之取消,份数已退回。", n) % {"n": n}
                                 + ngettext("已给%(n)s户发短信。", "已给%(n)s户发短信。", texts) % {"n": texts})
        else:
            raise Http404
    except ValidationError as exc:
        row.refresh_from_db(fields=["status"])
        if action == "cancel" and row.status == OfferStatus.CANCELLED:  # cancelled by a parallel submission
            messages.info(request, _("该接龙已经取消"))
        else:
            _errors(request, exc)
    return redirect("supply:offer", row.pk)


ORDER_COLUMNS = list_columns(
    Column(gettext_lazy("楼栋"), width=10), Column(gettext_lazy("室号"), width=8),
    Column(gettext_lazy("姓名"), width=10),
    Column(gettext_lazy("商品"), width=40), Column(gettext_lazy("金额(元)"), width=10),
    Column(gettext_lazy("下单方式"), width=14), Column(gettext_lazy("下单时间"), width=16),
)


def _order_rows(offer: Offer):
    rows = (orders.live_orders(offer).select_related("building", "household", "resident", "placed_by")
            .prefetch_related("lines__item__filing_item")
            .order_by("building__sort_key", "building__name", "household__room_sort", "pk"))
    for order in rows:
        lines = "、".join(f"{line.item.filing_item.name}×{line.quantity}" for line in order.lines.all())
        channel = order.get_channel_display()
        if order.placed_by_id:
            channel = f"{channel}({order.placed_by.display_name or order.placed_by.username})"
        yield order, {"building": order.building.name, "room": order.household.room,
                      "name": mask_name(order.resident.name) if order.resident else "",
                      "lines": lines, "amount": order.amount, "channel": channel,
                      "when": timezone.localtime(order.created_at)}


@requires(Cap.VIEW_SUPPLY)
@require_GET
def offer_orders(request, pk: int):
    row = access_by_id(Offer.objects.select_related("compound"), request.user, pk=pk)
    entries = list(_order_rows(row))
    return render(request, "supply/orders/orders.html", {
        "offer": row, "entries": entries,
        "can_cancel": has_cap(request.user, Cap.ORDER_FOR_RESIDENT) and row.status == OfferStatus.OPEN})


@requires(Cap.VIEW_SUPPLY)
@require_GET
def offer_orders_xlsx(request, pk: int):
    row = access_by_id(Offer.objects.select_related("compound"), request.user, pk=pk)
    membership = require(request.user, Cap.VIEW_SUPPLY)
    rows = ([e["building"], e["room"], e["name"], e["lines"], e["amount"], e["channel"],
             e["when"].replace(tzinfo=None)] for _o, e in _order_rows(row))
    sheet = ListSheet(ORDER_COLUMNS, title=_("%(title)s 订单(按楼栋)") % {"title": row.title},
                      filters=_("%(compound)s · 截单 %(when)s") % {
                          "compound": row.compound.name,
                          "when": timezone.localtime(row.orders_close_at).strftime("%Y-%m-%d %H:%M")},
                      rows=rows, name=_("团购订单"))
    return list_download(sheet, actor=request.user, membership=membership, action="groupbuy_orders_export",
                         filename=_("团购订单-%(title)s") % {"title": row.title}, fallback=f"groupbuy-orders-{row.pk}",
                         obj=row)


# ------------------------------------------------------------------ for residents without phones


def _for_resident(queryset, user, pk):
    """A poll or offer of the member's committee, for ORDER_FOR_RESIDENT (a building lead sees no
    supply pages, so not through VIEW_SUPPLY's visible_to): 404 for missing and out of scope."""
    membership = require(user, Cap.ORDER_FOR_RESIDENT)
    committees = OrgUnit.objects.filter(path__startswith=membership.org_unit.path, kind="committee")
    try:
        return queryset.filter(committee__in=committees).get(pk=int(pk))
    except (queryset.model.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


@requires(Cap.ORDER_FOR_RESIDENT)
@require_GET
def for_residents(request):
    membership = require(request.user, Cap.ORDER_FOR_RESIDENT)
    committees = OrgUnit.objects.filter(path__startswith=membership.org_unit.path, kind="committee")
    now = timezone.now()
    open_polls = list(Poll.objects.filter(committee__in=committees, status=PollStatus.OPEN, closes_at__gt=now)
                      .select_related("compound").prefetch_related("options__filing"))
    open_offers = list(Offer.objects.filter(committee__in=committees, status=OfferStatus.OPEN, orders_close_at__gt=now)
                       .select_related("compound").prefetch_related(offer_items_prefetch()))
    mine = list(Order.objects.filter(placed_by=request.user, offer__in=open_offers)
                .exclude(status=OrderStatus.CANCELLED).select_related("building", "household", "offer", "resident")
                .prefetch_related("lines__item__filing_item").order_by("-pk")[:50])
    for order in mine:
        order.resident_masked = mask_name(order.resident.name) if order.resident else ""  # type: ignore[attr-defined]
    return render(request, "supply/orders/for_residents.html", {
        "polls": open_polls, "offers": open_offers, "buildings": _buildings(request.user), "mine": mine,
        **_found(request)})


@requires(Cap.ORDER_FOR_RESIDENT)
@require_POST
def order_for(request, pk: int):
    row = _for_resident(Offer.objects, request.user, pk)
    wanted = {key.removeprefix("qty-"): value for key, value in request.POST.items() if key.startswith("qty-")}
    from_lead_page = request.POST.get("next") == "for"
    try:
        household = orders.household_at(request.user, building_id=request.POST.get("building"),
                                        room=request.POST.get("room", ""))
        order = orders.order_place(actor=request.user, offer=row, household=household, items=wanted,
                                   resident_id=request.POST.get("resident") or None)
    except PermissionDenied:
        messages.error(request, _("这一户不在本次团购的小区"))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已为%(building)s%(room)s室%(name)s下单(%(channel)s),金额%(amount)s元") % {
            "building": household.building.name, "room": household.room,
            "name": mask_name(order.resident.name) if order.resident else "",
            "channel": order.get_channel_display(), "amount": order.amount})
    return redirect("supply:for_residents") if from_lead_page else redirect("supply:offer", row.pk)


@requires(Cap.ORDER_FOR_RESIDENT)
@require_POST
def order_cancel_for(request, pk: int):
    order = access_by_id(Order.objects.select_related("offer"), request.user, pk=pk)
    try:
        orders.order_cancel(actor=request.user, order=order)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("订单已取消,份数已退回"))
    if request.POST.get("next") == "for":
        return redirect("supply:for_residents")
    return redirect("supply:offer_orders", order.offer_id)

