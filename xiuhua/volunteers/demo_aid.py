"""Demo mutual aid for `seed_demo`: the street's committees form one pool (头雁合作), the first two
(the `committee` and `committee2` accounts') are A/B partners, and `committee2` has posted an
open request to its partner, so the `committee` account sees it to claim. Written through the
services as the pages would. Idempotent: nothing when the street has a pool already."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.places.models import Kind, OrgUnit

from . import services_aid as services
from .models_aid import AidPool


def _acting(username: str) -> User | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    user.active_membership = user.memberships.select_related("org_unit").first()  # type: ignore[attr-defined]
    return user


def ensure_demo_aid() -> list[str]:
    street_officer, first, second = _acting("street"), _acting("committee"), _acting("committee2")
    if street_officer is None or first is None or second is None:
        return []
    street = street_officer.active_membership.org_unit  # type: ignore[attr-defined]
    if street.kind != Kind.STREET or AidPool.objects.filter(street=street).exists():
        return []
    committees = list(OrgUnit.objects.filter(parent=street, kind=Kind.COMMITTEE).in_natural_order())
    a = first.active_membership.org_unit  # type: ignore[attr-defined]
    b = second.active_membership.org_unit  # type: ignore[attr-defined]
    services.pool_save(actor=street_officer, street=street, name="头雁合作", committee_ids=[c.pk for c in committees])
    services.pair_create(actor=street_officer, street=street, a_id=a.pk, b_id=b.pk)
    compound = OrgUnit.objects.filter(parent=b, kind=Kind.COMPOUND).in_natural_order().first()
    building = (OrgUnit.objects.filter(parent=compound, kind=Kind.BUILDING).in_natural_order().first()
                if compound else None)
    services.request_post(actor=second, data={
        "what": "上门核酸采样缺扫码员,请支援", "compound": compound.pk if compound else "",
        "building": building.pk if building else "", "place_note": "楼下采样点", "people_needed": 2,
        "needed_by": timezone.now() + dt.timedelta(hours=2), "contact_name": "张丽萍",
        "contact_phone": "13900005678", "ring": "partner"})
    return [f"Mutual aid: pool 头雁合作 of {len(committees)} committees, pair {a.name} ⇄ {b.name}, "
            f"1 open request from {b.name} to its partner."]
