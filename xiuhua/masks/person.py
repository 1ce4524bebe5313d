"""What the person page (residents:detail) shows of masks: the household's reservations, each
with its vouchers. Reservations are one per household and round, so they are the household's."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import has_cap
from xiuhua.core.registry import PersonRow

from .models import Reservation, Voucher

SHOWN = 20


def person_rows(user, resident) -> list[PersonRow] | None:
    if not has_cap(user, Cap.VIEW_MASKS):
        return None
    reservations = list(
        Reservation.objects.visible_to(user).filter(household_id=resident.household_id)
        .select_related("round").order_by("-order_at", "-pk")[:SHOWN]
    )
    vouchers: dict[int, list[Voucher]] = {}
    for voucher in Voucher.objects.visible_to(user).filter(reservation__in=[r.pk for r in reservations]):
        vouchers.setdefault(voucher.reservation_id, []).append(voucher)
    rows = []
    for reservation in reservations:
        notes = [
            _("凭证 %(number)s(%(status)s)") % {"number": v.number, "status": v.get_status_display()}
            for v in sorted(vouchers.get(reservation.pk, []), key=lambda v: v.issued_at)
        ]
        if reservation.resident_id not in (None, resident.pk):
            notes.insert(0, _("登记人:%(name)s") % {"name": reservation.name})
        rows.append(PersonRow(
            label=f"{reservation.round.name} · {reservation.number}",
            url=reverse("masks:staff_reservation", args=[reservation.pk]),
            status=reservation.get_status_display(), when=reservation.order_at, note=";".join(notes),
        ))
    return rows
