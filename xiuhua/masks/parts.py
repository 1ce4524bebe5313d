"""What the mask module adds to `seed_demo`, the person page and the periodic sweeps (core.registry)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from xiuhua.core.registry import DemoPart, PersonPart, Sweep

from .person import person_rows


def seed_demo() -> list[str]:
    from .demo import ensure_demo_pharmacies

    return ensure_demo_pharmacies()


DEMO = DemoPart("masks", order=40, seed=seed_demo)
PERSON = PersonPart("masks", order=10, title=gettext_lazy("口罩预约与凭证(本户)"), rows=person_rows)
SWEEP = Sweep("expire_vouchers", every=10 * 60)
