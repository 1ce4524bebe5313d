"""Demo designated pharmacies for `seed_demo`: two pharmacies of 长海路街道, each serving four of
its committees, with the demo clerk `pharmacy` (赵丽) attached to both, and one open round of the
street, so that a resident can reserve from a committee's QR page straight away. Set up through
the services as the street officer `street` would through the pages. Idempotent: nothing is
added when the street already has a pharmacy."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.places.demo_data import STREET_CODE
from xiuhua.places.models import Kind, OrgUnit

from . import services
from .models import MaskRound, Pharmacy

# name, address, opening hours, committee code suffixes served
PHARMACIES = [
    ("国和药房", "国和路346号", "每天 8:30-20:30", ["001", "002", "003", "004"]),
    ("长海药房", "长海路228号", "每天 9:00-21:00", ["005", "006", "007", "008"]),
]
CLERK = "pharmacy"
ROUND_NAME = "长海路街道口罩预约第1轮"


def _acting(username: str) -> User:
    user = User.objects.get(username=username)
    user.active_membership = user.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    return user


def ensure_demo_pharmacies() -> list[str]:
    street = OrgUnit.objects.filter(code=STREET_CODE).first()
    if street is None or Pharmacy.objects.filter(street=street).exists():
        return []
    officer = _acting("street")
    clerk = Membership.objects.get(user__username=CLERK, role=Role.PHARMACY_CLERK)
    lines = []
    with transaction.atomic():
        for name, address, hours, suffixes in PHARMACIES:
            pharmacy = services.pharmacy_create(actor=officer, street=street, name=name, address=address,
                                                opening_hours=hours)
            committees = list(OrgUnit.objects.filter(
                kind=Kind.COMMITTEE, parent=street, code__in=[STREET_CODE[:9] + s for s in suffixes]))
            services.pharmacy_set_committees(actor=officer, pharmacy=pharmacy, committees=committees)
            services.pharmacy_add_clerk(actor=officer, pharmacy=pharmacy, membership=clerk)
            lines.append(f"Pharmacy {name}: {len(committees)} committees, clerk '{CLERK}'.")
        if not MaskRound.objects.filter(scope=street).exists():
            now = timezone.now().replace(second=0, microsecond=0)
            mask_round = services.round_create(actor=officer, scope=street, name=ROUND_NAME,
                                               opens_at=now - dt.timedelta(hours=1),
                                               closes_at=now + dt.timedelta(days=7))
            services.round_open(actor=officer, round=mask_round)
            lines.append(f"Mask round '{ROUND_NAME}' open for a week.")
    return lines
