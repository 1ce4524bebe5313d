"""Concurrent commits of roster imports, on PostgreSQL: all or nothing, once."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from xiuhua.accounts.models import User
from xiuhua.residents import roster
from xiuhua.residents.models import Household, Resident, RosterImport
from xiuhua.testing import acting

from .test_roster_fixtures import import_file, new_id, person, xlsx

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = RosterImport.Status


def in_parallel(calls) -> list[str]:
    """Run the calls at the same moment, each on its own connection; their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call) -> None:
        try:
            barrier.wait()
            result = call()
        except ValidationError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def commit_as(user_id: int, import_id: int):
    def call() -> str:
        actor = acting(User.objects.get(pk=user_id))
        return roster.roster_import_commit(
            actor=actor, roster_import=RosterImport.objects.get(pk=import_id), background=False
        ).status
    return call


def test_an_import_committed_twice_at_once_is_written_once(world):
    imp = import_file(acting(world.staff_a1), world.committee_a1, xlsx([person(姓名="并发导入")]))
    outcomes = in_parallel([commit_as(world.staff_a1.pk, imp.pk), commit_as(world.street_officer.pk, imp.pk)] * 2)
    assert sorted(outcomes) == ["committed", "refused", "refused", "refused"]
    assert Resident.objects.filter(name="并发导入").count() == 1


def test_the_same_people_imported_into_two_committees_at_once_land_once(world):
    numbers = [new_id() for _ in range(20)]
    a1 = import_file(acting(world.staff_a1), world.committee_a1, xlsx(
        [person(姓名=f"甲{n}", 室号=str(n), 证件号码=number) for n, number in enumerate(numbers)]))
    a2 = import_file(acting(world.staff_a2), world.committee_a2, xlsx(
        [person(小区="国和二村", 楼栋="12号", 姓名=f"乙{n}", 室号=str(n), 证件号码=number)
         for n, number in enumerate(numbers)]))
    assert a1.count_new == a2.count_new == 20
    households = Household.objects.count()
    people = {c.pk: Resident.objects.filter(committee=c).count() for c in (world.committee_a1, world.committee_a2)}
    outcomes = in_parallel([commit_as(world.staff_a1.pk, a1.pk), commit_as(world.staff_a2.pk, a2.pk)])
    assert sorted(outcomes) == ["committed", "failed"]
    a1.refresh_from_db()
    a2.refresh_from_db()
    winner, loser = (a1, a2) if a1.status == Status.COMMITTED else (a2, a1)
    assert Resident.objects.filter(committee=winner.committee).count() == people[winner.committee_id] + 20
    assert Resident.objects.filter(committee=loser.committee).count() == people[loser.committee_id]
    assert not Resident.objects.filter(name__startswith="乙" if loser is a2 else "甲").exists()
    assert Household.objects.count() == households + 20  # the loser created none
    assert loser.payload == "" and "未写入任何数据" in loser.error
