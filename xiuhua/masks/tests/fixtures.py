"""A mask round on top of build_world: pharmacy A (street A) serves committees A1 and A2,
pharmacy B (street B) serves B1; each has its own clerk."""

import datetime as dt
import itertools
from types import SimpleNamespace

from django.utils import timezone

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.crypto import decrypt_text
from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.masks import services
from xiuhua.masks.models import Channel, Reservation
from xiuhua.residents.models import Household
from xiuhua.testing import acting, make_resident, make_user

_rooms = itertools.count(1001)
_ids = itertools.count(1)


def build_masks(w, **round_rules) -> SimpleNamespace:
    m = SimpleNamespace()
    officer = acting(w.district_officer)
    now = timezone.now()
    rules = {"opens_at": now - dt.timedelta(hours=1), "closes_at": now + dt.timedelta(days=7)} | round_rules
    m.round = services.round_create(actor=officer, scope=w.district, name="第1轮", **rules)
    m.pharmacy_a = services.pharmacy_create(actor=officer, street=w.street_a, name="国和药房", address="国和路1号")
    m.pharmacy_b = services.pharmacy_create(actor=officer, street=w.street_b, name="政立药房", address="政立路2号")
    services.pharmacy_assign_committee(actor=officer, pharmacy=m.pharmacy_a, committee=w.committee_a1)
    services.pharmacy_assign_committee(actor=officer, pharmacy=m.pharmacy_a, committee=w.committee_a2)
    services.pharmacy_assign_committee(actor=officer, pharmacy=m.pharmacy_b, committee=w.committee_b1)
    m.clerk_a = w.pharmacy_clerk
    m.clerk_b = make_user("pharmacy_b", Role.PHARMACY_CLERK, w.street_b)
    services.pharmacy_add_clerk(
        actor=officer, pharmacy=m.pharmacy_a, membership=Membership.objects.get(user=m.clerk_a)
    )
    services.pharmacy_add_clerk(
        actor=officer, pharmacy=m.pharmacy_b, membership=Membership.objects.get(user=m.clerk_b)
    )
    services.round_open(actor=officer, round=m.round)
    m.round.refresh_from_db()
    return m


def new_household(w, building=None, *, tags=(), name="居民"):
    """A household of one resident in the roster; returns the resident (with .plain_id)."""
    household = Household.objects.create(building=building or w.building_a1, room=str(next(_rooms)))
    return make_resident(household, name, tags=tags)


def unknown_id() -> str:
    """A valid identity number that is in no roster."""
    return make_resident_id("310115", dt.date(1990, 1, 1), 500 + next(_ids) % 400)


def reserve(m, resident, *, channel=Channel.ONLINE, actor=None, **extra):
    """The resident's reservation, naming their own committee as a resident would."""
    extra.setdefault("committee", resident.household.committee)
    return services.reservation_submit(
        actor=actor,
        round=m.round,
        channel=channel,
        name=resident.name,
        id_type=IdType.RESIDENT_ID,
        id_number=resident.plain_id,
        phone=extra.pop("phone", "13900001234"),
        **extra,
    )


def holder_id(reservation) -> str:
    """The full identity number of a roster reservation's holder: the card shown at the pharmacy."""
    resident = Reservation.objects.select_related("resident").get(pk=reservation.pk).resident
    assert resident is not None
    return decrypt_text(resident.id_encrypted)
