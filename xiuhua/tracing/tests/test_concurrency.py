"""Parallel imports on PostgreSQL: the same file is one batch, the same person one person; the
same report sent many times at once is one report."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting
from xiuhua.testing import run_parallel as _run_parallel
from xiuhua.tracing import services
from xiuhua.tracing.models import EntryEvent, EntryStatus, ListedPerson, ListEntry, TracingBatch

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 16
ARRIVED = timezone.make_aware(dt.datetime(2020, 2, 10, 9, 0))


def run_parallel(fn, count=CLIENTS) -> list:
    return _run_parallel(fn, count)


def _import(world, data: bytes, reference: str):
    return services.batch_import(
        actor=acting(world.street_officer), street=world.street_a, source="port", reference=reference,
        received_at=ARRIVED, data=data, filename="list.csv",
    )


def test_same_file_sent_16_times_at_once_is_one_batch(world):
    data = f"姓名,身份证号\n张秀英,{world.resident_a1.plain_id}\n".encode()
    results = run_parallel(lambda i: _import(world, data, "第1批").pk)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert TracingBatch.objects.count() == 1 and ListEntry.objects.count() == 1


def test_same_person_in_16_different_lists_at_once_is_one_person(world):
    def submit(i):
        data = f"姓名,身份证号,备注\n张秀英,{world.resident_a1.plain_id},{i}\n".encode()
        return _import(world, data, f"第{i}批").pk

    results = run_parallel(submit)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == CLIENTS
    assert ListedPerson.objects.count() == 1
    assert ListEntry.objects.filter(person=ListedPerson.objects.get()).count() == CLIENTS


def test_the_same_report_sent_16_times_at_once_is_one_report(world):
    """A resubmitted report changes nothing, decided on the locked row: every send succeeds and
    one history row and one audit event are written."""
    batch = _import(world, f"姓名,身份证号\n张秀英,{world.resident_a1.plain_id}\n".encode(), "第1批")
    entry = ListEntry.objects.get(batch=batch)

    def report(i):
        return services.entry_report(
            actor=acting(world.staff_a1), entry=entry, status=EntryStatus.NOT_HERE, note="已搬至闵行区"
        ).status

    assert run_parallel(report) == [EntryStatus.NOT_HERE] * CLIENTS
    assert EntryEvent.objects.filter(entry=entry, action="reported").count() == 1
    assert AuditEvent.objects.filter(action="tracing_entry_report_not_here").count() == 1
