"""What the person page (residents:detail) shows of tracing lists: the entries matched to the
person that the viewer's unit holds. An entry only forwarded from the viewer's street (held
elsewhere) never shows its match (selectors.as_seen), so it is not linked to a person here."""

from __future__ import annotations

from django.urls import reverse

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import has_cap
from xiuhua.core.registry import PersonRow

from .models import ListEntry

SHOWN = 20


def person_rows(user, resident) -> list[PersonRow] | None:
    if not has_cap(user, Cap.VIEW_TRACING):
        return None
    entries = (
        ListEntry.objects.held_by(user).filter(resident=resident)
        .select_related("batch").order_by("-batch__received_at", "-pk")[:SHOWN]
    )
    return [
        PersonRow(
            label=entry.batch.reference, url=reverse("tracing:entry", args=[entry.pk]),
            status=entry.get_status_display(), when=entry.batch.received_at, note=entry.outcome_note,
        )
        for entry in entries
    ]

