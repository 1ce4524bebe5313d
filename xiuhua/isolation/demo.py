"""Demo home-isolation cases for `seed_demo`: three people who arrived in the demo committee in
the last days, registered on their day of arrival, their steps partly done after that, contacts
recorded up to yesterday, one fever alert and today's contacts overdue, so the overdue list has
something in it. Idempotent: nothing is written when the street already has arrivals."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.core.idnumbers import make_resident_id
from xiuhua.residents.models import Household

from . import services
from .models import Arrival, Contact, ContactOutcome, KeyRegion, Step

PEOPLE = [  # name, origin, transport, number, days since arrival
    ("钱志远", "湖北省武汉市", "train", "G1722", 3),
    ("孙佳怡", "浙江省温州市", "car", "浙C·8K520", 2),
    ("马国庆", "广东省深圳市", "flight", "MU5332", 1),
]


KEY_REGIONS = [("湖北省", "", "2020-01-23"), ("浙江省", "温州市", "2020-02-01"), ("广东省", "深圳市", "2020-02-01")]


def ensure_key_regions() -> None:
    for province, city, since in KEY_REGIONS:
        KeyRegion.objects.get_or_create(province=province, city=city, defaults={"since": dt.date.fromisoformat(since)})


def ensure_demo_cases() -> int:
    ensure_key_regions()
    try:
        staff = User.objects.get(username="committee")
    except User.DoesNotExist:
        return 0
    staff.active_membership = staff.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    if Arrival.objects.filter(committee__parent=committee.parent).exists():
        return 0
    households = list(Household.objects.filter(committee=committee).order_by("pk")[100:400:100])
    now = timezone.now()
    made = 0
    for i, ((name, origin, transport, number, days), household) in enumerate(zip(PEOPLE, households, strict=False)):
        arrived = timezone.localdate(now) - dt.timedelta(days=days)
        # Registered and opened at 10:00 on the day of arrival (before today, so the daily report's
        # new cases of today are only the ones staff open today), the steps an hour later, each
        # contact 20 minutes after it was due: every time after the registration.
        opened = timezone.make_aware(dt.datetime.combine(arrived, dt.time(10, 0)))
        arrival = services.arrival_register(
            actor=staff, household=household, name=name, id_type="resident_id",
            id_number=make_resident_id("420102", dt.date(1970 + 9 * i, 5, 4), 310 + i), phone=f"1391000{i:04d}",
            origin_text=origin, transport=transport, transport_number=number, arrival_date=arrived, now=opened,
            origin=KeyRegion.objects.filter(province=origin[:3]).order_by("city").last(),
        )
        case = services.case_open(actor=staff, arrival=arrival, now=opened)
        for step in (Step.VERIFY, Step.DISINFECT):
            services.step_complete(actor=staff, case=case, step=step, now=opened + dt.timedelta(hours=1))
        for contact in Contact.objects.filter(case=case, due_at__lt=now - dt.timedelta(hours=12)):
            fever = i == 0 and contact == Contact.objects.filter(case=case).order_by("-due_at").filter(
                due_at__lt=now - dt.timedelta(hours=12)).first()
            services.contact_record(
                actor=staff, contact=contact, outcome=ContactOutcome.UNWELL if fever else ContactOutcome.WELL,
                temperature="37.8" if fever else "36.5", symptoms="乏力" if fever else "",
                now=contact.due_at + dt.timedelta(minutes=20),
            )
        made += 1
    return made
