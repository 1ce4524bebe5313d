"""One family of access checks for views, APIs and services alike (design rule 3).

Every write starts with one of these, never with a check of its own:

- `require(actor, cap)`: the acting membership when it holds the capability; PermissionDenied
  otherwise (a service's first line).
- `has_cap(actor, cap)`: the same as a yes or no, for pages deciding what to show.
- `access_unit(actor, unit, cap)`: the membership, when it holds `cap` and covers the unit
  (a committee, a street); PermissionDenied otherwise.
- `access_by_id(queryset, actor, pk=…, cap=…, lock=…)`: the row as the actor may see it, through
  the model's `visible_to`; one Http404 for missing, out of scope and not allowed, so ids cannot be
  probed (Zulip's `access_*_by_id`).

State changes then go through `core.workflow.move`, which uses the same scope.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .scoping import active_membership, covers, require

__all__ = ["access_by_id", "access_unit", "has_cap", "require", "covers", "active_membership"]


def has_cap(actor, cap: str) -> bool:
    membership = active_membership(actor)
    return membership is not None and membership.has(cap)


def access_unit(actor, unit, cap: str):
    """The membership, when it holds `cap` and its unit is `unit` or above it."""
    membership = require(actor, cap)
    if unit is None or not covers(membership, unit):
        raise PermissionDenied
    return membership


def access_by_id(queryset: Any, actor, *, cap: str | None = None, lock: bool = False, **lookup):
    """The row of `queryset` (a manager or queryset with visible_to) matching `lookup` (pk=…),
    as `actor` sees it; locked for the transaction when `lock`. Http404 when it is missing,
    outside the actor's scope, or the actor lacks `cap`: one answer, so ids cannot be probed."""
    if cap is not None and not has_cap(actor, cap):
        raise Http404
    rows = queryset.all().visible_to(actor)
    if lock:
        rows = rows.select_for_update(of=("self",))
    try:
        return rows.get(**lookup)
    except (rows.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
