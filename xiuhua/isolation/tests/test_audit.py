"""Every write of the isolation module leaves its audit event, written by the service: a recorded
contact, each alert it raises, a sweep that marks missed contacts, a look at the pledge."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.isolation import selectors, services
from xiuhua.isolation.models import Alert, AlertKind, Contact, ContactOutcome, ContactVia, Step
from xiuhua.sms.services import inbound_receive
from xiuhua.testing import acting, as_user

from .test_services import OPENED, at, open_case, photo

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_recording_a_contact_is_audited_under_the_committee(world):
    case = open_case(world)
    first = Contact.objects.filter(case=case).first()
    services.contact_record(actor=acting(world.grid_worker), contact=first, outcome=ContactOutcome.WELL,
                            temperature="36.6", now=at(10, 16, 5))
    [event] = events("isolation_contact_record")
    assert (event.actor, event.committee_id, event.object_id) == (world.grid_worker, case.committee_id, case.pk)
    assert event.detail == {"contact": first.pk, "outcome": "well", "via": "phone"}
    # Recording it again the same way changes nothing, and writes nothing.
    services.contact_record(actor=acting(world.grid_worker), contact=first, outcome=ContactOutcome.WELL,
                            now=at(10, 16, 6))
    assert len(events("isolation_contact_record")) == 1
    assert not events("isolation_alert_raise")


def test_the_alert_a_contact_raises_is_audited_once_with_its_reasons(world):
    case = open_case(world)
    first = Contact.objects.filter(case=case).first()
    services.contact_record(actor=acting(world.staff_a1), contact=first, outcome=ContactOutcome.UNWELL,
                            temperature="37.8", symptoms="咳嗽", now=at(10, 16, 5))
    [raised] = events("isolation_alert_raise")
    [alert] = Alert.objects.all()
    assert raised.detail == {"alert": alert.pk, "kind": AlertKind.FEVER, "reasons": ["fever", "symptoms"],
                             "contact": first.pk}
    assert (raised.actor, raised.committee_id) == (world.staff_a1, case.committee_id)


def test_a_contact_by_sms_is_audited_without_a_staff_actor(world):
    case = open_case(world)
    first = Contact.objects.filter(case=case).first()
    inbound_receive(phone=case.arrival.phone, text="37.9", provider_message_id="c1", received_at=at(10, 16, 5))
    [event] = events("isolation_contact_record")
    assert (event.actor, event.detail) == (None, {"contact": first.pk, "outcome": "unwell", "via": ContactVia.SMS})
    assert [e.detail["kind"] for e in events("isolation_alert_raise")] == [AlertKind.FEVER]


def test_a_refused_contact_writes_no_event(world):
    case = open_case(world)
    first = Contact.objects.filter(case=case).first()
    with pytest.raises(PermissionDenied):
        services.contact_record(actor=acting(world.staff_a2), contact=first, outcome=ContactOutcome.WELL,
                                now=at(10, 16, 5))
    assert not AuditEvent.objects.filter(action__in=["isolation_contact_record", "isolation_alert_raise"]).exists()


def test_a_sweep_that_marks_contacts_writes_one_event_with_its_counts(world):
    case = open_case(world)
    before = AuditEvent.objects.count()
    assert services.contacts_sweep(now=at(10, 17, 59)) == 0  # the 16:00 contact is within its grace
    assert AuditEvent.objects.count() == before  # nothing changed, nothing to record
    # By 11:01 on the 11th both the 16:00 and the 09:00 contacts are past their grace: two misses
    # in a row, one alert.
    assert services.contacts_sweep(now=at(11, 11, 1)) == 2
    [sweep] = events("isolation_contacts_sweep")
    assert (sweep.actor, sweep.committee_id, sweep.detail) == (None, None, {"missed": 2, "alerts": 1})
    [alert] = events("isolation_alert_raise")
    assert (alert.actor, alert.committee_id, alert.detail["kind"]) == (None, case.committee_id, AlertKind.MISSES)


def test_looking_at_the_pledge_is_audited_by_the_service(world):
    case = open_case(world)
    services.step_complete(actor=acting(world.staff_a1), case=case, step=Step.DOOR_VISIT, health_form=True,
                           pledge_signed=True, kit_given=True, pledge_photo=photo(), now=OPENED)
    with services.pledge_photo_open(actor=acting(world.grid_worker), case=case) as opened:
        assert opened.read(2) == b"\xff\xd8"  # a JPEG
    [event] = events("isolation_pledge_view")
    assert (event.actor, event.personal, event.detail) == (world.grid_worker, True, {"pledge": "photo"})
    with pytest.raises(PermissionDenied):
        services.pledge_photo_open(actor=acting(world.staff_a2), case=case)
    assert len(events("isolation_pledge_view")) == 1


def test_the_contact_page_and_the_service_share_one_recording_window(world, client):
    """A contact can be recorded from six hours before it is due; the page offers the form exactly
    when the service would accept it."""
    case = open_case(world)
    now = timezone.now()
    soon, later = list(Contact.objects.filter(case=case).order_by("due_at")[:2])
    Contact.objects.filter(pk=soon.pk).update(due_at=now + dt.timedelta(hours=5, minutes=50))
    Contact.objects.filter(pk=later.pk).update(due_at=now + dt.timedelta(hours=6, minutes=10))
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.due_at <= selectors.recordable_until(now) < later.due_at
    as_user(client, world.staff_a1)
    assert b'name="outcome"' in client.get(reverse("isolation:contact", args=[soon.pk])).content
    assert b'name="outcome"' not in client.get(reverse("isolation:contact", args=[later.pk])).content
