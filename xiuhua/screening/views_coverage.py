"""Coverage pages: per building and per grid of a round, and the "not yet sampled" list that
door-knockers print, download as Excel, or read on a phone (grid workers see their grid)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, has_cap
from xiuhua.core.policy import requires
from xiuhua.core.scoping import active_membership
from xiuhua.core.sheets import ListSheet, list_download
from xiuhua.places.models import Kind, OrgUnit

from . import selectors_coverage as sel
from .lists import NOT_SAMPLED_COLUMNS, not_sampled_rows, phone_shown
from .models import ScreeningRound


def _building(request, screening_round: ScreeningRound) -> OrgUnit | None:
    """The building asked for (?building=), when the member sees codes in it; else None (all)."""
    wanted = request.GET.get("building", "")
    if not wanted.isdigit():
        return None
    building = OrgUnit.objects.filter(pk=int(wanted), kind=Kind.BUILDING).select_related("parent").first()
    if building is None or not sel.round_codes(request.user, screening_round).filter(building=building).exists():
        return None
    return building


@requires(Cap.VIEW_SCREENING)
@require_GET
def coverage(request, pk: int):
    screening_round = access_by_id(ScreeningRound.objects, request.user, pk=pk, cap=Cap.VIEW_SCREENING)
    by_building, by_grid, total = sel.coverage(request.user, screening_round)
    return render(request, "screening/coverage/coverage.html", {
        "round": screening_round, "buildings": by_building, "grids": [g for g in by_grid if g.key is not None],
        "total": total, "now": timezone.now(),
    })


@requires(Cap.VIEW_SCREENING)
@require_GET
def not_sampled(request, pk: int):
    screening_round = access_by_id(ScreeningRound.objects, request.user, pk=pk, cap=Cap.VIEW_SCREENING)
    building = _building(request, screening_round)
    codes = sel.not_sampled(request.user, screening_round, building.pk if building else None)
    page = Paginator(codes, 100).get_page(request.GET.get("page"))
    full = has_cap(request.user, Cap.VIEW_RESIDENTS)
    for code in page:
        code.phone_shown = phone_shown(code, full=full)
    membership = active_membership(request.user)
    return render(request, "screening/coverage/not_sampled.html", {
        "round": screening_round, "building": building, "page": page, "columns": NOT_SAMPLED_COLUMNS,
        "full_phone": full,
        "now": timezone.now(), "unit": membership.org_unit if membership else None,
        "filters_text": _filters(building), "query": f"building={building.pk}" if building else "",
    })


def _filters(building: OrgUnit | None) -> str:
    if building is None:
        return _("全部楼栋")
    return f"{building.parent.name if building.parent else ''}{building.name}"


@requires(Cap.VIEW_SCREENING)
@require_GET
def not_sampled_xlsx(request, pk: int):
    screening_round = access_by_id(ScreeningRound.objects, request.user, pk=pk, cap=Cap.VIEW_SCREENING)
    building = _building(request, screening_round)
    codes = sel.not_sampled(request.user, screening_round, building.pk if building else None)
    membership = active_membership(request.user)
    sheet = ListSheet(
        NOT_SAMPLED_COLUMNS, filters=_filters(building), name=_("未采样"),
        title=_("%(round)s 未采样人员 %(time)s") % {
            "round": screening_round.name, "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
        rows=not_sampled_rows(codes.iterator(chunk_size=2000), full_phone=has_cap(request.user, Cap.VIEW_RESIDENTS)),
    )
    return list_download(sheet, actor=request.user, membership=membership, action="screening_not_sampled_export",
                         filename=_("%(round)s-未采样人员") % {"round": screening_round.name}, fallback="not-sampled",
                         obj=screening_round)
