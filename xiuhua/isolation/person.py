"""What the person page (residents:detail) shows of home isolation: the person's cases."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import has_cap
from xiuhua.core.registry import PersonRow

from .models import IsolationCase

SHOWN = 20


def person_rows(user, resident) -> list[PersonRow] | None:
    if not has_cap(user, Cap.VIEW_ISOLATION):
        return None
    # The arrival names the roster resident, or (registered before they were matched) carries
    # the same identity hash.
    cases = (
        IsolationCase.objects.visible_to(user)
        .filter(Q(arrival__resident=resident) | Q(arrival__id_hash=resident.id_hash))
        .select_related("arrival").order_by("-starts_on", "-pk")[:SHOWN]
    )
    return [
        PersonRow(
            label=_("%(start)s 至 %(end)s") % {"start": case.starts_on.isoformat(), "end": case.ends_on.isoformat()},
            url=reverse("isolation:case", args=[case.pk]), status=case.get_status_display(),
            when=case.starts_on, note=case.closed_note,
        )
        for case in cases
    ]

