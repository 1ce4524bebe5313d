"""What screening adds to core's first page (core.registry): people under review for whoever
works them, and tubes without a result past the round's alert hours for whoever records results."""

from __future__ import annotations

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart

from .models import RoundStatus, ScreeningRound
from .models_results import Review, ReviewStatus
from .selectors_results import overdue_tubes


def overdue_count(user) -> int:
    """Tubes of the member's open rounds past their round's alert hours without a result."""
    rounds = ScreeningRound.objects.visible_to(user).filter(status__in=[RoundStatus.OPEN, RoundStatus.CLOSED])
    return sum(overdue_tubes(screening_round).count() for screening_round in rounds)


def waiting_work(user, membership) -> dict[str, int] | None:
    work: dict[str, int] = {}
    # The committee's staff and grid workers, who know the people and go to their doors.
    if membership.has(Cap.VIEW_SCREENING) and membership.has(Cap.VIEW_RESIDENTS) and not membership.has(
            Cap.RECORD_RESULTS):
        work["screening_reviews"] = Review.objects.visible_to(user).filter(status=ReviewStatus.PENDING).count()
    if membership.has(Cap.RECORD_RESULTS):
        work["screening_overdue"] = overdue_count(user)
        if membership.has(Cap.VIEW_SCREENING):
            work["screening_reviews_open"] = Review.objects.visible_to(user).filter(
                status__in=[ReviewStatus.PENDING, ReviewStatus.SAMPLED]).count()
    return work or None


HOME = HomePart("screening", order=40, work=waiting_work, template="screening/_home_work.html")


def seed_demo() -> list[str]:
    from .demo import ensure_demo_round

    return ensure_demo_round()


def demo_accounts() -> list:
    from .demo import lab_account_specs

    return lab_account_specs()


DEMO = DemoPart("screening", order=50, seed=seed_demo, accounts=demo_accounts)
