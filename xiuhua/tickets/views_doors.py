"""Staff pages of the door QR channel.

    /tickets/doors/                  buildings of the committees the user covers (record_ticket)
    /tickets/doors/b/<pk>.pdf        the building's door sheet, one card per household
    /tickets/doors/c/<pk>.pdf        every building's sheet of a committee, in one PDF
    /tickets/doors/photo/<pk>.jpg    the photo a resident sent with a request (view_tickets, audited)

A building outside the user's unit is the same 404 as a missing one.
"""

from __future__ import annotations

from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.policy import requires
from xiuhua.places.models import Kind, OrgUnit

from .models import Ticket
from .printing import building_order
from .services_doors import committee_door_sheets_print, door_sheet_print, ticket_photo_open


def _units(user):
    """(buildings, committees) the active membership covers."""
    membership = active_membership(user)
    if membership is None:
        raise Http404
    unit = membership.org_unit
    buildings = OrgUnit.objects.filter(kind=Kind.BUILDING, path__startswith=unit.path)
    committees = OrgUnit.objects.filter(kind=Kind.COMMITTEE, pk__in=buildings.values("committee_id"))
    return buildings, committees


@requires(Cap.RECORD_TICKET)
@require_GET
def building_list(request):
    buildings, committees = _units(request.user)
    committee_list = list(committees.order_by("path"))
    chosen = None
    if len(committee_list) == 1:
        chosen = committee_list[0]
    elif request.GET.get("c", "").isdigit():
        chosen = next((c for c in committee_list if c.pk == int(request.GET["c"])), None)
        if chosen is None:
            raise Http404
    rows = []
    if chosen is not None:
        rows = sorted(
            buildings.filter(committee=chosen).select_related("parent").annotate(household_count=Count("households")),
            key=lambda b: (b.parent.name if b.parent else "", building_order(b.name)),
        )
    counts = dict(buildings.order_by().values("committee_id").annotate(n=Count("pk")).values_list("committee_id", "n"))
    return render(
        request,
        "tickets/doors/list.html",
        {
            "committees": [(c, counts.get(c.pk, 0)) for c in committee_list],
            "chosen": chosen,
            "buildings": rows,
            "households_total": sum(b.household_count for b in rows),
        },
    )


@requires(Cap.RECORD_TICKET)
@require_GET
def building_sheet(request, building_pk: int):
    buildings, _committees = _units(request.user)
    building = buildings.select_related("parent").filter(pk=building_pk).first()
    if building is None:
        raise Http404
    response = HttpResponse(door_sheet_print(actor=request.user, building=building), content_type="application/pdf")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'inline; filename="doors-{building.pk}-{stamp}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Cap.RECORD_TICKET)
@require_GET
def committee_sheets(request, committee_pk: int):
    """All the committee's door sheets at once; a committee outside the user's unit is a 404."""
    _buildings, committees = _units(request.user)
    committee = committees.filter(pk=committee_pk).first()
    if committee is None:
        raise Http404
    pdf = committee_door_sheets_print(actor=request.user, committee=committee)
    response = HttpResponse(pdf, content_type="application/pdf")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'inline; filename="doors-committee-{committee.pk}-{stamp}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Cap.VIEW_TICKETS)
@require_GET
def request_photo(request, ticket_id: int):
    """The photo of a request: personal, so every view of it is audited."""
    ticket = access_by_id(Ticket.objects, request.user, pk=ticket_id)
    if not ticket.photo:
        raise Http404
    response = FileResponse(ticket_photo_open(actor=request.user, ticket=ticket), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response
