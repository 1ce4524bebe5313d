"""What the mask module adds to `seed_demo` (core.registry)."""

from __future__ import annotations

from xiuhua.core.registry import DemoPart


def seed_demo() -> list[str]:
    from .demo import ensure_demo_pharmacies

    return ensure_demo_pharmacies()


DEMO = DemoPart("masks", order=40, seed=seed_demo)
