"""Work orders over the API: the 12345 hotline platform pushes its orders to the street as they
are dispatched, and reads back how each one stands (reply, closing, call-back) for its own
closing of the loop. Spreadsheet import (imports.py) stays for platforms that only export.

POST /api/tickets/hotline takes one order: placed in a committee by address or committee name
like an imported row, created through `ticket_create` with the platform's received time (so the
deadline counts working days from it), once per external number: sending it again answers 200
with the order as it stands. The caller is a street token (or a district token naming a street).
GET /api/tickets lists what the token's membership sees (by external number, status, or what
changed since a time); GET /api/tickets/{id} gives one order with its steps. Requester phones
and staff names are never returned.
"""


import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id
from xiuhua.core.policy import requires
from xiuhua.places.api import Id, InSchema, PageParams, PlainText, UtcDatetime
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household

from . import services
from .imports import FUTURE_SLACK, StreetPlaces, import_street_for
from .models import OPEN_STATUSES, Source, Ticket, TicketEvent, TicketQuerySet

router = Router(tags=["tickets"])

DeadlineClassName = Literal["emergency", "consultation", "supervision", "help", "complaint", "complex"]
CategoryName = Literal[
    "dialysis", "chemotherapy", "medicine", "wound_care", "childbirth", "mental_health", "food", "elderly_care",
    "child_care", "utilities", "other",
]


class HotlineOrderIn(InSchema):
    external_number: PlainText = Field(min_length=1, max_length=40)
    received_at: UtcDatetime = Field(description="受理时间;不带时区时按北京时间")
    deadline_class: DeadlineClassName = "help"
    category: CategoryName = "other"
    urgency: Literal["urgent", "normal"] = "normal"
    description: PlainText = Field(min_length=1, max_length=2000)
    requester_name: PlainText = Field("", max_length=50)
    requester_phone: PlainText = Field("", max_length=20)
    address: PlainText = Field("", max_length=200, description="诉求地址,用于确定住户和居委会")
    committee: PlainText = Field("", max_length=60, description="居委会名称或12位统计代码;地址无法确定时使用")
    street: Id | None = Field(None, description="区级令牌须指明街道")


class StepOut(Schema):
    action: str
    at: dt.datetime
    status: str


class TicketOut(Schema):
    id: int
    number: str
    external_number: str
    source: str
    category: str
    urgency: str
    status: str
    deadline_class: str
    received_at: dt.datetime
    deadline_at: dt.datetime
    committee: str
    handled_by: str
    reply_text: str
    replied_at: dt.datetime | None
    closed_at: dt.datetime | None
    satisfaction: int | None
    reopened_count: int

    @staticmethod
    def resolve_committee(ticket: Ticket) -> str:
        return ticket.committee.name

    @staticmethod
    def resolve_handled_by(ticket: Ticket) -> str:
        if ticket.department_id:
            return ticket.department.name if ticket.department else ""
        return ticket.assigned_committee.name if ticket.assigned_committee else ""


class TicketDetailOut(TicketOut):
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(ticket: Ticket) -> list[dict[str, Any]]:
        # What happened and when; who did it and their notes stay on the staff pages.
        return [{"action": e.action, "at": e.at, "status": e.to_status} for e in ticket.events.order_by("at", "pk")]


class TicketPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[TicketOut]


class TicketFilter(PageParams):
    external_number: PlainText | None = Field(None, max_length=40)
    status: Literal["open", "all"] = "all"
    changed_since: UtcDatetime | None = Field(None, description="只列出此后有过办理动作的工单;不带时区时按北京时间")


def _place(street: OrgUnit, payload: HotlineOrderIn):
    """(committee, household) by address, else by the committee's name or code; 422 otherwise."""
    places = StreetPlaces(street)
    parsed = places.gazetteer.parse(payload.address) if payload.address else None
    if parsed is not None:
        places.load_households([parsed])
    committee_id, household_id, _placed_by, problem = places.place(
        parsed, payload.committee.strip(), has_address=bool(payload.address), allow_code=True
    )
    if problem is not None:
        raise ValidationError({problem[0]: problem[1]})
    household = Household.objects.get(pk=household_id) if household_id else None
    assert committee_id is not None
    return places.committees[committee_id], household


def _tickets() -> TicketQuerySet:
    return Ticket.objects.select_related("committee", "department", "assigned_committee")  # type: ignore[return-value]


@router.post("/tickets/hotline", response={200: TicketOut, 201: TicketOut})
@requires(Cap.RECORD_TICKET)
def hotline_order_push(request, payload: HotlineOrderIn):
    """Take one 12345 order (201), or answer the one already taken with this number (200)."""
    street_unit = None
    if payload.street is not None:
        street_unit = OrgUnit.objects.filter(pk=payload.street, kind=Kind.STREET).first()
        if street_unit is None:
            raise ValidationError({"street": _("请选择街道")})
    street = import_street_for(request.user, street_unit)
    existing = _tickets().filter(external_number=payload.external_number.strip()).first()
    if existing is not None:
        if not _tickets().visible_to(request.user).filter(pk=existing.pk).exists():
            raise HttpError(409, _("该12345工单号已由其他街道登记"))
        return Status(200, existing)
    received_at = payload.received_at
    if received_at > timezone.now() + FUTURE_SLACK:
        raise ValidationError({"received_at": _("受理时间晚于当前时间")})
    committee, household = _place(street, payload)
    ticket, token = services.ticket_create(
        actor=request.user, source=Source.HOTLINE, category=payload.category, urgency=payload.urgency,
        description=payload.description, committee=committee, household=household,
        requester_name=payload.requester_name, requester_phone=payload.requester_phone,
        external_number=payload.external_number, deadline_class=payload.deadline_class, now=received_at,
        send_sms=False,  # the hotline has told the caller; it reads progress back from here
    )
    return Status(201 if token else 200, _tickets().get(pk=ticket.pk))


@router.get("/tickets", response=TicketPage)
@requires(Cap.VIEW_TICKETS)
def ticket_index(request, filters: Query[TicketFilter]):
    """Orders the token's membership sees, newest first."""
    tickets = _tickets().visible_to(request.user).order_by("-received_at", "-pk")
    if filters.external_number:
        tickets = tickets.filter(external_number=filters.external_number.strip())
    if filters.status == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    if filters.changed_since is not None:
        changed = TicketEvent.objects.filter(ticket=OuterRef("pk"), at__gte=filters.changed_since)
        tickets = tickets.filter(Exists(changed))
    return {
        "total": tickets.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": list(tickets[filters.offset : filters.offset + filters.limit]),
    }


@router.get("/tickets/{ticket_id}", response=TicketDetailOut)
@requires(Cap.VIEW_TICKETS)
def ticket_detail(request, ticket_id: Id):
    """One order with its steps."""
    return access_by_id(_tickets(), request.user, pk=ticket_id)
