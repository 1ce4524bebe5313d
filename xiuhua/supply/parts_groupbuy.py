"""What group buying adds to core (core.registry): on the committee's first page, applications
and filings waiting for review (those past two hours apart) and open complaints; the demo leader
with documents and filings; the escalation sweep."""

from __future__ import annotations

from django.utils import timezone

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.registry import DemoPart, HomePart, Sweep


def waiting_work(user, membership) -> dict[str, int] | None:
    from .models import ESCALATE_AFTER, Complaint, ComplaintStatus, Filing, FilingStatus, Leader, LeaderStatus

    if membership.role == Role.GROUPBUY_LEADER:
        return {"groupbuy_lead": 1}  # a leader's own pages are the phone pages
    if not membership.has(Cap.REVIEW_GROUPBUY):
        return None
    filings = Filing.objects.visible_to(user).filter(status=FilingStatus.SUBMITTED)
    return {
        "groupbuy_leaders_waiting": Leader.objects.visible_to(user).filter(status=LeaderStatus.APPLIED).count(),
        "groupbuy_filings_waiting": filings.count(),
        "groupbuy_filings_overdue": filings.filter(submitted_at__lte=timezone.now() - ESCALATE_AFTER).count(),
        "groupbuy_complaints_open": Complaint.objects.visible_to(user).filter(status=ComplaintStatus.OPEN).count(),
    }


def seed_demo() -> list[str]:
    from .demo_groupbuy import ensure_demo_groupbuy

    return ensure_demo_groupbuy()


HOME = HomePart("groupbuy", order=47, work=waiting_work, template="supply/_home_work.html")
DEMO = DemoPart("groupbuy", order=57, seed=seed_demo)
SWEEP = Sweep("groupbuy_sweep", every=5 * 60)
