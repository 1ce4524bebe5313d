from django.db.models import Count

from .models import Kind, OrgUnit


def unit_children(unit: OrgUnit):
    return unit.children.in_natural_order()


def visible_crumbs(unit: OrgUnit, user) -> list[OrgUnit]:
    """The unit's ancestors that the user may open, top first."""
    return list(unit.ancestors().visible_to(user).exclude(pk=unit.pk))


def building_household_counts(unit: OrgUnit) -> dict[int, int]:
    from xiuhua.residents.models import Household

    if unit.kind != Kind.COMPOUND:
        return {}
    rows = Household.objects.filter(compound=unit).values("building").annotate(n=Count("pk"))
    return {row["building"]: row["n"] for row in rows}
