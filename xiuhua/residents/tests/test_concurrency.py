"""Concurrent registration of one identity number: exactly one record, on PostgreSQL."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.residents import services
from xiuhua.residents.models import Resident
from xiuhua.testing import acting

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 32


def test_same_id_registered_by_many_committees_at_once_lands_once(world):
    number = make_resident_id("310110", dt.date(1975, 1, 9), 77)
    targets = [
        (world.staff_a1, world.household_a1),
        (world.staff_a2, world.household_a2),
        (world.staff_b1, world.household_b1),
    ]
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def register(i: int) -> None:
        user, household = targets[i % len(targets)]
        try:
            barrier.wait()
            services.resident_create(
                actor=acting(user), household=household, id_type=IdType.RESIDENT_ID, id_number=number,
                name=f"并发{i}", sex="M", birth_date=dt.date(1975, 1, 9), relation="other",
            )
            result = "created"
        except ValidationError as exc:
            result = "refused:" + " ".join(exc.message_dict["id_number"])
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("created") == 1
    assert len(outcomes) == CLIENTS
    assert all(o.startswith("refused:") and "登记" in o for o in outcomes if o != "created")
    assert Resident.objects.filter(name__startswith="并发").count() == 1
