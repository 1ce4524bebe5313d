"""The demo screening round for `seed_demo`: the street officer `street` opens a round of
长海路街道 over the first committee's compounds with a site of three lines, plans it and opens it;
the committee's staff `committee` makes its residents' sampling codes. Set up through the
services as those accounts would through the pages. Idempotent: nothing is added when the street
already has a round. The lab account `lab` (检测中心) records results of the street's rounds."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.accounts.roles import Role
from xiuhua.places.demo_data import STREET_CODE, AccountSpec
from xiuhua.places.models import Kind, OrgUnit

from .models import ScreeningRound
from .services_codes import codes_generate
from .services_rounds import (
    screening_line_add,
    screening_plan_make,
    screening_round_create,
    screening_round_move,
    screening_site_add,
)

ROUND_NAME = "长海路街道第1轮核酸筛查"


def _acting(username: str) -> User:
    user = User.objects.get(username=username)
    user.active_membership = user.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    return user


def lab_account_specs() -> list[AccountSpec]:
    street = OrgUnit.objects.filter(code=STREET_CODE).first()
    return [AccountSpec("lab", "检测中心", Role.LAB, street)] if street is not None else []


def ensure_demo_round() -> list[str]:
    street = OrgUnit.objects.filter(code=STREET_CODE).first()
    if street is None or ScreeningRound.objects.filter(scope=street).exists():
        return []
    officer, staff = _acting("street"), _acting("committee")
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    compounds = list(OrgUnit.objects.filter(kind=Kind.COMPOUND, parent=committee).order_by("sort_key", "pk"))
    today = timezone.localdate()
    with transaction.atomic():
        screening_round = screening_round_create(
            actor=officer, scope=street, name=ROUND_NAME, first_day=today, last_day=today + dt.timedelta(days=1),
            compounds=compounds)
        site = screening_site_add(actor=officer, screening_round=screening_round, committee=committee,
                                  name=f"{committee.name}广场", address=committee.name, line_count=2)
        screening_line_add(actor=officer, site=site)
        screening_plan_make(actor=officer, screening_round=screening_round)
        screening_round_move(actor=officer, screening_round=screening_round, action="open")
        made = codes_generate(actor=staff, round=screening_round, committee=committee)
    return [f"Screening: round {ROUND_NAME} open with one site of three lines, {made} sampling codes in "
            f"{committee.name}."]
