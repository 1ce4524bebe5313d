"""What donations, loans and stock add to core's first page and to `seed_demo` (core.registry)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart


def waiting_work(user, membership) -> dict[str, int] | None:
    """Loans past their due date and not all returned, for whoever sees the supplies."""
    if not membership.has(Cap.VIEW_SUPPLY):
        return None
    from .selectors_stock import overdue_loans

    return {"loans_overdue": overdue_loans(user).count()}


def seed_demo() -> list[str]:
    """A goods and a money donation, part of the goods in stock, some issued; two loans of
    thermometer guns, one overdue. Idempotent: nothing when the demo committee has a donation."""
    from xiuhua.accounts.models import User

    from . import services_stock as s
    from .models_stock import Donation, MoveReason, StockItem

    try:
        staff = User.objects.get(username="committee")
    except User.DoesNotExist:
        return []
    staff.active_membership = staff.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    if Donation.objects.filter(unit=committee).exists():
        return []
    now = timezone.now()
    goods = s.donation_record(actor=staff, unit=committee, donor_name="国和超市", donor_kind="organisation",
                              kind="goods", lines=[("口罩", 2000, "只"), ("抗原试剂", 300, "盒")],
                              received_at=now - dt.timedelta(days=3))
    s.donation_record(actor=staff, unit=committee, donor_name="陈女士", donor_kind="person", donor_phone="13912345678",
                      kind="money", amount="2000.00", note="用于购买消毒用品", received_at=now - dt.timedelta(days=2))
    masks, kits = goods.lines.all()
    s.donation_allocate(actor=staff, donation=goods, line=masks, quantity=1500, to_stock=True)
    s.donation_allocate(actor=staff, donation=goods, line=kits, quantity=300, to_stock=True)
    for name, unit, quantity in (("体温计", "支", 50), ("消毒液", "瓶", 80)):
        item = s.stock_item_add(actor=staff, committee=committee, name=name, unit=unit)
        s.stock_receive(actor=staff, committee=committee, item=item, quantity=quantity, note="街道调拨")
    masks_item = StockItem.objects.get(committee=committee, name="口罩")
    for item, per_kit in ((masks_item, 10), (StockItem.objects.get(committee=committee, name="体温计"), 1)):
        s.stock_kit_set(actor=staff, item=item, kit_quantity=per_kit)  # drawn by the isolation door visit
    s.stock_issue(actor=staff, committee=committee, item=masks_item, quantity=10, reason=MoveReason.HOUSEHOLD,
                  note="5号楼独居老人")
    today = timezone.localdate(now)
    s.loan_record(actor=staff, committee=committee, lender_name="王建华", item="体温枪", quantity=25,
                  lent_to="国和一村采样点", due_on=today - dt.timedelta(days=1), now=now - dt.timedelta(days=5))
    s.loan_record(actor=staff, committee=committee, lender_name="国和药房", item="体温枪", quantity=16,
                  lent_to="志愿者服务队", due_on=today + dt.timedelta(days=3))
    return [f"Supplies: 2 donations, 4 stock items, 2 loans (1 overdue) in {committee.name}."]


HOME = HomePart("supply_stock", order=65, work=waiting_work, template="supply/stock/_home_work.html")
DEMO = DemoPart("supply_stock", order=65, seed=seed_demo)
