"""What the person page (residents:detail) shows of work orders: those about the household."""

from __future__ import annotations

from django.urls import reverse

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import has_cap
from xiuhua.core.registry import PersonRow

from .models import Ticket

SHOWN = 20


def person_rows(user, resident) -> list[PersonRow] | None:
    if not has_cap(user, Cap.VIEW_TICKETS):
        return None
    tickets = (
        Ticket.objects.visible_to(user).filter(household_id=resident.household_id)
        .order_by("-received_at", "-pk")[:SHOWN]
    )
    return [
        PersonRow(
            label=f"{ticket.number} · {ticket.get_category_display()}", url=reverse("tickets:detail", args=[ticket.pk]),
            status=ticket.get_status_display(), when=ticket.received_at,
        )
        for ticket in tickets
    ]

