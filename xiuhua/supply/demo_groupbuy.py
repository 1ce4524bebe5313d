"""Demo group buying for `seed_demo`: in the demo committee (the `committee` account's), a living
resident with a mobile in its first compound is an approved leader with valid documents; the street
keeps reference prices (eggs, rice); the leader has filings in several states (one waiting with a
flagged price, one approved, one sent back for changes) and a resident's complaint on the approved
one; a supplier is banned. Written through the services as the pages would. Idempotent: nothing
is written when the committee already has a leader."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from . import services
from .models import DocKind, Leader


def _acting(username: str) -> User | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    user.active_membership = user.memberships.select_related("org_unit").first()  # type: ignore[attr-defined]
    return user


def ensure_demo_groupbuy() -> list[str]:
    staff, street_officer = _acting("committee"), _acting("street")
    if staff is None or street_officer is None:
        return []
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    if Leader.objects.filter(committee=committee).exists():
        return []
    compound = OrgUnit.objects.filter(kind=Kind.COMPOUND, parent=committee).order_by("sort_key", "pk").first()
    if compound is None:
        return []
    resident = (Resident.objects.filter(household__building__parent=compound, living_status__in=services.LIVING)
                .exclude(mobile="").order_by("pk").first())
    if resident is None:
        return []
    now = timezone.now()
    street = services.street_of(committee)
    today = timezone.localdate()
    for name, unit, price in (("鸡蛋", "枚", "1.00"), ("大米", "kg", "6.50"), ("猪肉", "kg", "32.00")):
        services.reference_price_set(actor=street_officer, street=street, name=name, unit=unit, price=price,
                                     effective_from=today - dt.timedelta(days=7))
    leader = services.leader_apply(actor=None, resident=resident, phone=resident.mobile, note="")
    services.leader_decide(actor=staff, leader=leader, action="approve")
    phone = resident.mobile
    services.document_add(actor=None, phone=phone, leader=leader, kind=DocKind.DRIVER_TEST, number="HS20220420001",
                          holder="王师傅", taken_at=now - dt.timedelta(hours=8), now=now)
    for kind, number, holder in ((DocKind.FOOD_PERMIT, "JY13101100012345", "上海鲜达食品有限公司"),
                                 (DocKind.EPIDEMIC_PERMIT, "BG-2022-0418", "上海鲜达食品有限公司"),
                                 (DocKind.VEHICLE_PASS, "TX-0088", "沪A12345")):
        services.document_add(actor=None, phone=phone, leader=leader, kind=kind, number=number, holder=holder,
                              valid_until=today + dt.timedelta(days=60), now=now)
    base = {"supplier": "上海鲜达食品有限公司", "supplier_licence": "JY13101100012345", "driver_name": "王师傅",
            "driver_phone": "13900001234", "vehicle_plate": "沪A12345",
            "window_start": now + dt.timedelta(hours=3), "window_end": now + dt.timedelta(hours=5)}
    approved = services.filing_submit(actor=None, phone=phone, leader=leader, now=now - dt.timedelta(hours=3), data={
        **base, "items": [{"name": "大米", "unit": "kg", "pack_quantity": "10", "price": "65"},
                          {"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": "68",
                           "contents": "土豆 1kg\n青菜 500g\n洋葱 1kg\n胡萝卜 500g"}]})
    services.filing_decide(actor=staff, filing=approved, action="approve")
    back = services.filing_submit(actor=None, phone=phone, leader=leader, data={
        **base, "items": [{"name": "猪肉", "unit": "kg", "pack_quantity": "1", "price": "45"}]})
    services.filing_decide(actor=staff, filing=back, action="request_changes", reason="猪肉价格高出参考价,请说明或调整")
    services.filing_submit(actor=None, phone=phone, leader=leader, data={
        **base, "items": [{"name": "鸡蛋", "unit": "枚", "pack_quantity": "30", "price": "39"},
                          {"name": "大米", "unit": "kg", "pack_quantity": "5", "price": "32.5"}]})
    services.complaint_file(actor=staff, filing=approved, kind="weight", text="电话反映:大米一袋少了约半斤")
    services.ban_add(actor=staff, kind="supplier", supplier="速达生鲜配送", licence="JY13101100099999",
                     reason="2022年4月多次缺斤少两、未按时送达")
    return [f"Group buying: leader in {compound.name} with documents, 3 filings, 1 complaint, 1 banned supplier."]
