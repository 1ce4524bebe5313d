"""What the zone module reads of screening: whether a zone's people tested all negative in some
days (the day-13 or day-6 test its rule asks for), and when a place was last sampled. Counts by
building and day only; no person leaves this module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import TestResult, TubeMember
from .models_results import Review, ReviewStatus


@dataclass(frozen=True)
class ZoneScreening:
    sampled: int
    negative: int
    pending: int  # a tube without a result, or a person still under review
    positive: int
    known_on: dt.date | None = None  # the day the last of these results came in


    @property
    def all_negative(self) -> bool:
        return self.sampled > 0 and self.negative == self.sampled and not self.pending and not self.positive


def _window(first: dt.date, last: dt.date) -> Q:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return Q(scanned_at__gte=start, scanned_at__lt=end)


def zone_screening(building_ids: Iterable[int], first: dt.date, last: dt.date) -> ZoneScreening:
    """The pooled samples of these buildings' people taken from `first` to `last` (local days):
    how many, how many in negative tubes, how many wait for a result or a review, how many
    positive (a positive or invalid pool counts until its single retests clear it)."""
    ids = list(building_ids)
    members = TubeMember.objects.filter(_window(first, last), code__building_id__in=ids, retest=False)
    counts = members.aggregate(
        sampled=Count("pk"),
        negative=Count("pk", filter=Q(tube__result=TestResult.NEGATIVE)),
        waiting=Count("pk", filter=Q(tube__result="")),
        last_result=Max("tube__resulted_at"),
    )
    reviews = Review.objects.filter(code__building_id__in=ids, pool_tube__members__in=members).distinct()
    open_reviews = reviews.filter(status__in=(ReviewStatus.PENDING, ReviewStatus.SAMPLED)).count()
    positive = reviews.filter(status=ReviewStatus.POSITIVE).count()
    cleared = reviews.filter(status=ReviewStatus.CLEARED).aggregate(n=Count("pk"), last=Max("closed_at"))
    moments = [m for m in (counts["last_result"], cleared["last"]) if m is not None]
    return ZoneScreening(sampled=counts["sampled"], negative=counts["negative"] + cleared["n"],
                         pending=counts["waiting"] + open_reviews, positive=positive,
                         known_on=timezone.localtime(max(moments)).date() if moments else None)


def last_sampled_days(building_ids_by_key: dict[int, list[int]]) -> dict[int, dt.date]:
    """The last day each group of buildings (keyed, e.g. by compound) had anyone sampled."""
    owner = {b: key for key, ids in building_ids_by_key.items() for b in ids}
    if not owner:
        return {}
    rows = (TubeMember.objects.filter(code__building_id__in=list(owner))
            .values("code__building_id").annotate(last=Max(TruncDate("scanned_at"))))
    found: dict[int, dt.date] = {}
    for row in rows:
        key = owner[row["code__building_id"]]
        if key not in found or row["last"] > found[key]:
            found[key] = row["last"]
    return found
