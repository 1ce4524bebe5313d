"""Demo passports: vaccination on most residents of the demo committee, and this week's and last
week's volunteer and convenience stamps on the grid worker's first micro-grid, recorded through
the service as the demo grid worker (so the audit page shows them too)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.places.models import Grid
from xiuhua.residents.models import Household, Resident

from .models import Stamp, StampKind
from .services import stamp_record


def _acting(username: str) -> User | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    user.active_membership = user.memberships.select_related("org_unit", "grid").first()  # type: ignore[attr-defined]
    return user


def ensure_demo_stamps() -> list[str]:
    worker = _acting("grid")
    membership = getattr(worker, "active_membership", None)
    if worker is None or membership is None or membership.grid_id is None:
        return []
    committee_id = membership.org_unit_id
    if Stamp.objects.filter(committee_id=committee_id).exists():
        return []
    grid = membership.grid
    micro = Grid.objects.filter(parent=grid).order_by("name", "pk").first() or grid
    households = list(Household.objects.filter(micro_grid=micro).in_natural_order()
                      if micro.kind == Grid.GridKind.MICRO else Household.objects.filter(grid=grid).in_natural_order())
    today = timezone.localdate()
    with transaction.atomic():
        # Four residents in five of the committee have two doses recorded, the last in spring 2022.
        vaccinated = Resident.objects.filter(committee_id=committee_id).annotate(rest=F("pk") % 5).exclude(rest=0)
        count = Resident.objects.filter(pk__in=vaccinated.values("pk")).update(
            vaccine_doses=2, vaccinated_on=dt.date(2022, 4, 20))
        made = 0
        for index, household in enumerate(households):
            for kind, every, days_back in ((StampKind.VOLUNTEER, 2, 0), (StampKind.CONVENIENCE, 3, 0),
                                           (StampKind.VOLUNTEER, 3, 7)):
                if index % every == 0:
                    stamp_record(actor=worker, household=household, kind=kind,
                                 stamped_on=today - dt.timedelta(days=days_back), note="演示数据", today=today)
                    made += 1
    return [f"Passport: {count} residents vaccinated, {made} stamps in {micro.name}."]
