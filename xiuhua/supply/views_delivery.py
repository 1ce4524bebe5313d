"""Delivery pages of group buying.

Committee (VIEW_SUPPLY to read, RUN_GROUPBUY to act and print), desktop:

    /supply/deliveries/                         offers closed and on their way, recent ones done
    /supply/deliveries/<pk>/                    one offer's delivery: the step it is at
    /supply/deliveries/<pk>/gate/               POST: preview the sharing of a shortage, or confirm
    /supply/deliveries/<pk>/disinfect/          POST chlorine and wait
    /supply/deliveries/<pk>/sort/               POST sorted (not before the wait is over)
    /supply/deliveries/<pk>/picklist.pdf        pick list, ?building=<pk> for one building
    /supply/deliveries/<pk>/labels.pdf          labels with the door QR, ?building=<pk>

Whoever carries (DELIVER_ORDERS: committee staff, grid workers, volunteers), phone:

    /supply/deliver/                            what is left to carry, per building
    /supply/o/<pk>-<code>/                      the label's QR: building, room, items; 确认送达
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, has_cap
from xiuhua.core.code_guessing import CodeGuard, private
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import OrgUnit

from . import picklists
from . import services_delivery as services
from .models_orders import Delivery, Offer, OfferStatus, Order, OrderLine, OrderStatus, ShortRule

# Door codes are 40 bits; twenty wrong ones in ten minutes from one network is a script.
DOOR_CODES = CodeGuard("supply-door", limit=20, window=600, template="supply/delivery/too_many_codes.html")

PENDING = (OfferStatus.CLOSED, OfferStatus.ARRIVED, OfferStatus.DISINFECTED, OfferStatus.SORTED)


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@requires(Cap.VIEW_SUPPLY)
@require_GET
def deliveries(request):
    offers = Offer.objects.visible_to(request.user).select_related("compound", "filing")
    current = list(offers.filter(status__in=PENDING).order_by("orders_close_at", "pk").annotate(
        live=Count("orders", filter=Q(orders__status=OrderStatus.PLACED)),
        delivered=Count("orders", filter=Q(orders__status=OrderStatus.DELIVERED))))
    done = list(offers.filter(status=OfferStatus.DONE).order_by("-pk")[:20])
    return render(request, "supply/delivery/list.html", {"current": current, "done": done})


def _offer(request, pk: int) -> Offer:
    return access_by_id(Offer.objects.select_related("compound", "filing"), request.user, pk=pk)


def _page(request, offer: Offer, *, plan=None, form=None, status: int = 200):
    delivery = Delivery.objects.filter(offer=offer).select_related("checked_by", "disinfected_by",
                                                                   "sorted_by").first()
    items = list(offer.items.with_ordered().select_related("filing_item"))
    for item in items:
        item.entered = form.get(f"received_{item.pk}", "") if form else item.ordered  # type: ignore[attr-defined]
    running = has_cap(request.user, Cap.RUN_GROUPBUY)
    context = {
        "offer": offer, "filing": offer.filing, "delivery": delivery, "items": items, "plan": plan,
        "form": form or {}, "rules": ShortRule.choices, "running": running, "now": timezone.now(),
        "can_arrive": can(request.user, offer, "arrive"), "can_disinfect": can(request.user, offer, "disinfect"),
        "can_sort": can(request.user, offer, "sort"),
        "printable": running and offer.status in (OfferStatus.ARRIVED, OfferStatus.DISINFECTED, OfferStatus.SORTED,
                                                  OfferStatus.DONE),
    }
    if offer.status != OfferStatus.CLOSED:
        orders = Order.objects.filter(offer=offer)
        context["progress"] = list(
            orders.exclude(status=OrderStatus.CANCELLED).values("building_id", "building__name", "building__sort_key")
            .annotate(live=Count("pk", filter=Q(status=OrderStatus.PLACED)),
                      delivered=Count("pk", filter=Q(status=OrderStatus.DELIVERED)),
                      unfilled=Count("pk", filter=Q(status=OrderStatus.UNFILLED)))
            .order_by("building__sort_key", "building_id"))
        context["cut"] = (OrderLine.objects.filter(order__offer=offer, allotted__isnull=False)
                          .exclude(allotted=F("quantity")).count())
    return render(request, "supply/delivery/offer.html", context, status=status)


@requires(Cap.VIEW_SUPPLY)
@require_GET
def delivery(request, pk: int):
    return _page(request, _offer(request, pk))


def _checks(data) -> dict:
    return {"plate_matches": data.get("plate_matches") == "1", "driver_matches": data.get("driver_matches") == "1",
            "goods_match": data.get("goods_match") == "1", "note": data.get("note", "").strip()[:200]}


@requires(Cap.RUN_GROUPBUY)
@require_POST
def delivery_gate(request, pk: int):
    offer = _offer(request, pk)
    form = request.POST
    rule = form.get("rule", "")
    try:
        received = services.parse_received(offer, form)
        if form.get("step") == "confirm":
            plan = services.delivery_arrive(actor=request.user, offer=offer, received=received, rule=rule,
                                            fingerprint=form.get("fingerprint", ""), **_checks(form))
        else:
            checks = _checks(form)
            if not (checks["plate_matches"] and checks["driver_matches"] and checks["goods_match"]) \
                    and not checks["note"]:
                raise ValidationError(_("车牌、司机或货品与报备不一致时,请填写核对说明"))
            if offer.status != OfferStatus.CLOSED:
                raise ValidationError(_("这批团购已做过到货核对"))
            plan = services.delivery_plan(offer, received, rule)
            return _page(request, offer, plan=plan, form=form)
    except ValidationError as exc:
        _errors(request, exc)
        return _page(request, offer, form=form, status=400)
    unfilled = len(plan.unfilled)
    messages.success(request, _("已登记到货:%(n)s 户配货,%(u)s 户缺货未配") % {
        "n": plan.orders - unfilled, "u": unfilled})
    return redirect("supply:delivery", offer.pk)


@requires(Cap.RUN_GROUPBUY)
@require_POST
def delivery_disinfect(request, pk: int):
    offer = _offer(request, pk)
    try:
        row = services.delivery_disinfect(actor=request.user, offer=offer, chlorine=request.POST.get("chlorine", ""),
                                          wait=request.POST.get("wait", ""))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已登记消杀,%(time)s 后可以分拣") % {
            "time": timezone.localtime(row.released_at).strftime("%H:%M")})
    return redirect("supply:delivery", offer.pk)


@requires(Cap.RUN_GROUPBUY)
@require_POST
def delivery_sort(request, pk: int):
    offer = _offer(request, pk)
    try:
        services.delivery_sort(actor=request.user, offer=offer)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已分拣完成,可以送货上门"))
    return redirect("supply:delivery", offer.pk)


def _building(request, offer: Offer) -> int | None:
    raw = request.GET.get("building", "")
    if not raw:
        return None
    if not raw.isdigit() or not OrgUnit.objects.filter(pk=raw, path__startswith=offer.compound.path).exists():
        raise Http404
    return int(raw)


def _printable(request, pk: int) -> Offer:
    offer = _offer(request, pk)
    if offer.status not in (OfferStatus.ARRIVED, OfferStatus.DISINFECTED, OfferStatus.SORTED, OfferStatus.DONE):
        raise Http404
    return offer


def _pdf(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Cap.RUN_GROUPBUY)
@require_GET
def picklist(request, pk: int):
    offer = _printable(request, pk)
    return _pdf(picklists.picklist_pdf(offer, _building(request, offer)), f"picklist-{offer.pk}.pdf")


@requires(Cap.RUN_GROUPBUY)
@require_GET
def labels(request, pk: int):
    offer = _printable(request, pk)
    building = _building(request, offer)
    data, count = picklists.labels_pdf(offer, building)
    services.labels_printed(actor=request.user, offer=offer, building_id=building, count=count)
    return _pdf(data, f"labels-{offer.pk}.pdf")


# ---------------------------------------------------------------------------------------------
# Whoever carries


def _door_order(request, key: str) -> Order:
    """The order of a label's key, within the carrier's scope; a wrong code is the same 404 as a
    missing order and counts against the address."""
    pk = services.order_of_key(key)
    if pk is None:
        DOOR_CODES.count_wrong(request)
        raise Http404
    return access_by_id(Order.objects.select_related("building", "household", "offer__compound", "delivered_by"),
                        request.user, pk=pk)


@requires(Cap.DELIVER_ORDERS)
@require_http_methods(["GET", "POST"])
@DOOR_CODES.guards
def door(request, key: str):
    order = _door_order(request, key)
    status = 200
    if request.method == "POST":
        try:
            result = services.order_deliver(actor=request.user, order=order)
        except ValidationError as exc:
            _errors(request, exc)
            status = 400
        else:
            if result.now:
                messages.success(request, _("已确认送达"))
            return private(redirect("supply:door", key=key))
        order.refresh_from_db()
    lines = [(line.item.filing_item.name, line.allotted if line.allotted is not None else line.quantity)
             for line in order.lines.select_related("item__filing_item")]
    return private(render(request, "supply/delivery/door.html", {
        "order": order, "lines": lines, "key": key, "delivered": order.status == OrderStatus.DELIVERED,
        "deliverable": order.status == OrderStatus.PLACED and order.offer.status == OfferStatus.SORTED,
    }, status=status))


@requires(Cap.DELIVER_ORDERS)
@require_GET
def to_deliver(request):
    """What is left to carry, per building, of the sorted offers the carrier's scope covers."""
    orders = (Order.objects.visible_to(request.user)
              .filter(status=OrderStatus.PLACED, offer__status=OfferStatus.SORTED)
              .select_related("offer", "building", "household")
              .order_by("offer_id", "building__sort_key", "building_id", "household__room_sort", "pk"))
    building = request.GET.get("building", "")
    if building.isdigit():
        orders = orders.filter(building_id=int(building))
    orders = list(orders[:2000])
    lines: dict[int, list[tuple[str, int]]] = {}
    for line in (OrderLine.objects.filter(order__in=[o.pk for o in orders], allotted__gt=0)
                 .select_related("item__filing_item").order_by("item__position", "pk")):
        lines.setdefault(line.order_id, []).append((line.item.filing_item.name, line.allotted))
    groups: list[dict] = []
    for order in orders:
        if not groups or groups[-1]["offer"].pk != order.offer_id or groups[-1]["building"].pk != order.building_id:
            groups.append({"offer": order.offer, "building": order.building, "rows": []})
        groups[-1]["rows"].append({"order": order, "key": services.door_key(order.pk),
                                   "lines": lines.get(order.pk, [])})
    return private(render(request, "supply/delivery/to_deliver.html", {"groups": groups, "building": building}))
