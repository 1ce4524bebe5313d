"""Services of the door QR channel's staff pages: each hands out something personal (a building's
door codes, a resident's photo), so each is audited here, whichever page or script calls it."""

from __future__ import annotations

from django.core.files import File

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household

from .models import Ticket
from .printing import building_order, cards_for, door_sheet_pdf, door_sheets_pdf


def door_sheet_print(*, actor, building: OrgUnit) -> bytes:
    """The PDF door sheet of a building the caller found in the actor's scope, one card per
    household the actor sees there."""
    require(actor, Cap.RECORD_TICKET)
    households = Household.objects.visible_to(actor).filter(building=building).select_related("compound", "building")
    cards = cards_for(households)
    title = f"{building.parent.name if building.parent else ''}{building.name}"
    audit(actor=actor, action="ticket_door_sheet", obj=building, committee_id=building.committee_id,
          subject_label=title, detail={"households": len(cards)})
    return door_sheet_pdf(cards, title=title)


def committee_door_sheets_print(*, actor, committee: OrgUnit) -> bytes:
    """The door sheets of every building of a committee the caller found in the actor's scope, in
    one PDF: buildings by compound and natural number (2号 before 19号), each from a new page,
    one card per household the actor sees; buildings without households are left out. One audit
    event for the whole print."""
    require(actor, Cap.RECORD_TICKET)
    households = (
        Household.objects.visible_to(actor).filter(committee_id=committee.pk)
        .select_related("compound", "building__parent")
    )
    by_building: dict[int, list] = {}
    buildings: dict[int, OrgUnit] = {}
    for household in households:
        by_building.setdefault(household.building_id, []).append(household)
        buildings[household.building_id] = household.building
    order = sorted(buildings.values(), key=lambda b: (b.parent.name if b.parent else "", building_order(b.name)))
    sheets = [(f"{b.parent.name if b.parent else ''}{b.name}", cards_for(by_building[b.pk])) for b in order]
    count = sum(len(cards) for _title, cards in sheets)
    audit(actor=actor, action="ticket_door_sheets", obj=committee, committee_id=committee.pk,
          subject_label=committee.name, detail={"buildings": len(sheets), "households": count})
    return door_sheets_pdf(sheets, title=committee.name)


def ticket_photo_open(*, actor, ticket: Ticket) -> File:
    """The photo a resident sent with a request (the caller found it in the actor's scope and
    checked there is one), opened for reading."""
    require(actor, Cap.VIEW_TICKETS)
    audit(actor=actor, action="ticket_photo_view", obj=ticket, committee_id=ticket.committee_id,
          subject_label=ticket.number, personal=True)
    return ticket.photo.open("rb")
