"""Who may import rosters where."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership, require
from xiuhua.places.models import Kind, OrgUnit

from ..workflows import imports_into


def check_committee_access(actor, committee: OrgUnit) -> None:
    """actor may import into committee (actor None is the system: the import_roster command)."""
    if actor is None:
        if committee.kind != Kind.COMMITTEE:
            raise PermissionDenied
        return
    if not imports_into(require(actor, Cap.IMPORT_ROSTER), committee):
        raise PermissionDenied


def importable_committees(user) -> QuerySet[OrgUnit]:
    membership = active_membership(user)
    if membership is None or not membership.has(Cap.IMPORT_ROSTER) or membership.grid_id:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=membership.org_unit.path).in_natural_order()
