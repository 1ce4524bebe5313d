"""A demo tracing list for `seed_demo`: what a street officer sees the morning a list arrives.

30 people drawn from the demo roster (by identity number, mobile and written address) and 5
from elsewhere, imported through the service by the demo street officer as today's 08:00 list;
the demo committee has reported a few of its people already. Idempotent: nothing is written when
the street already has a list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.core.crypto import decrypt_text
from xiuhua.core.idnumbers import make_resident_id
from xiuhua.places.addresses import building_key
from xiuhua.residents.models import Household, LivingStatus, Resident

from . import services
from .models import EntryStatus, ListEntry, TracingBatch


def _acting(username: str) -> User:
    user = User.objects.get(username=username)
    user.active_membership = user.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    return user


def ensure_demo_batch(*, seed: int = 20200210) -> TracingBatch | None:
    try:
        officer = _acting("street")
        staff = _acting("committee")
    except (User.DoesNotExist, User.MultipleObjectsReturned):
        return None
    street = officer.active_membership.org_unit  # type: ignore[attr-defined]
    if TracingBatch.objects.filter(street=street).exists():
        return None
    rng = random.Random(seed)
    residents = list(
        Resident.objects.filter(committee__parent=street, living_status=LivingStatus.HERE)
        .exclude(mobile="")
        .order_by("pk")[:4000]
    )
    people = rng.sample(residents, 25)
    homes = rng.sample(list(Household.objects.filter(committee__parent=street).select_related(
        "compound", "building").order_by("pk")[:4000]), 5)
    rows = []
    for r in people[:15]:
        rows.append([r.name, decrypt_text(r.id_encrypted), r.mobile, "", "2020-02-09"])
    for r in people[15:25]:
        rows.append([r.name, "", r.mobile, "", "2020-02-09"])
    for h in homes:
        rows.append(["来沪人员", "", "", f"杨浦区{h.compound.name}{building_key(h.building.name)}号楼{h.room}室", ""])
    for i in range(5):
        number = make_resident_id("420106", dt.date(1975 + 5 * i, 3, 12), 200 + i)
        rows.append([f"外来人员{i + 1}", number, f"1590{i:07d}", "湖北省武汉市武昌区", "2020-02-08"])
    rows.append(["", "", "13900000000", "", ""])  # a row the list sent without a name
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "身份证号", "手机号码", "现住址", "抵沪日期"])
    writer.writerows(rows)
    now = timezone.localtime()
    received_at = min(now, now.replace(hour=8, minute=0, second=0, microsecond=0))
    batch = services.batch_import(
        actor=officer, street=street, source="telecom", reference="通信大数据 今日第1批",
        received_at=received_at, data=buffer.getvalue().encode(), filename="通信大数据清单.csv",
    )
    mine = ListEntry.objects.visible_to(staff).filter(batch=batch, status=EntryStatus.ASSIGNED).order_by("row")
    for entry in list(mine)[:2]:
        services.entry_report(actor=staff, entry=entry, status=EntryStatus.CONTROLLED)
    return batch
