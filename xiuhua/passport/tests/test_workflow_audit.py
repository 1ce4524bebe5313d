"""Every declared action of the passport's workflow, driven through the service the pages call,
writes exactly one audit event named after it and reaches its target state."""

import pytest
from django.utils import timezone

from xiuhua.passport.services import stamp_record, stamp_withdraw
from xiuhua.passport.workflows import STAMP
from xiuhua.testing import acting, assert_moved_once

pytestmark = pytest.mark.django_db


def _withdraw(world):
    staff = acting(world.staff_a1)
    stamp = stamp_record(actor=staff, household=world.household_a1, kind="volunteer",
                         stamped_on=timezone.localdate())
    return stamp, lambda: stamp_withdraw(actor=staff, stamp=stamp, reason="录错了")


DRIVERS = {"withdraw": _withdraw}


@pytest.mark.parametrize("action", sorted(STAMP.actions))
def test_each_action_writes_one_audit_event(world, action):
    assert action in DRIVERS, f"no driver for passport_stamp.{action}"
    record, act = DRIVERS[action](world)
    assert_moved_once(STAMP, action, record, act)
