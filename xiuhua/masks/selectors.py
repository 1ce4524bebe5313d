"""Reads of the mask module, scoped to the user; figures from committed rows only.

Stock bands (like Korea's public-mask API), counted in households' worth of masks still free for
new vouchers, `(delivered - allocated) // masks_per_household`: masks already promised to a
voucher are never shown as available.

    awaiting  nothing delivered yet this round (未到货: not "none", which reads as sold out)
    plenty    >= 20 vouchers' worth   (100 masks at 5 per household, Korea's "plenty")
    some      6-19
    few       1-5
    none      0

Public figures (`pharmacy_rows`, `committee_rows`) are read in ONE SQL statement per table (subqueries, no
second round trip), so the counts and the stock band of a row come from the same committed snapshot: a band is
never above "none" once the last masks have been allocated to vouchers. They carry no personal data.
"""

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from xiuhua.places.models import Kind, OrgUnit

from .models import MaskRound, Pharmacy, PharmacyCommittee, PharmacyStock, Reservation, ReservationStatus

BAND_PLENTY = 20
BAND_SOME = 6
BAND_FEW = 1

_LIVE = [ReservationStatus.VERIFYING, ReservationStatus.QUEUED, ReservationStatus.ISSUED, ReservationStatus.REDEEMED]

# Shown on the public and staff pages (the one table of labels); open data carries the key only.
BAND_LABELS = {
    "awaiting": gettext_lazy("未到货"),
    "plenty": gettext_lazy("充足"),
    "some": gettext_lazy("有货"),
    "few": gettext_lazy("紧张"),
    "none": gettext_lazy("无货"),
}


def stock_band(available_masks: int, masks_per_household: int, *, delivered: int | None = None) -> str:
    """The band of what is left; "awaiting" when `delivered` is given and nothing has arrived."""
    if delivered == 0:
        return "awaiting"
    vouchers = max(0, available_masks) // max(1, masks_per_household)
    if vouchers >= BAND_PLENTY:
        return "plenty"
    if vouchers >= BAND_SOME:
        return "some"
    if vouchers >= BAND_FEW:
        return "few"
    return "none"


@dataclass
class Figures:
    registered: int = 0
    verifying: int = 0
    queued: int = 0
    issued: int = 0  # vouchers out, redeemed or not
    redeemed: int = 0


@dataclass
class PharmacyFigures(Figures):
    delivered: int = 0
    allocated: int = 0
    masks_redeemed: int = 0
    band: str = "awaiting"


@dataclass
class RoundDashboard:
    round: MaskRound
    committees: dict[int, Figures] = field(default_factory=dict)  # committee id -> figures
    pharmacies: dict[int, PharmacyFigures] = field(default_factory=dict)  # pharmacy id -> figures
    total: Figures = field(default_factory=Figures)


def _counts():
    return {
        "registered": Count("id", filter=Q(status__in=_LIVE)),
        "verifying": Count("id", filter=Q(status=ReservationStatus.VERIFYING)),
        "queued": Count("id", filter=Q(status=ReservationStatus.QUEUED)),
        "issued": Count("id", filter=Q(status__in=[ReservationStatus.ISSUED, ReservationStatus.REDEEMED])),
        "redeemed": Count("id", filter=Q(status=ReservationStatus.REDEEMED)),
    }


def reservations_visible_to(user, mask_round: MaskRound):
    return Reservation.objects.visible_to(user).filter(round=mask_round)


def round_dashboard(*, round: MaskRound, user) -> RoundDashboard:
    """Per committee and per pharmacy figures of a round, within what the user may see."""
    board = RoundDashboard(round=round)
    rows = reservations_visible_to(user, round).values("committee_id").annotate(**_counts()).order_by()
    for row in rows:
        cid = row.pop("committee_id")
        board.committees[cid] = Figures(**row)
        for key, value in row.items():
            setattr(board.total, key, getattr(board.total, key) + value)
    pharmacies = Pharmacy.objects.visible_to(user)
    per_pharmacy = {
        row.pop("pharmacy_id"): row
        for row in Reservation.objects.filter(round=round, pharmacy__in=pharmacies)
        .values("pharmacy_id")
        .annotate(**_counts())
        .order_by()
    }
    stocks = {s.pharmacy_id: s for s in PharmacyStock.objects.filter(round=round, pharmacy__in=pharmacies)}
    for pharmacy_id in pharmacies.values_list("id", flat=True):
        stock = stocks.get(pharmacy_id)
        figures = PharmacyFigures(**per_pharmacy.get(pharmacy_id, {}))
        if stock is not None:
            figures.delivered, figures.allocated, figures.masks_redeemed = (
                stock.delivered,
                stock.allocated,
                stock.redeemed,
            )
        figures.band = stock_band(figures.delivered - figures.allocated, round.masks_per_household,
                                  delivered=figures.delivered)
        board.pharmacies[pharmacy_id] = figures
    return board


def rounds_visible_to(user):
    """Rounds whose scope contains or lies within the user's unit."""
    from xiuhua.core.scoping import active_membership

    membership = active_membership(user)
    if membership is None or not (membership.has("view_masks") or membership.has("redeem_voucher")):
        return MaskRound.objects.none()
    path = membership.org_unit.path
    ancestors = [int(p) for p in path.strip("/").split("/") if p]
    return MaskRound.objects.filter(Q(scope_id__in=ancestors) | Q(scope__path__startswith=path))


# --- public figures (one statement per table, no personal data) ---------------------------


def _reservation_count_subquery(round_id: int, outer: str, statuses) -> Coalesce:
    """Reservations of the round in `statuses` (all live ones) whose `outer` field is the outer row.

    live=True lets PostgreSQL count per pharmacy from the partial queue index."""
    sub = (
        Reservation.objects.filter(round_id=round_id, live=True, status__in=statuses, **{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(c=Count("pk"))
        .values("c")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), 0)


def _status_count_subqueries(round_id: int, outer: str) -> dict[str, Coalesce]:
    return {
        "registered": _reservation_count_subquery(round_id, outer, _LIVE),
        "verifying": _reservation_count_subquery(round_id, outer, [ReservationStatus.VERIFYING]),
        "queued": _reservation_count_subquery(round_id, outer, [ReservationStatus.QUEUED]),
        "issued": _reservation_count_subquery(round_id, outer, [ReservationStatus.ISSUED, ReservationStatus.REDEEMED]),
        "redeemed": _reservation_count_subquery(round_id, outer, [ReservationStatus.REDEEMED]),
    }


def _stock_subquery(round_id: int, field: str, **match) -> Coalesce:
    sub = PharmacyStock.objects.filter(round_id=round_id, **match).values(field)[:1]
    return Coalesce(Subquery(sub, output_field=IntegerField()), 0)


def _rows_with_stock_band(queryset: QuerySet, mask_round: MaskRound, columns: list[str], **stock_match) -> list[dict]:
    """`columns` and the status counts of each row, with the band of the stock row matched by `stock_match`.

    Delivered and allocated masks are read in the same statement as the counts but only the band is
    returned: the public sees households' worth in bands, not exact stock.
    """
    rows = queryset.annotate(
        delivered=_stock_subquery(mask_round.pk, "delivered", **stock_match),
        allocated=_stock_subquery(mask_round.pk, "allocated", **stock_match),
    ).values(*columns, "registered", "verifying", "queued", "issued", "redeemed", "delivered", "allocated")
    out = []
    for row in rows:
        delivered = row.pop("delivered")
        available = delivered - row.pop("allocated")
        out.append({**row, "stock_band": stock_band(available, mask_round.masks_per_household, delivered=delivered)})
    return out


def pharmacy_rows(mask_round: MaskRound, *, pharmacy_ids: list[int] | None = None) -> list[dict]:
    """Per pharmacy serving the round's scope: counts and stock band, no personal data."""
    serving = PharmacyCommittee.objects.filter(committee__path__startswith=mask_round.scope.path).values("pharmacy_id")
    qs = Pharmacy.objects.filter(pk__in=Subquery(serving))
    if pharmacy_ids is not None:
        qs = qs.filter(pk__in=pharmacy_ids)
    qs = qs.annotate(**_status_count_subqueries(mask_round.pk, "pharmacy")).order_by("name", "id")
    return _rows_with_stock_band(qs, mask_round, ["id", "name", "address", "opening_hours"], pharmacy=OuterRef("pk"))


def committee_rows(mask_round: MaskRound, *, committee_ids: list[int] | None = None) -> list[dict]:
    """Per committee in the round's scope: counts and its pharmacy's stock band, no personal data."""
    qs = OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=mask_round.scope.path)
    if committee_ids is not None:
        qs = qs.filter(pk__in=committee_ids)
    pharmacy = PharmacyCommittee.objects.filter(committee=OuterRef("pk"))
    qs = qs.annotate(
        **_status_count_subqueries(mask_round.pk, "committee"),
        pharmacy_id=Subquery(pharmacy.values("pharmacy_id")[:1], output_field=IntegerField()),
    ).order_by("code", "pk")
    return _rows_with_stock_band(
        qs, mask_round, ["code", "name", "pharmacy_id"], pharmacy__served__committee=OuterRef("pk")
    )


def with_band_labels(rows: list[dict]) -> list[dict]:
    """The rows with the band's label for the pages (open data keeps the band key only)."""
    return [{**row, "band_label": BAND_LABELS[row["stock_band"]]} for row in rows]


def round_openers(membership) -> list:
    """Who may open a round covering the membership's unit: the officers (street, district) of the
    units above it, each with the mobile on file, for a committee that has no round yet."""
    from xiuhua.accounts.models import Membership
    from xiuhua.accounts.roles import ROLE_CAPS, Cap

    if membership is None:
        return []
    ancestors = [int(p) for p in membership.org_unit.path.strip("/").split("/") if p]
    roles = [role for role, caps in ROLE_CAPS.items() if Cap.MANAGE_ROUNDS in caps]
    return list(
        Membership.objects.filter(org_unit_id__in=ancestors, role__in=roles, active=True, user__is_active=True)
        .exclude(pk=membership.pk)
        .select_related("user", "org_unit")
        .order_by("-org_unit__path", "user__username")
    )


HOUSEHOLD_CHOICES = 15


def household_label(household) -> str:
    """How a household is shown and typed on the desk form: 小区 楼号 室号 (unique)."""
    return f"{household.compound.name} {household.building.name} {household.room}室"


def household_from_label(households, label: str):
    """The household of `households` (already narrowed to the user's scope) whose label is
    `label`, or None: the typed text is compared exactly, nothing is guessed."""
    text = " ".join((label or "").split())
    if text.endswith("室"):
        text = text[:-1]
    parts = text.rsplit(" ", 2)
    if len(parts) != 3:
        return None
    compound, building, room = parts
    return households.filter(compound__name=compound, building__name=building, room=room).first()


def household_choices(households, q: str, *, limit: int = HOUSEHOLD_CHOICES) -> list[dict]:
    """Households of `households` (narrowed by visible_to) matching what staff typed: the words
    of a compound, a building number, a room's start, or the start of the head's name. Each comes
    with its label and the head's name masked (张**), never in full."""
    from xiuhua.residents.models import Relation, Resident

    words = q.replace("室", " ").replace("号楼", "号 ").split()[:4]
    if not words:
        return []
    rows = households
    for word in words:
        heads = Resident.objects.filter(relation=Relation.HEAD, name__startswith=word).values("household_id")
        match = Q(compound__name__icontains=word) | Q(building__name__startswith=word) | Q(pk__in=heads)
        if word.isdigit():
            match |= Q(room__startswith=word)
        rows = rows.filter(match)
    found = list(rows.select_related("compound", "building").order_by("compound__name", "building__name", "room")
                 [:limit])
    heads_by_household = dict(
        Resident.objects.filter(household__in=[h.pk for h in found], relation=Relation.HEAD)
        .values_list("household_id", "name")
    )
    from .pdf import mask_name

    return [
        {"id": h.pk, "label": household_label(h), "head": mask_name(heads_by_household.get(h.pk, ""))}
        for h in found
    ]
