"""What the volunteers add to core's first page, the demo and the periodic sweeps
(core.registry).

First page: for committee staff, the qualifications waiting for their confirmation and the
places still open on today's and tomorrow's shifts; for street officers, the open places."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Sum
from django.utils import timezone

from xiuhua.accounts.roles import Cap
from xiuhua.core.registry import DemoPart, HomePart, Sweep


def waiting_work(user, membership) -> dict[str, int] | None:
    if not membership.has(Cap.VIEW_VOLUNTEERS):
        return None
    from .models import Shift, Talent, TalentStatus

    today = timezone.localdate()
    gaps = (Shift.objects.visible_to(user).filter(day__gte=today, day__lte=today + dt.timedelta(days=1),
                                                 ends_at__gt=timezone.now())
            .aggregate(open=Sum(F("needed") - F("filled")))["open"] or 0)
    pending = (Talent.objects.visible_to(user).filter(status=TalentStatus.PENDING).count()
               if membership.has(Cap.MANAGE_VOLUNTEERS) else 0)
    if not gaps and not pending:
        return None
    return {"volunteer_pending": pending, "volunteer_gaps": gaps}


HOME = HomePart("volunteers", order=70, work=waiting_work, template="volunteers/_home_work.html")


def seed_demo() -> list[str]:
    from .demo import ensure_demo_volunteers

    return ensure_demo_volunteers()


DEMO = DemoPart("volunteers", order=70, seed=seed_demo)
SWEEP = Sweep("volunteer_duty_sms", every=10 * 60)
