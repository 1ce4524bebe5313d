"""Scoping, written once (design rule 3).

A user acts through one active membership. A place-owned model's queryset subclasses
ScopedQuerySet and names the lookups that lead to its committee, building and grids; then
`Model.objects.visible_to(user)` gives exactly what that membership covers, and nothing for a
user without one.
"""


from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from xiuhua.places.models import KIND_RANK, Kind, OrgUnit


def active_membership(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    membership = getattr(user, "active_membership", None)
    if membership is None or not membership.active:
        return None
    is_current = getattr(membership, "is_current", None)  # a temporary membership past its end
    if is_current is not None and not is_current():
        return None
    return membership


def require(actor, cap: str):
    """The actor's active membership, when it holds `cap`; PermissionDenied otherwise. Services
    call it first, so the API and commands cannot bypass the pages' checks."""
    membership = active_membership(actor)
    if membership is None or not membership.has(cap):
        raise PermissionDenied
    return membership


def covers(membership, unit: OrgUnit) -> bool:
    """Whether the membership's unit is `unit` or above it."""
    return unit.path.startswith(membership.org_unit.path)


def unit_scope_q(membership, *, committee: str, building: str | None, grid: str | None, micro_grid: str | None) -> Q:
    """The Q that limits rows to the membership's unit (and grid)."""
    unit: OrgUnit = membership.org_unit
    rank = KIND_RANK[Kind(unit.kind)]
    if unit.kind == Kind.COMMITTEE:
        q = Q(**{f"{committee}_id": unit.pk})
    elif rank < KIND_RANK[Kind.COMMITTEE]:
        committees = OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path)
        q = Q(**{f"{committee}_id__in": committees.values("pk")})
    else:
        if building is None:
            return Q(pk__in=[])
        buildings = OrgUnit.objects.filter(kind=Kind.BUILDING, path__startswith=unit.path)
        q = Q(**{f"{building}_id__in": buildings.values("pk")})
    if membership.grid_id:
        if grid is None:
            return Q(pk__in=[])
        q &= Q(**{f"{grid}_id": membership.grid_id}) | Q(**{f"{micro_grid}_id": membership.grid_id})
    return q


class ScopedQuerySet(models.QuerySet):
    scope_committee: str = "committee"
    scope_building: str | None = None
    scope_grid: str | None = None
    scope_micro_grid: str | None = None
    # For rows that reach their place through a household ("household", "reservation__household"):
    # the building and grid lookups follow from it.
    scope_household: str | None = None
    # The capability a membership needs to see these rows at all (a tuple: any one of them).
    scope_cap: str | tuple[str, ...] = "view_residents"

    # The membership this queryset was narrowed to by visible_to, carried through every clone, so
    # that core.lookups can refuse to match a personal key against rows nobody scoped.
    scoped_for: int | None = None

    def _clone(self):
        clone = super()._clone()
        clone.scoped_for = self.scoped_for
        return clone

    def visible_to(self, user) -> "ScopedQuerySet":
        membership = active_membership(user)
        caps = (self.scope_cap,) if isinstance(self.scope_cap, str) else self.scope_cap
        if membership is None or not any(membership.has(cap) for cap in caps):
            nothing = self.none()
            nothing.scoped_for = 0  # scoped, to no rows
            return nothing
        household = self.scope_household
        scoped = self.filter(
            unit_scope_q(
                membership,
                committee=self.scope_committee,
                building=f"{household}__building" if household else self.scope_building,
                grid=f"{household}__grid" if household else self.scope_grid,
                micro_grid=f"{household}__micro_grid" if household else self.scope_micro_grid,
            )
        )
        scoped.scoped_for = membership.pk
        return scoped
