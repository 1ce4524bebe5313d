"""What the micro-grid passport (xiuhua.passport) reads from screening: when members of some
households were sampled. Read-only; no personal data leaves (household ids and times only).

The caller passes households it has already narrowed with its own `visible_to` (the passport's
scope), so this reads samples of those households only, whatever the caller's screening rights:
the passport shows the fact and the day, never who was sampled or any result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import QuerySet

from .models import TubeMember


def household_samples(households: QuerySet, start: dt.datetime, end: dt.datetime) -> Iterator[tuple[int, dt.datetime]]:
    """(household id, sampling time) of every sample (retests included) taken from `start` up to
    `end` (aware datetimes, end excluded) of a person whose code names one of `households`."""
    rows = (TubeMember.objects.filter(code__household__in=households.values("pk"), scanned_at__gte=start,
                                      scanned_at__lt=end)
            .values_list("code__household_id", "scanned_at"))
    yield from rows.iterator(chunk_size=2000)
