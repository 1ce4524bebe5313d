"""Demo votes, offers and orders for `seed_demo` (after demo_groupbuy's leader and filings): in
the demo committee, two more approved vegetable filings are put to a vote that closes tomorrow,
with a few households' votes (one entered by the building lead); the approved rice filing is open
for orders, with orders from a few households' phones, one by the building lead and one taken by
phone by the committee staff. Written through the services as the pages would. Idempotent:
nothing is written when the committee already has a poll."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from xiuhua.residents.models import Household, Resident

from . import services, services_orders
from .demo_groupbuy import _acting
from .models import DocKind, Filing, FilingStatus, Leader, Offer, Poll


def ensure_demo_orders() -> list[str]:
    staff, lead = _acting("committee"), _acting("grid")
    if staff is None or lead is None:
        return []
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    if Poll.objects.filter(committee=committee).exists():
        return []
    leader = Leader.objects.filter(committee=committee).select_related("compound", "resident").first()
    if leader is None:
        return []
    now = timezone.now()
    phone = leader.resident.mobile
    if not leader.documents.filter(kind=DocKind.DRIVER_TEST, holder="王师傅", expires_at__gt=now).exists():
        services.document_add(actor=None, phone=phone, leader=leader, kind=DocKind.DRIVER_TEST,
                              number="HS20220421007", holder="王师傅", taken_at=now - dt.timedelta(hours=2), now=now)
    base = {"supplier_licence": "JY13101100054321", "driver_name": "王师傅", "driver_phone": "13900001234",
            "vehicle_plate": "沪A12345", "window_start": now + dt.timedelta(hours=26),
            "window_end": now + dt.timedelta(hours=28)}
    options = []
    for supplier, price, contents in (("上海鲜达食品有限公司", "68", "土豆 1kg\n青菜 500g\n洋葱 1kg\n胡萝卜 500g"),
                                      ("上海绿源农产品合作社", "59", "土豆 1kg\n青菜 1kg\n番茄 500g\n黄瓜 500g")):
        filing = services.filing_submit(actor=None, phone=phone, leader=leader, data={
            **base, "supplier": supplier,
            "items": [{"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": price, "contents": contents}]})
        options.append(services.filing_decide(actor=staff, filing=filing, action="approve"))
    poll = services_orders.poll_open(actor=staff, filings=options, category="vegetables", title="本周蔬菜套餐选哪家",
                                     closes_at=now + dt.timedelta(hours=20))
    households = list(Household.objects.filter(compound=leader.compound, pk__in=Resident.objects.filter(
        living_status__in=services.LIVING).exclude(mobile="").values("household_id")).order_by("pk")[:12])
    voted = ordered = 0
    first, second = list(poll.options.all())
    for n, household in enumerate(households[:5]):
        mobile = Resident.objects.filter(household=household, living_status__in=services.LIVING).exclude(
            mobile="").order_by("pk").values_list("mobile", flat=True).first() or ""
        try:
            services_orders.poll_vote(actor=None, poll=poll, option_id=(second if n % 3 else first).pk,
                                      household=household, phone=mobile)
            voted += 1
        except (ValidationError, PermissionDenied):
            continue
    lead_households = list(Household.objects.visible_to(lead).filter(compound=leader.compound).order_by("-pk")[:2])
    for household in lead_households[:1]:
        try:
            services_orders.poll_vote(actor=lead, poll=poll, option_id=first.pk, household=household)
            voted += 1
        except (ValidationError, PermissionDenied):
            pass
    rice = (Filing.objects.filter(leader=leader, status=FilingStatus.APPROVED, offer__isnull=True)
            .exclude(pk__in=[f.pk for f in options]).order_by("pk").first())
    offer: Offer | None = None
    if rice is not None:
        items = list(rice.items.all())
        offer = services_orders.offer_open(
            actor=staff, filing=rice, category="rice", title=f"{rice.supplier} 大米、蔬菜套餐",
            terms={item.pk: (40 if n == 0 else 60, 2 if n == 0 else 1) for n, item in enumerate(items)},
            orders_close_at=now + dt.timedelta(hours=10))
        items = list(offer.items.order_by("position"))  # what households order: the offer's items
        for n, household in enumerate(households[5:11]):
            mobile = Resident.objects.filter(household=household, living_status__in=services.LIVING).exclude(
                mobile="").order_by("pk").values_list("mobile", flat=True).first() or ""
            wanted = {str(items[0].pk): 1 + n % 2} if n % 3 else {str(i.pk): 1 for i in items}
            try:
                services_orders.order_place(actor=None, offer=offer, household=household, items=wanted, phone=mobile)
                ordered += 1
            except (ValidationError, PermissionDenied):
                continue
        for actor, household in ((lead, lead_households[-1] if lead_households else None),
                                 (staff, households[11] if len(households) > 11 else None)):
            if household is None:
                continue
            try:
                services_orders.order_place(actor=actor, offer=offer, household=household,
                                            items={str(items[0].pk): 1})
                ordered += 1
            except (ValidationError, PermissionDenied):
                continue
    return [f"Group-buy orders: a vote of 2 vegetable offers with {voted} votes; "
            f"{'an open offer with ' + str(ordered) + ' orders' if offer else 'no offer'}."]
