"""Arrivals, cases, the five steps, the contact schedule, the overdue list and alerts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.isolation import selectors, services
from xiuhua.isolation.models import (
    Alert,
    AlertKind,
    Arrival,
    CaseStatus,
    CaseStep,
    Contact,
    ContactOutcome,
    IsolationRule,
    Step,
)
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db

TZ = timezone.get_fixed_timezone(8 * 60)
OPENED = dt.datetime(2020, 2, 10, 11, 30, tzinfo=TZ)  # arrived on the 10th, case opened at 11:30


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2020, 2, day, hour, minute, tzinfo=TZ)


def register(w, *, actor=None, number=None, **extra):
    data = dict(
        household=w.household_a1, name="周来沪", id_type="resident_id",
        id_number=number or make_resident_id("420102", dt.date(1985, 4, 2), 321), phone="13911112222",
        origin_text="湖北省武汉市", transport="train", transport_number="g1722", arrival_date=dt.date(2020, 2, 10),
        now=OPENED,
    ) | extra
    return services.arrival_register(actor=acting(actor or w.staff_a1), **data)


def open_case(w, **extra):
    arrival = register(w)
    return services.case_open(actor=acting(w.staff_a1), arrival=arrival, now=OPENED, **extra)


def test_arrival_is_registered_once_and_audited(world):
    first = register(world)
    again = register(world)
    assert again.pk == first.pk and Arrival.objects.count() == 1
    assert (first.committee, first.transport_number, first.id_masked[:3]) == (world.committee_a1, "G1722", "420")
    assert "1985" not in first.id_masked and first.id_encrypted
    assert AuditEvent.objects.filter(action="arrival_register").count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id_number": "420102198504023210"}, "id_number"),
        ({"phone": "12345"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"transport": "boat"}, "transport"),
        ({"arrival_date": dt.date(2020, 2, 11)}, "arrival_date"),
        ({"origin_text": ""}, "origin_text"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_arrival_input_is_refused_and_writes_nothing(world, change, field):
    with pytest.raises(ValidationError) as caught:
        register(world, **change)
    assert field in caught.value.message_dict
    assert not Arrival.objects.exists()


def test_only_staff_of_the_households_committee_register(world):
    for user in (world.staff_a2, world.grid_worker, world.street_officer):
        with pytest.raises(PermissionDenied):
            register(world, actor=user)
    assert not Arrival.objects.exists()


def self_register(w, *, phone, day=dt.date(2020, 2, 10), household=None, **extra):
    data = dict(
        household=household or w.household_a1, name="周来沪", id_type="resident_id",
        id_number=make_resident_id("420102", dt.date(1985, 4, 2), 321), phone=phone, origin_text="湖北省武汉市",
        transport="train", arrival_date=day, now=OPENED,
    ) | extra
    return services.arrival_register(actor=None, channel="self", **data)


def test_registrations_from_phones_wait_and_never_block_the_person_or_staff(world):
    typed_by_someone = self_register(world, phone="13900007777", day=dt.date(2020, 2, 9))  # a wrong day
    same_day_other_phone = self_register(world, phone="13900008888")
    own = self_register(world, phone="13955556666")
    assert len({typed_by_someone.pk, same_day_other_phone.pk, own.pk}) == 3
    assert {a.status for a in (typed_by_someone, same_day_other_phone, own)} == {"awaiting"}
    assert self_register(world, phone="13955556666").pk == own.pk  # the same phone again: the same one
    by_staff = register(world)  # staff register the person too: not blocked either
    assert by_staff.status == "accepted" and by_staff.pk not in {own.pk, same_day_other_phone.pk}
    assert AuditEvent.objects.filter(action="arrival_register").count() == 4


def test_staff_accept_one_registration_and_merge_or_reject_the_others(world):
    staff = acting(world.staff_a1)
    wrong_day = self_register(world, phone="13900007777", day=dt.date(2020, 2, 9))
    own = self_register(world, phone="13955556666")
    duplicate = self_register(world, phone="13900008888")
    # Side by side: each waiting one with the other registrations of the number staff can see.
    waiting = list(selectors.arrivals_awaiting_case(staff))
    beside = selectors.same_number_arrivals(staff, waiting)
    assert [a.pk for a in beside[own.pk]] == [wrong_day.pk, duplicate.pk]
    assert selectors.same_number_arrivals(acting(world.staff_b1), waiting) == {
        own.pk: [], wrong_day.pk: [], duplicate.pk: [],  # nothing from outside the caller's scope
    }

    with pytest.raises(ValidationError):
        services.arrival_reject(actor=staff, arrival=wrong_day, reason=" ")
    rejected = services.arrival_reject(actor=staff, arrival=wrong_day, reason="非本人登记")
    assert (rejected.status, rejected.status_reason) == ("rejected", "非本人登记")
    case = services.case_open(actor=staff, arrival=own, now=OPENED)
    assert Arrival.objects.get(pk=own.pk).status == "accepted"
    # A second registration of the same person and day cannot be accepted too; it is merged.
    with pytest.raises(ValidationError) as exc:
        services.case_open(actor=staff, arrival=duplicate, now=OPENED)
    assert "已有核实过的抵沪登记" in exc.value.messages[0]
    merged = services.arrival_merge(actor=staff, arrival=duplicate, into=case.arrival)
    assert (merged.status, merged.merged_into_id) == ("merged", own.pk)
    assert list(selectors.arrivals_awaiting_case(staff)) == []
    for arrival in (rejected, merged):
        with pytest.raises(ValidationError):
            services.case_open(actor=staff, arrival=arrival, now=OPENED)
    actions = list(AuditEvent.objects.filter(action__startswith="arrival_").values_list("action", flat=True))
    assert {"arrival_reject", "arrival_accept", "arrival_merge"} <= set(actions)


def test_only_the_committee_merges_or_rejects_and_only_into_the_same_number(world):
    waiting = self_register(world, phone="13955556666")
    other = self_register(world, phone="13900007777", id_number=make_resident_id("420102", dt.date(1990, 1, 1), 11))
    for user in (world.staff_a2, world.grid_worker, world.street_officer):
        with pytest.raises(PermissionDenied):
            services.arrival_reject(actor=acting(user), arrival=waiting, reason="x")
    with pytest.raises(ValidationError):
        services.arrival_merge(actor=acting(world.staff_a1), arrival=waiting, into=other)
    with pytest.raises(ValidationError):
        services.arrival_merge(actor=acting(world.staff_a1), arrival=waiting, into=waiting)
    assert set(Arrival.objects.values_list("status", flat=True)) == {"awaiting"}


def test_case_opens_with_the_rule_the_steps_and_the_contact_schedule(world):
    case = open_case(world)
    assert (case.starts_on, case.ends_on, case.status) == (dt.date(2020, 2, 10), dt.date(2020, 2, 24), "open")
    assert list(CaseStep.objects.filter(case=case).values_list("step", flat=True).order_by("pk")) == [
        "verify", "disinfect", "door_visit", "garbage", "contacts",
    ]
    dues = [timezone.localtime(c.due_at, TZ) for c in Contact.objects.filter(case=case)]
    # 09:00 on the 10th has passed when the case opens at 11:30; then twice a day to the 23rd.
    assert dues[0] == at(10, 16) and dues[1] == at(11, 9) and dues[-1] == at(23, 16)
    assert len(dues) == 27
    assert services.case_open(actor=acting(world.staff_a1), arrival=case.arrival, now=OPENED).pk == case.pk


def test_a_changed_rule_applies_to_cases_opened_after_it(world):
    IsolationRule.objects.create(effective_from=dt.date(2020, 2, 1), period_days=7, contact_times="08:00, 20:00")
    case = open_case(world)
    assert case.ends_on == dt.date(2020, 2, 17)
    dues = [timezone.localtime(c.due_at, TZ) for c in Contact.objects.filter(case=case)]
    assert dues[0] == at(10, 20) and dues[-1] == at(16, 20) and len(dues) == 13


def photo():
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (3000, 1000), "white").save(buffer, format="PNG")
    return SimpleUploadedFile("pledge.png", buffer.getvalue(), content_type="image/png")


def test_door_visit_needs_form_pledge_and_kit(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    with pytest.raises(ValidationError):
        services.step_complete(actor=staff, case=case, step=Step.DOOR_VISIT, health_form=True, kit_given=True)
    with pytest.raises(ValidationError) as caught:  # ticked, but no photo of the pledge
        services.step_complete(actor=staff, case=case, step=Step.DOOR_VISIT, health_form=True, pledge_signed=True,
                               kit_given=True)
    assert caught.value.message_dict == {"pledge_photo": ["请拍下签好的隔离承诺书上传,或请本人在屏幕上签名"]}
    step = services.step_complete(
        actor=staff, case=case, step=Step.DOOR_VISIT, health_form=True, pledge_signed=True, kit_given=True,
        pledge_photo=photo(), note="居委、民警、社区卫生服务中心三人上门", now=at(10, 14),
    )
    assert step.pledge_photo.name.startswith("pledges/") and step.pledge_photo.name.endswith(".jpg")
    assert (step.done_by, step.done_at) == (world.staff_a1, at(10, 14))


def test_overdue_list_and_recording_a_contact(world):
    open_case(world)
    grid = acting(world.grid_worker)  # the household is in the grid worker's grid
    overdue = selectors.overdue_contacts(grid, now=at(11, 10))
    assert [timezone.localtime(c.due_at, TZ) for c in overdue] == [at(10, 16), at(11, 9)]
    assert not selectors.overdue_contacts(acting(world.staff_a2), now=at(11, 10)).exists()
    first = overdue[0]
    services.contact_record(
        actor=grid, contact=first, outcome=ContactOutcome.WELL, temperature="36.6", now=at(11, 10)
    )
    assert [timezone.localtime(c.due_at, TZ) for c in selectors.overdue_contacts(grid, now=at(11, 10))] == [at(11, 9)]
    first.refresh_from_db()
    assert (first.temperature, first.recorded_by) == (Decimal("36.6"), world.grid_worker)
    assert not Alert.objects.exists()


def test_one_reading_with_fever_and_cough_raises_one_alert_listing_both_closed_once(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    contacts = list(Contact.objects.filter(case=case))
    services.contact_record(actor=staff, contact=contacts[0], outcome=ContactOutcome.UNWELL, temperature="37.8",
                            symptoms="咳嗽", now=at(10, 16, 5))
    [alert] = Alert.objects.all()
    assert (alert.kind, alert.reasons, alert.reasons_text) == (AlertKind.FEVER, ["fever", "symptoms"], "发热、出现症状")
    [raised] = AuditEvent.objects.filter(action="isolation_alert_raise")
    assert raised.detail["reasons"] == ["fever", "symptoms"] and raised.subject_label == "发热、出现症状"
    services.alert_handle(actor=staff, alert=alert, note="社区医生上门", now=at(10, 17))
    assert not selectors.open_alerts(staff).exists()
    assert AuditEvent.objects.filter(action="isolation_alert_handle").count() == 1
    # The sweep or the same contact checked again raises nothing new.
    services._raise_alerts(Contact.objects.get(pk=contacts[0].pk), at(10, 18))
    assert Alert.objects.count() == 1 and not selectors.open_alerts(staff).exists()
    with pytest.raises(ValidationError):
        services.contact_record(actor=staff, contact=contacts[1], outcome=ContactOutcome.UNWELL, now=at(11, 9))
    with pytest.raises(ValidationError):
        services.contact_record(actor=staff, contact=contacts[1], outcome=ContactOutcome.WELL, temperature="3.65",
                                now=at(11, 9))


def test_two_misses_in_a_row_raise_one_alert(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    contacts = list(Contact.objects.filter(case=case))
    services.contact_record(actor=staff, contact=contacts[0], outcome=ContactOutcome.NOT_REACHED, now=at(10, 16, 5))
    assert not Alert.objects.exists()
    # The 09:00 contact of the 11th is never recorded: the sweep after its 2-hour grace marks it.
    assert services.contacts_sweep(now=at(11, 10, 59)) == 0
    assert services.contacts_sweep(now=at(11, 11, 1)) == 1
    missed = Contact.objects.get(pk=contacts[1].pk)
    assert missed.outcome == ContactOutcome.MISSED
    assert list(Alert.objects.values_list("kind", "contact_id")) == [(AlertKind.MISSES, missed.pk)]
    assert services.contacts_sweep(now=at(11, 11, 30)) == 0 and Alert.objects.count() == 1


def test_sweep_command(world):
    open_case(world)
    call_command("isolation_sweep")  # now is long after February 2020: every contact is missed
    assert not Contact.objects.filter(outcome="").exists()
    assert Alert.objects.filter(kind=AlertKind.MISSES).count() == Contact.objects.count() - 1


def test_release_on_the_end_day_extend_and_transfer(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    with pytest.raises(ValidationError):
        services.case_close(actor=staff, case=case, status=CaseStatus.RELEASED, now=at(20, 10))
    services.case_extend(actor=staff, case=case, days=2, note="同住人出现症状", now=at(20, 10))
    case.refresh_from_db()
    assert case.ends_on == dt.date(2020, 2, 26)
    assert timezone.localtime(Contact.objects.filter(case=case).last().due_at, TZ) == at(25, 16)
    with pytest.raises(ValidationError):
        services.case_close(actor=staff, case=case, status=CaseStatus.HOSPITAL, now=at(21, 10))
    services.case_close(actor=staff, case=case, status=CaseStatus.HOSPITAL, note="120送市公卫中心", now=at(21, 10))
    assert not Contact.objects.filter(case=case, due_at__gt=at(21, 10)).exists()
    assert not selectors.overdue_contacts(staff, now=at(22, 10)).exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="isolation_case").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["isolation_case_open", "isolation_case_extend", "isolation_case_close"]


def test_health_centre_follows_alerts_and_records_contacts_of_its_street(world):
    from xiuhua.accounts.roles import Role
    from xiuhua.testing import make_user

    centre = acting(make_user("health_a", Role.HEALTH_CENTRE, world.street_a))
    other = acting(make_user("health_b", Role.HEALTH_CENTRE, world.street_b))
    case = open_case(world)
    first = Contact.objects.filter(case=case).first()
    services.contact_record(actor=centre, contact=first, outcome=ContactOutcome.UNWELL, temperature="38.2",
                            now=at(10, 16, 30))
    assert [a.kind for a in selectors.open_alerts(centre)] == [AlertKind.FEVER]
    assert not selectors.open_alerts(other).exists()
    with pytest.raises(PermissionDenied):
        services.contact_record(actor=other, contact=Contact.objects.filter(case=case)[1],
                                outcome=ContactOutcome.WELL, now=at(11, 9))
    with pytest.raises(PermissionDenied):
        register(world, actor=centre)


def test_same_person_same_day_in_another_committee_is_refused(world):
    register(world)
    with pytest.raises(ValidationError) as caught:
        register(world, actor=world.staff_a2, household=world.household_a2)
    assert caught.value.message_dict == {"id_number": ["此人当天的抵沪登记已在其他居委会,请与街道核实"]}
    assert Arrival.objects.count() == 1


def test_unwell_without_fever_or_symptoms_still_alerts_and_alerts_are_handled(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    first = Contact.objects.filter(case=case).first()
    services.contact_record(actor=staff, contact=first, outcome=ContactOutcome.UNWELL, temperature="36.9",
                            now=at(10, 16, 5))
    [alert] = Alert.objects.all()
    assert alert.kind == AlertKind.SYMPTOMS
    with pytest.raises(ValidationError):
        services.alert_handle(actor=staff, alert=alert, note=" ")
    with pytest.raises(PermissionDenied):
        services.alert_handle(actor=acting(world.staff_a2), alert=alert, note="电话回访")
    services.alert_handle(actor=staff, alert=alert, note="电话回访,社区医生上门", now=at(10, 17))
    alert.refresh_from_db()
    assert (alert.handled_at, alert.handled_by) == (at(10, 17), world.staff_a1)
    assert not selectors.open_alerts(staff).exists()


def test_alerts_are_texted_to_the_committee_and_the_health_centre_naming_no_one(world):
    from xiuhua.accounts.models import User
    from xiuhua.accounts.roles import Role
    from xiuhua.sms.models import OutboundSms
    from xiuhua.testing import make_user

    centre = make_user("health_a", Role.HEALTH_CENTRE, world.street_a)
    other_street = make_user("health_b", Role.HEALTH_CENTRE, world.street_b)
    for user, mobile in ((world.staff_a1, "13900000001"), (centre, "13900000002"), (other_street, "13900000003"),
                         (world.staff_a2, "13900000004")):
        User.objects.filter(pk=user.pk).update(mobile=mobile)
    case = open_case(world)
    contact = Contact.objects.filter(case=case).first()
    services.contact_record(actor=acting(world.staff_a1), contact=contact, outcome=ContactOutcome.UNWELL,
                            temperature="38.4", symptoms="咳嗽", now=at(10, 16, 5))
    sent = list(OutboundSms.objects.filter(template="XH_ISOLATION_ALERT").order_by("phone", "pk").values_list(
        "phone", "text"))
    # One alert (fever and symptoms), to committee A1's staff and street A's health centre only.
    assert [phone for phone, _text in sent] == ["13900000001", "13900000002"]
    committee = world.committee_a1.name
    assert {text for _phone, text in sent} == {
        f"【绣花针】居家隔离预警:{committee}第{case.pk}号隔离对象发热、出现症状,请尽快处置。",
    }
    assert all(case.arrival.name not in text for _phone, text in sent)
    # Recording the same contact's alerts again sends nothing new.
    services._raise_alerts(Contact.objects.get(pk=contact.pk), at(10, 16, 30))
    assert OutboundSms.objects.filter(template="XH_ISOLATION_ALERT").count() == 2
