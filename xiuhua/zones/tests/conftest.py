import datetime as dt

import pytest

from xiuhua.zones.models import RuleStatus, ZoneRule
from xiuhua.zones.presets import APRIL_11, MAY_22


def published(world, preset: dict, effective_from: dt.date, scope=None, **changes) -> ZoneRule:
    """A published rule made straight in the table (the services refuse back-dated rules; a test
    needs rules in force before its days)."""
    values = {key: str(value) if key in ("name", "explanation") else value for key, value in preset.items()}
    return ZoneRule.objects.create(scope=scope or world.district, effective_from=effective_from,
                                   status=RuleStatus.PUBLISHED, created_by=world.district_officer,
                                   **{**values, **changes})


@pytest.fixture
def april(world):
    return published(world, APRIL_11, dt.date(2022, 4, 11))


@pytest.fixture
def may(world):
    return published(world, MAY_22, dt.date(2022, 5, 22))


@pytest.fixture
def screening(world):
    from xiuhua.screening.tests.fixtures import build_screening

    return build_screening(world)
