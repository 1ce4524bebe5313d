"""The demo zones for `seed_demo`: the district officer `district` publishes the 22 May 2022 rule
for 杨浦区 from today and keeps the 11 April rule as a draft (its preview shows what it would
change); the street officer `street` enters a positive of five days ago in a building of the
second committee's first compound, which seals that building (day 6) and puts the rest of its
compound under control. Through the services, as those accounts would through the pages.
Idempotent: nothing is added when the district has rules already."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.places.demo_data import STREET_CODE
from xiuhua.places.models import Kind, OrgUnit

from .models import ZoneRule
from .presets import APRIL_11, MAY_22
from .services import positive_record, zone_rule_draft, zone_rule_publish


def _acting(username: str) -> User:
    user = User.objects.get(username=username)
    user.active_membership = user.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    return user


def _values(preset: dict) -> dict:
    return {key: str(value) if key in ("name", "explanation") else value for key, value in preset.items()}


def ensure_demo_zones() -> list[str]:
    street = OrgUnit.objects.filter(code=STREET_CODE).select_related("parent").first()
    if street is None or ZoneRule.objects.filter(scope=street.parent).exists():
        return []
    district_officer, officer = _acting("district"), _acting("street")
    today = timezone.localdate()
    committees = list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, parent=street).order_by("sort_key", "pk")[:2])
    compound = OrgUnit.objects.filter(kind=Kind.COMPOUND, parent=committees[-1]).order_by("sort_key", "pk").first()
    building = OrgUnit.objects.filter(kind=Kind.BUILDING, parent=compound).order_by("sort_key", "pk").first()
    if compound is None or building is None:
        return []
    with transaction.atomic():
        rule = zone_rule_draft(actor=district_officer, scope=street.parent,
                               **{**_values(MAY_22), "effective_from": today})
        zone_rule_publish(actor=district_officer, rule=rule, today=today)
        zone_rule_draft(actor=district_officer, scope=street.parent,
                        **{**_values(APRIL_11), "effective_from": today + dt.timedelta(days=1)})
        positive_record(actor=officer, building=building, day=today - dt.timedelta(days=5), source="street",
                        note="区疾控通报", today=today)
    return [f"Zones: rule {rule.name} published; {compound.name} {building.name} sealed (day 6)."]
