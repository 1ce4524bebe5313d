"""Reads for the results pages: a round's tubes by state, the overdue ones, turnaround, reviews."""

from __future__ import annotations

import datetime as dt
import statistics

from django.db.models import Count
from django.utils import timezone

from .models import AWAITING_RESULT, ScreeningRound, Tube, TubeStatus
from .models_results import Review, ReviewStatus


def tube_counts(screening_round: ScreeningRound) -> dict[str, int]:
    counts = dict(Tube.objects.filter(round=screening_round).values_list("status").annotate(n=Count("pk")))
    results = dict(Tube.objects.filter(round=screening_round, status=TubeStatus.RESULTED)
                   .values_list("result").annotate(n=Count("pk")))
    return {**{s.value: counts.get(s.value, 0) for s in TubeStatus}, **{f"result_{k}": v for k, v in results.items()}}


def overdue_tubes(screening_round: ScreeningRound, now: dt.datetime | None = None):
    """Tubes past the round's alert hours without a result, oldest first."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=screening_round.result_alert_hours)
    return (Tube.objects.filter(round=screening_round, status__in=AWAITING_RESULT, opened_at__lt=cutoff)
            .select_related("site", "box").order_by("opened_at"))


def turnaround_hours(screening_round: ScreeningRound) -> float | None:
    """Median hours from the first sample in a tube to its result (the last 2,000 resulted)."""
    pairs = (Tube.objects.filter(round=screening_round, status=TubeStatus.RESULTED, retest=False)
             .order_by("-resulted_at").values_list("opened_at", "resulted_at")[:2000])
    hours = [(resulted - opened).total_seconds() / 3600 for opened, resulted in pairs if resulted]
    return round(statistics.median(hours), 1) if hours else None


def open_reviews(user):
    """The reviews the member's scope holds that still need a single tube or its result."""
    return (Review.objects.visible_to(user).filter(status__in=[ReviewStatus.PENDING, ReviewStatus.SAMPLED])
            .select_related("code", "code__building", "round", "pool_tube", "retest_tube")
            .order_by("status", "created_at", "code__building__sort_key", "code__room"))


def box_turnaround(screening_round: ScreeningRound, limit: int = 100) -> list[dict]:
    """Per box, newest first: its site, tubes, first sample, hand-over, receipt, last result."""
    from django.db.models import Max, Min

    from .models import Box

    boxes = (Box.objects.filter(round=screening_round).select_related("site")
             .annotate(tubes_count=Count("tubes"), first_sample=Min("tubes__opened_at"),
                       last_result=Max("tubes__resulted_at"))
             .order_by("-created_at")[:limit])
    rows = []
    for box in boxes:
        resulted = Tube.objects.filter(box=box, status=TubeStatus.RESULTED).count()
        done = box.last_result if box.tubes_count and resulted == box.tubes_count else None
        hours = round((done - box.first_sample).total_seconds() / 3600, 1) if done and box.first_sample else None
        rows.append({"box": box, "tubes": box.tubes_count, "first_sample": box.first_sample,
                     "resulted": resulted, "all_resulted_at": done, "hours": hours})
    return rows
