"""The resident's phone pages of group buying (团购), after the one phone sign-in
(core.resident_phone.PhoneSignIn).

    /supply/buy/                          the phone form                               (public)
    /supply/buy/code/, verify/, logout/   the sign-in steps                            (public)
    /supply/buy/home/                     open votes (with the counts) and open offers of the
                                          household's compound, the household's orders; a
                                          mobile on two households chooses (?household=)   (resident_phone)
    /supply/buy/vote/                     POST the household's vote
    /supply/buy/order/                    POST an order (a form without JavaScript)
    /supply/buy/order.json                POST {"offer": id, "household": id, "items": {"item id": n}}:
                                          the same order answered in JSON (what the bench drives)
    /supply/buy/orders/<pk>/cancel/       POST cancel the household's order until orders close

The household is one where the proven phone is a living resident's mobile; any other is the same
404 (or 403 in JSON) as a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.core.crypto import mask_phone
from xiuhua.core.jsonbody import JsonBodyError, parse_json_body
from xiuhua.core.policy import public
from xiuhua.core.resident_phone import PhoneForm, PhoneSignIn, resident_phone, resident_phone_json, verified_phone

from . import services_orders as orders
from .models import Offer, OfferStatus, Order, OrderStatus, Poll, PollStatus, PollVote, offer_items_prefetch

OTP_PURPOSE = "groupbuy_order"
MAX_BODY = 4096


def _start_page(request, form: PhoneForm, status: int = 200):
    return render(request, "supply/buy/start.html", {"form": form}, status=status)


sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request: None,
    phone_page=lambda request, place, form: _start_page(request, form, status=400),
    verify_template="supply/buy/verify.html",
    verify_context=lambda place: {},
    start=lambda place: redirect("supply:buy_start"),
    verify=lambda place: redirect("supply:buy_verify"),
    done=lambda place: redirect("supply:buy_home"),
)

_need_phone = resident_phone(template="supply/buy/need_phone.html")


@public
@require_GET
def buy_start(request):
    if verified_phone(request):
        return redirect("supply:buy_home")
    return _start_page(request, PhoneForm())


def _household(request, pk=None):
    """The phone's household named by `pk`, or its only one; None when it must choose."""
    households = list(orders.phone_households(request.resident_phone))
    if pk not in (None, ""):
        found = next((h for h in households if str(h.pk) == str(pk)), None)
        if found is None:
            raise Http404
        return found, households
    return (households[0] if len(households) == 1 else None), households


@_need_phone
@require_GET
def buy_home(request):
    household, households = _household(request, request.GET.get("household"))
    context = {"households": households, "household": household, "phone_masked": mask_phone(request.resident_phone)}
    if household is None:
        return render(request, "supply/buy/home.html", context)
    now = timezone.now()
    polls = list(Poll.objects.filter(compound_id=household.compound_id, status__in=[PollStatus.OPEN, PollStatus.CLOSED])
                 .select_related("winner").order_by("-created_at")[:5])
    votes = {v.poll_id: v for v in PollVote.objects.filter(household=household, poll__in=polls)}
    poll_rows = []
    for poll in polls:
        counts = orders.poll_counts(poll)
        options = [{"option": o, "votes": counts[o.pk], "items": list(o.filing.items.all()),
                    "total": orders.filing_total(o.filing)}
                   for o in poll.options.select_related("filing").prefetch_related("filing__items")]
        poll_rows.append({"poll": poll, "options": options, "voted": votes.get(poll.pk),
                          "open": poll.status == PollStatus.OPEN and poll.closes_at > now,
                          "total": sum(counts.values())})
    offers = list(Offer.objects.filter(compound_id=household.compound_id, status=OfferStatus.OPEN,
                                       orders_close_at__gt=now)
                  .prefetch_related(offer_items_prefetch()).select_related("filing").order_by("orders_close_at"))
    for offer in offers:
        for item in offer.items.all():
            item.choices = range(0, min(item.per_household, max(item.left, 0)) + 1)
    mine = {o.offer_id: o for o in Order.objects.filter(household=household, offer__in=offers)
            .exclude(status=OrderStatus.CANCELLED).prefetch_related("lines__item__filing_item")}
    recent = list(Order.objects.filter(household=household).exclude(offer__in=offers)
                  .exclude(status=OrderStatus.CANCELLED).select_related("offer")
                  .prefetch_related("lines__item__filing_item").order_by("-pk")[:5])
    context.update({"polls": poll_rows, "offers": [{"offer": o, "order": mine.get(o.pk)} for o in offers],
                    "recent": recent})
    return render(request, "supply/buy/home.html", context)


def _back(household_pk) -> object:
    response = redirect("supply:buy_home")
    if household_pk:
        response["Location"] += f"?household={int(household_pk)}"
    return response


@_need_phone
@require_POST
def buy_vote(request):
    household, _all = _household(request, request.POST.get("household") or None)
    poll = Poll.objects.filter(pk=_int(request.POST.get("poll"))).first()
    if household is None or poll is None:
        raise Http404
    try:
        orders.poll_vote(actor=None, poll=poll, option_id=request.POST.get("option"), household=household,
                         phone=request.resident_phone)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("投票成功,谢谢参与"))
    return _back(household.pk)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@_need_phone
@require_POST
def buy_order(request):
    household, _all = _household(request, request.POST.get("household") or None)
    offer = Offer.objects.filter(pk=_int(request.POST.get("offer"))).first()
    if household is None or offer is None:
        raise Http404
    wanted = {key.removeprefix("qty-"): value for key, value in request.POST.items() if key.startswith("qty-")}
    try:
        order = orders.order_place(actor=None, offer=offer, household=household, items=wanted,
                                   phone=request.resident_phone)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        order.refresh_from_db(fields=["amount"])
        messages.success(request, _("下单成功,金额%(amount)s元,截单前可以取消") % {"amount": order.amount})
    return _back(household.pk)


@_need_phone
@require_POST
def buy_cancel(request, pk: int):
    order = Order.objects.filter(pk=pk, household__in=orders.phone_households(request.resident_phone)).first()
    if order is None:
        raise Http404
    try:
        orders.order_cancel(actor=None, order=order, phone=request.resident_phone)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("订单已取消"))
    return _back(order.household_id)


@resident_phone_json
@require_POST
def buy_order_json(request):
    """One order in as few queries as the fast path allows: the offer and household are passed to
    the service by id; the service checks the phone, the compound and the offer itself."""
    try:
        body = parse_json_body(request, max_bytes=MAX_BODY, max_depth=3, empty={})
    except JsonBodyError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status_code)
    items = body.get("items") if isinstance(body, dict) else None
    offer_id, household_id = (_int(body.get("offer")), _int(body.get("household"))) if isinstance(body, dict) \
        else (0, 0)
    if not isinstance(items, dict) or not offer_id or not household_id:
        return JsonResponse({"detail": _("请选择团购、住户和商品份数")}, status=422)
    phone = request.resident_phone
    try:
        if not 0 < len(items) <= 60:
            raise ValidationError({"items": _("请至少选择一种商品")})
        order_id = orders.order_fast_or_place(offer_id=offer_id, household_id=household_id, items=items, phone=phone)
    except (PermissionDenied, Http404):
        return JsonResponse({"detail": _("没有找到这个团购或住户")}, status=404)
    except ValidationError as exc:
        return JsonResponse({"detail": " ".join(exc.messages)}, status=409)
    return JsonResponse({"order": order_id}, status=201)
