"""The same stamp given at once from many phones (a grid worker and committee staff at one door):
exactly one lands, the others get the Chinese refusal; on PostgreSQL."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.passport.models import Stamp
from xiuhua.passport.services import stamp_record
from xiuhua.testing import acting

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 16


def test_one_stamp_per_household_kind_and_week_under_concurrency(world):
    users = [world.staff_a1, world.grid_worker]
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def give(i: int) -> None:
        try:
            barrier.wait()
            stamp_record(actor=acting(users[i % 2]), household=world.household_a1, kind="volunteer",
                         stamped_on=timezone.localdate(), note=f"并发{i}")
            result = "stamped"
        except ValidationError as exc:
            result = "refused:" + " ".join(exc.message_dict["kind"])
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=give, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == CLIENTS and outcomes.count("stamped") == 1
    assert all(o.endswith("已盖过志愿服务章,不能重复盖章") for o in outcomes if o != "stamped")
    assert Stamp.objects.count() == 1
    assert AuditEvent.objects.filter(action="passport_stamp_record").count() == 1
