"""What mutual aid adds to core (core.registry): on the first page, the open requests a
committee's ring reaches and its own claims to finish; for the street, requests that widened
unclaimed and the committees under cover. The demo pool, pair and open request; the sweep that
widens unclaimed requests and closes covers past their end."""

from __future__ import annotations

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, Sweep
from xiuhua.places.models import Kind

from . import workflows_aid  # noqa: F401  (the state tables, for moves and audit labels)


def waiting_work(user, membership) -> dict[str, int] | None:
    from .models_aid import AidCover, AidCoverStatus, AidRequest, AidRequestStatus

    if not membership.has(Cap.MUTUAL_AID):
        return None
    unit = membership.org_unit
    visible = AidRequest.objects.visible_to(user)
    if unit.kind == Kind.COMMITTEE:
        return {
            "aid_open": visible.filter(status=AidRequestStatus.OPEN).exclude(committee=unit).count(),
            "aid_to_finish": visible.filter(status=AidRequestStatus.CLAIMED, claimed_committee=unit).count(),
            "aid_covering": AidCover.objects.filter(partner=unit, status=AidCoverStatus.ACTIVE).count(),
        }
    return {
        "aid_escalated": visible.filter(status=AidRequestStatus.OPEN, escalated_at__isnull=False).count(),
        "aid_covers": AidCover.objects.filter(street__path__startswith=unit.path,
                                              status=AidCoverStatus.ACTIVE).count(),
    }


def seed_demo() -> list[str]:
    from .demo_aid import ensure_demo_aid

    return ensure_demo_aid()


HOME = HomePart("mutual_aid", order=68, work=waiting_work, template="volunteers/aid/_home_work.html")
DEMO = DemoPart("mutual_aid", order=71, seed=seed_demo)
SWEEP = Sweep("mutual_aid_sweep", every=60)
PARTS = (HOME, DEMO, SWEEP)
