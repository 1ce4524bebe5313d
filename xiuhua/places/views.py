from django.shortcuts import redirect, render

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.policy import requires

from .models import Kind, OrgUnit
from .selectors import building_household_counts, unit_children, visible_crumbs


@requires(Cap.VIEW_PLACES)
def tree_root(request):
    return redirect("places:unit", unit_id=active_membership(request.user).org_unit_id)


@requires(Cap.VIEW_PLACES)
def unit_detail(request, unit_id: int):
    unit = access_by_id(OrgUnit.objects.all(), request.user, pk=unit_id)
    if unit.kind == Kind.BUILDING:
        return redirect(f"/residents/households/?building={unit.pk}")
    return render(
        request,
        "places/unit.html",
        {
            "unit": unit,
            "crumbs": visible_crumbs(unit, request.user),
            "children": unit_children(unit),
            "household_counts": building_household_counts(unit),
            "grids": unit.grids.order_by("kind", "name") if unit.kind == Kind.COMMITTEE else [],
        },
    )
