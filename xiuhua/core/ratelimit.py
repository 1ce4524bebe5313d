"""Fixed-window rate limits counted in the database, so they hold across workers and machines.

`rate_hit` adds to a key's counter for the current window and says whether the limit still
holds, in one upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, on PostgreSQL and on
SQLite), so two requests at the same moment cannot both take the last unit. Keys name a purpose
and a hashed subject ("lookup:actor:<hash>"); the counted values themselves are never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import RateCounter


@dataclass(frozen=True)
class RateResult:
    allowed: bool
    count: int  # the counter after this hit
    retry_after: int  # seconds until the window ends (what a 429 sends as Retry-After)


def subject_hash(purpose: str, value: str) -> str:
    """A keyed hash of a client address or an actor id: keys stay short and carry nothing personal."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def clock() -> dt.datetime:
    """The time limits are counted at: the one place tests pin, so no test straddles a window."""
    return timezone.now()


def window_start(now: dt.datetime, seconds: int) -> dt.datetime:
    """The start of the fixed window of `seconds` that holds `now`."""
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, tz=dt.UTC)


def rate_peek(key: str, *, window: int, now: dt.datetime | None = None) -> int:
    """The counter of the current window, without adding to it."""
    start = window_start(now or clock(), window)
    return RateCounter.objects.filter(key=key, window_start=start).values_list("count", flat=True).first() or 0


def rate_hit(key: str, *, limit: int, window: int, cost: int = 1, now: dt.datetime | None = None) -> RateResult:
    """Count `cost` uses of `key` in the current `window` (seconds); allowed while the total is
    at most `limit`. A refused hit is counted too, so hammering does not reopen the window."""
    now = now or clock()
    start = window_start(now, window)
    table = RateCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, %s) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + excluded.count "
            "RETURNING count",
            [key, connection.ops.adapt_datetimefield_value(start), cost],
        )
        count = cursor.fetchone()[0]
    retry_after = max(1, int((start + dt.timedelta(seconds=window) - now).total_seconds() + 0.999))
    return RateResult(allowed=count <= limit, count=count, retry_after=retry_after)


def rate_prune(*, older_than: dt.timedelta = dt.timedelta(days=2), now: dt.datetime | None = None) -> int:
    """Forget finished windows (the daily sweep calls it)."""
    cutoff = (now or clock()) - older_than
    deleted, _ = RateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted
