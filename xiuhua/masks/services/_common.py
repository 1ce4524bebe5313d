"""Helpers shared by the mask services: capability checks and place scope."""

from django.core.exceptions import PermissionDenied

from xiuhua.core.scoping import active_membership
from xiuhua.places.models import OrgUnit


def require(actor, cap: str):
    """The actor's active membership, when it holds `cap`; PermissionDenied otherwise."""
    membership = active_membership(actor)
    if membership is None or not membership.has(cap):
        raise PermissionDenied
    return membership


def covers(membership, unit: OrgUnit) -> bool:
    """Whether the membership's unit is `unit` or above it."""
    return unit.path.startswith(membership.org_unit.path)
