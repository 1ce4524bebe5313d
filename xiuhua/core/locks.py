"""Locks by name, for limits that must hold under concurrency but have no row of their own to lock
(design rule 4): the requests for one phone or one client address wait for each other.

    with transaction.atomic():
        lock_keys(f"p:{phone_hash}", f"i:{ip_hash}")
        ... count, decide, write ...
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .models import LockRow


def lock_keys(*keys: str) -> None:
    """Lock the rows named `keys`, made when missing, in a fixed order (so two requests never
    deadlock), until the surrounding transaction ends."""
    for key in sorted(set(keys)):
        LockRow.objects.get_or_create(key=key)
    list(LockRow.objects.select_for_update().filter(key__in=keys).order_by("key"))
    LockRow.objects.filter(key__in=keys).update(touched_at=timezone.now())


def lock_rows_prune(*, older_than: dt.timedelta = dt.timedelta(days=1), now: dt.datetime | None = None) -> int:
    """Forget lock rows nobody has used for a while (they are made again on demand)."""
    deleted, _rows = LockRow.objects.filter(touched_at__lt=(now or timezone.now()) - older_than).delete()
    return deleted
