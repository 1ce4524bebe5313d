"""Every declared action of the tracing entry's workflow, driven through the service the pages
call, lands in its target state with exactly one audit event and one history row."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting
from xiuhua.tracing import services
from xiuhua.tracing.models import EntryEvent, EntryStatus, ListEntry
from xiuhua.tracing.workflows import TRACING_ENTRY

pytestmark = pytest.mark.django_db

ARRIVED = timezone.make_aware(dt.datetime(2020, 2, 10, 9, 0))


def _entries(w) -> tuple[ListEntry, ListEntry]:
    """Street A's list: a resident of committee A1 (assigned to it) and a stranger (in triage)."""
    stranger = make_resident_id("420102", dt.date(1988, 6, 1), 301)
    data = f"姓名,身份证号,现住址\n张秀英,{w.resident_a1.plain_id},\n陌生人,{stranger},外省某地\n".encode()
    batch = services.batch_import(
        actor=acting(w.street_officer), street=w.street_a, source="telecom", reference="第1批",
        received_at=ARRIVED, data=data, filename="list.csv", now=ARRIVED + dt.timedelta(hours=1),
    )
    assigned, triage = ListEntry.objects.filter(batch=batch).order_by("row")
    assert (assigned.status, triage.status) == (EntryStatus.ASSIGNED, EntryStatus.TRIAGE)
    return assigned, triage


def _report(outcome: str, note: str = ""):
    def drive(w, assigned: ListEntry, triage: ListEntry) -> ListEntry:
        return services.entry_report(actor=acting(w.staff_a1), entry=assigned, status=outcome, note=note)

    return drive


DRIVERS = {
    "assign": lambda w, assigned, triage: services.entry_assign(
        actor=acting(w.street_officer), entry=triage, to=w.committee_a2, note="经电话核实"),
    "transfer": lambda w, assigned, triage: services.entry_assign(
        actor=acting(w.street_officer), entry=triage, to=w.street_b, note="住五角场"),
    "report_controlled": _report(EntryStatus.CONTROLLED),
    "report_not_here": _report(EntryStatus.NOT_HERE, "已搬至闵行区"),
    "report_wrong_info": _report(EntryStatus.WRONG_INFO, "电话号码有误"),
}


@pytest.mark.parametrize("action", sorted(TRACING_ENTRY.actions))
def test_each_action_moves_through_its_service_with_one_audit_event(world, action):
    drive = DRIVERS[action]  # a declared action without a driver fails here
    assigned, triage = _entries(world)
    audits = set(AuditEvent.objects.values_list("pk", flat=True))
    events = set(EntryEvent.objects.values_list("pk", flat=True))

    entry = drive(world, assigned, triage)

    new = list(AuditEvent.objects.exclude(pk__in=audits).values_list("action", "object_id"))
    assert new == [(f"{TRACING_ENTRY.name}_{action}", entry.pk)]
    entry.refresh_from_db()
    assert entry.status == TRACING_ENTRY.actions[action].target
    assert EntryEvent.objects.exclude(pk__in=events).filter(entry=entry, status=entry.status).count() == 1


def test_every_driver_is_a_declared_action():
    assert set(DRIVERS) == set(TRACING_ENTRY.actions)
