"""Rental screening (出租房排摸): each rented unit visited or called, unit by unit; the street
follows the progress per committee.

A unit counts as screened in a campaign when it has a screening since the campaign's start date;
its state is its newest screening. Group rentals (群租) are flagged by the staff who saw them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household

from .models import RentalScreening, Whereabouts
from .reports import committees_of


@transaction.atomic
def rental_screen(
    *,
    actor,
    household: Household,
    tenants: int,
    reached: bool,
    whereabouts: str,
    away_place: str = "",
    return_date: dt.date | None = None,
    group_rental: bool = False,
    note: str = "",
    now: dt.datetime | None = None,
) -> RentalScreening:
    """Record one screening of a rented unit of the actor's committee (or grid)."""
    require(actor, Cap.MANAGE_ISOLATION)
    if not Household.objects.visible_to(actor).filter(pk=household.pk).exists():
        raise PermissionDenied
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not household.is_rental:
        errors["household"] = _("该户在花名册中不是出租房,请先在住户信息中标为出租房")
    if not 0 <= int(tenants) <= 50:
        errors["tenants"] = _("租住人数应在0到50之间")
    if whereabouts not in Whereabouts.values:
        errors["whereabouts"] = _("请选择目前去向")
    if whereabouts == Whereabouts.AWAY and not (away_place or "").strip():
        errors["away_place"] = _("在外地时请写明所在地")
    if return_date is not None and return_date < timezone.localdate(now):
        errors["return_date"] = _("预计返沪日期不能早于今天")
    if whereabouts != Whereabouts.AWAY and return_date is not None:
        errors["return_date"] = _("只有在外地的租户才有返沪日期")
    if whereabouts in (Whereabouts.HERE, Whereabouts.AWAY) and not reached:
        errors["reached"] = _("未联系上时,去向请选“无法确认”")
    if errors:
        raise ValidationError(errors)
    screening = RentalScreening.objects.create(
        household=household, tenants=int(tenants), reached=reached, whereabouts=whereabouts,
        away_place=(away_place or "").strip()[:60], return_date=return_date, group_rental=group_rental,
        note=(note or "").strip()[:200], screened_at=now, screened_by=actor,
    )
    audit(actor=actor, action="rental_screen", obj=screening, committee_id=screening.committee_id,
          subject_label=str(household), detail={"reached": reached, "whereabouts": whereabouts})
    return screening


@dataclass
class RentalProgress:
    units: int = 0
    screened: int = 0
    reached: int = 0
    away: int = 0
    returning_in_7_days: int = 0
    group_rentals: int = 0
    tenants: int = 0

    @property
    def percent(self) -> int | None:
        return None if not self.units else round(100 * self.screened / self.units)


def rental_progress(*, user, since: dt.date, today: dt.date | None = None) -> list[tuple[OrgUnit, RentalProgress]]:
    """Per committee of the user's unit: rented units, screened since `since` (by their newest
    screening), reached, away, due back within a week, group rentals, tenants counted."""
    committees = committees_of(user)
    if not committees:
        return []
    today = today or timezone.localdate()
    ids = [c.pk for c in committees]
    start = dt.datetime.combine(since, dt.time.min, tzinfo=timezone.get_current_timezone())
    newest = RentalScreening.objects.filter(household=OuterRef("pk"), screened_at__gte=start).order_by("-screened_at")
    units = (
        Household.objects.filter(committee_id__in=ids, is_rental=True)
        .annotate(last_id=Subquery(newest.values("pk")[:1]))
    )
    out = {pk: RentalProgress() for pk in ids}
    for row in units.values("committee_id").annotate(units=Count("pk"), screened=Count("last_id")).order_by():
        progress = out[row["committee_id"]]
        progress.units, progress.screened = row["units"], row["screened"]
    latest = RentalScreening.objects.filter(pk__in=units.exclude(last_id=None).values("last_id"))
    week = today + dt.timedelta(days=7)
    for row in latest.values("committee_id").annotate(
        reached=Count("pk", filter=Q(reached=True)),
        away=Count("pk", filter=Q(whereabouts=Whereabouts.AWAY)),
        returning=Count("pk", filter=Q(whereabouts=Whereabouts.AWAY, return_date__lte=week)),
        group_rentals=Count("pk", filter=Q(group_rental=True)),
    ).order_by():
        progress = out[row["committee_id"]]
        progress.reached, progress.away = row["reached"], row["away"]
        progress.returning_in_7_days, progress.group_rentals = row["returning"], row["group_rentals"]
    for committee_id, tenants in latest.values_list("committee_id").annotate(n=Sum("tenants")).order_by():
        out[committee_id].tenants = tenants or 0
    return [(c, out[c.pk]) for c in committees]
