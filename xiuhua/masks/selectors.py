"""Reads of the mask module, scoped to the user; figures from committed rows only.

Stock bands (like Korea's public-mask API), counted in households' worth of masks still free for
new vouchers, `(delivered - allocated) // masks_per_household`: masks already promised to a
voucher are never shown as available.

    plenty  >= 20 vouchers' worth   (100 masks at 5 per household, Korea's "plenty")
    some    6-19
    few     1-5
    none    0
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q

from .models import MaskRound, Pharmacy, PharmacyStock, Reservation, ReservationStatus

BAND_PLENTY = 20
BAND_SOME = 6
BAND_FEW = 1

_LIVE = [ReservationStatus.VERIFYING, ReservationStatus.QUEUED, ReservationStatus.ISSUED, ReservationStatus.REDEEMED]


def stock_band(available_masks: int, masks_per_household: int) -> str:
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
    band: str = "none"


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
        figures.band = stock_band(figures.delivered - figures.allocated, round.masks_per_household)
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
