"""The data migration that makes one alert of the alerts one reading raised (0009_alert_reasons)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from xiuhua.isolation import services
from xiuhua.isolation.models import Alert, Contact, ContactOutcome
from xiuhua.isolation.tests.test_services import at, open_case
from xiuhua.testing import acting

BEFORE = [("isolation", "0008_self_registrations_wait_for_staff")]
AFTER = [("isolation", "0010_one_alert_per_contact")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_open_alerts_of_one_reading_become_one_and_closed_ones_keep_their_notes(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    first, second, third = list(Contact.objects.filter(case=case))[:3]
    services.contact_record(actor=staff, contact=first, outcome=ContactOutcome.UNWELL, temperature="37.8",
                            symptoms="咳嗽", now=at(10, 16, 5))
    services.contact_record(actor=staff, contact=second, outcome=ContactOutcome.UNWELL, temperature="38.2",
                            symptoms="乏力", now=at(11, 9, 5))
    services.contact_record(actor=staff, contact=third, outcome=ContactOutcome.UNWELL, temperature="37.9",
                            now=at(11, 16, 5))
    try:
        old = migrate(BEFORE)
        OldAlert = old.get_model("isolation", "Alert")
        # As the old code wrote them: a fever alert and a symptoms alert for each of the first two
        # readings; the second reading's both closed, the first's fever alert closed.
        OldAlert.objects.all().delete()
        common = {"case_id": case.pk, "committee_id": case.committee_id}
        a = OldAlert.objects.create(contact_id=first.pk, kind="fever", raised_at=at(10, 16, 5),
                                    handled_at=at(10, 17), handled_by_id=world.staff_a1.pk, handled_note="电话回访",
                                    **common)
        b = OldAlert.objects.create(contact_id=first.pk, kind="symptoms", raised_at=at(10, 16, 5), **common)
        OldAlert.objects.create(contact_id=second.pk, kind="fever", raised_at=at(11, 9, 5), handled_at=at(11, 10),
                                handled_by_id=world.staff_a1.pk, handled_note="医生上门", **common)
        d = OldAlert.objects.create(contact_id=second.pk, kind="symptoms", raised_at=at(11, 9, 5),
                                    handled_at=at(11, 11), handled_by_id=world.staff_a1.pk, handled_note="已送医",
                                    **common)
        e = OldAlert.objects.create(contact_id=third.pk, kind="fever", raised_at=at(11, 16, 5), **common)
    finally:
        migrate(AFTER)
    rows = list(Alert.objects.order_by("contact__due_at").values_list(
        "pk", "contact_id", "kind", "reasons", "handled_at", "handled_note"))
    assert rows == [
        (b.pk, first.pk, "fever", ["fever", "symptoms"], None, ""),  # still open: closed once from now on
        (d.pk, second.pk, "fever", ["fever", "symptoms"], at(11, 11), "医生上门;已送医"),
        (e.pk, third.pk, "fever", ["fever"], None, ""),
    ]
    assert not Alert.objects.filter(pk=a.pk).exists()
