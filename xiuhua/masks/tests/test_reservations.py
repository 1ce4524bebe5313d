import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from xiuhua.core.idnumbers import IdType
from xiuhua.core.models import AuditEvent
from xiuhua.masks import codes, services
from xiuhua.masks.models import Channel, PaperFormBook, Reservation, ReservationStatus
from xiuhua.testing import acting

from .fixtures import new_household, reserve, unknown_id


def test_roster_resident_is_queued_for_their_household(world, masks):
    r = reserve(masks, world.resident_a1)
    assert r.status == ReservationStatus.QUEUED
    assert r.household == world.household_a1
    assert r.committee == world.committee_a1
    assert r.pharmacy == masks.pharmacy_a
    assert r.special is True  # elderly_alone
    assert r.id_masked.startswith("310") and r.id_masked.endswith(world.resident_a1.plain_id[-2:])
    assert world.resident_a1.plain_id not in r.id_masked
    assert codes.normalise_reservation_number(r.number) == r.number
    assert reserve(masks, world.resident_a1b).special is False
    assert reserve(masks, world.resident_b1).pharmacy == masks.pharmacy_b


@pytest.mark.parametrize("channel", [Channel.ONLINE, Channel.SMS, Channel.DESK, Channel.PHONE])
def test_every_channel_is_idempotent(world, masks, channel):
    actor = acting(world.staff_a1) if channel in (Channel.DESK, Channel.PHONE) else None
    received = timezone.now() if channel == Channel.SMS else None
    first = reserve(masks, world.resident_a1, channel=channel, actor=actor, received_at=received)
    events = AuditEvent.objects.count()
    again = reserve(masks, world.resident_a1, channel=channel, actor=actor, received_at=received)
    assert again.pk == first.pk and again.number == first.number
    # Another channel for the same person: still the same reservation.
    other = reserve(masks, world.resident_a1, channel=Channel.ONLINE)
    assert other.pk == first.pk
    assert Reservation.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_second_person_of_a_household_is_refused_without_revealing_the_number(world, masks):
    from xiuhua.testing import make_resident

    spouse = make_resident(world.household_a1, "老伴", relation="spouse")
    first = reserve(masks, world.resident_a1)
    with pytest.raises(ValidationError) as exc:
        reserve(masks, spouse)
    assert exc.value.messages == ["本户本轮已有家庭成员预约,如需查询预约号请联系居委会"]
    assert first.number not in exc.value.messages[0]
    assert Reservation.objects.count() == 1


def test_staff_are_told_the_households_reservation_number(world, masks):
    from xiuhua.testing import make_resident

    spouse = make_resident(world.household_a1, "老伴", relation="spouse")
    first = reserve(masks, world.resident_a1)
    with pytest.raises(ValidationError) as exc:
        reserve(masks, spouse, channel=Channel.DESK, actor=acting(world.staff_a1))
    assert exc.value.messages == [f"本户本轮已预约,预约号{first.number}"]
    assert Reservation.objects.count() == 1


def test_unknown_person_goes_to_the_verification_queue(world, masks):
    r = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="国和一村5号201室",
    )
    assert r.status == ReservationStatus.VERIFYING
    assert r.household is None and r.address_text == "国和一村5号201室"
    assert r.pharmacy == masks.pharmacy_a


def test_unknown_person_needs_a_committee_and_an_address(world, masks):
    with pytest.raises(ValidationError) as exc:
        services.reservation_submit(
            actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
            id_number=unknown_id(), phone="13911112222", address_text="某处",
        )
    assert "committee" in exc.value.message_dict
    assert Reservation.objects.count() == 0


def test_verification_keeps_the_original_order(world, masks):
    early = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="6号102室",
    )
    later = reserve(masks, world.resident_a1)
    household = new_household(world, world.building_a1b).household
    household.residents.all().delete()
    verified = services.reservation_verify(actor=acting(world.staff_a1), reservation=early, household=household)
    assert verified.status == ReservationStatus.QUEUED and verified.household == household
    assert verified.order_at == early.order_at < later.order_at
    assert AuditEvent.objects.filter(action="reservation_verify", object_id=early.pk).count() == 1


def test_verification_to_a_household_that_already_reserved_is_refused(world, masks):
    taken = reserve(masks, world.resident_a1)
    pending = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.SMS, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="5号302室",
        received_at=timezone.now(),
    )
    with pytest.raises(ValidationError) as exc:
        services.reservation_verify(actor=acting(world.staff_a1), reservation=pending, household=world.household_a1)
    assert taken.number in exc.value.messages[0]
    pending.refresh_from_db()
    assert pending.status == ReservationStatus.VERIFYING and pending.household is None


def test_reject_needs_a_reason_and_is_audited(world, masks):
    pending = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="查无此址",
    )
    with pytest.raises(ValidationError):
        services.reservation_reject(actor=acting(world.staff_a1), reservation=pending, reason=" ")
    r = services.reservation_reject(actor=acting(world.staff_a1), reservation=pending, reason="物业无此住户")
    assert r.status == ReservationStatus.REJECTED and r.status_reason == "物业无此住户"
    with pytest.raises(ValidationError):
        services.reservation_reject(actor=acting(world.staff_a1), reservation=pending, reason="再次")


@pytest.mark.parametrize("user", ["staff_a2", "staff_b1", "street_officer", "pharmacy_clerk", "volunteer", "no_role"])
def test_verify_by_anyone_but_the_committee_is_denied_and_writes_nothing(world, masks, user):
    pending = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="6号",
    )
    events = AuditEvent.objects.count()
    with pytest.raises((PermissionDenied, Reservation.DoesNotExist)):
        services.reservation_verify(
            actor=acting(getattr(world, user)), reservation=pending, household=world.household_a1b
        )
    with pytest.raises((PermissionDenied, Reservation.DoesNotExist)):
        services.reservation_reject(actor=acting(getattr(world, user)), reservation=pending, reason="x")
    pending.refresh_from_db()
    assert pending.status == ReservationStatus.VERIFYING
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("user", ["volunteer", "pharmacy_clerk", "grid_worker", "no_role", "staff_b1"])
def test_desk_entry_needs_committee_staff_of_that_committee(world, masks, user):
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        reserve(masks, world.resident_a1, channel=Channel.DESK, actor=acting(getattr(world, user)))
    assert Reservation.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_desk_staff_may_match_a_newcomer_to_a_household(world, masks):
    r = services.reservation_submit(
        actor=acting(world.staff_a1), round=masks.round, channel=Channel.DESK, name="新租客",
        id_type=IdType.PASSPORT, id_number="E1234567", phone="", household=world.household_a1b,
    )
    assert r.status == ReservationStatus.QUEUED and r.household == world.household_a1b


def test_bad_identity_number_is_refused_in_chinese(world, masks):
    number = world.resident_a1.plain_id
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        services.reservation_submit(
            actor=None, round=masks.round, channel=Channel.ONLINE, name="张秀英", id_type=IdType.RESIDENT_ID,
            id_number=wrong, phone="13812345678",
        )
    assert "校验位" in exc.value.message_dict["id_number"][0]
    assert Reservation.objects.count() == 0


def test_full_width_identity_number_is_accepted(world, masks):
    full = "".join(chr(ord(c) + 0xFEE0) for c in world.resident_a1.plain_id)
    r = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.SMS, name="张秀英", id_type=IdType.RESIDENT_ID,
        id_number=full, phone="13812345678", received_at=timezone.now(), committee=world.committee_a1,
    )
    assert r.household == world.household_a1


def test_closed_and_not_yet_open_rounds_refuse(world, masks):
    officer = acting(world.district_officer)
    with pytest.raises(ValidationError) as exc:
        reserve(masks, world.resident_a1, channel=Channel.SMS, received_at=masks.round.opens_at - dt.timedelta(1))
    assert "尚未开始" in exc.value.messages[0]
    sms_before_close = timezone.now() - dt.timedelta(minutes=1)
    services.round_close(actor=officer, round=masks.round)
    with pytest.raises(ValidationError) as exc:
        reserve(masks, world.resident_a1)
    assert "已截止" in exc.value.messages[0]
    assert Reservation.objects.count() == 0
    # An SMS the provider received before the close still counts, in its place.
    r = reserve(masks, world.resident_a1, channel=Channel.SMS, received_at=sms_before_close)
    assert r.order_at == sms_before_close


def test_sms_is_ordered_by_the_providers_receive_time(world, masks):
    now = timezone.now()
    late_sms = reserve(masks, world.resident_a1, channel=Channel.SMS, received_at=now - dt.timedelta(minutes=5))
    online = reserve(masks, world.resident_a1b, now=now - dt.timedelta(minutes=1))
    assert late_sms.order_at < online.order_at


def _book(world, masks, first, last, minutes_ago=30):
    return services.paper_book_create(
        actor=acting(world.staff_a1), round=masks.round, committee=world.committee_a1, first_serial=first,
        last_serial=last, handed_out_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


def test_paper_serial_fixes_the_order_not_the_drop_off_time(world, masks):
    book = _book(world, masks, 1000, 1999)
    residents = [new_household(world, name=f"纸质{i}") for i in range(3)]
    staff = acting(world.staff_a1)
    # Dropped off in the order 1500, 1002, 1001.
    r1500 = reserve(masks, residents[0], channel=Channel.DESK, actor=staff, paper_serial="1500")
    r1002 = reserve(masks, residents[1], channel=Channel.DESK, actor=staff, paper_serial="1002")
    r1001 = reserve(masks, residents[2], channel=Channel.DESK, actor=staff, paper_serial="1001")
    assert r1001.order_at < r1002.order_at < r1500.order_at
    assert r1001.order_at == book.handed_out_at + dt.timedelta(microseconds=1)
    assert r1500.order_at == book.handed_out_at + dt.timedelta(microseconds=500)
    # Every paper form was handed out before this online reservation was made.
    assert r1500.order_at < reserve(masks, world.resident_a1).order_at


def test_paper_serial_outside_a_book_or_used_twice_is_refused(world, masks):
    _book(world, masks, 1, 50)
    staff = acting(world.staff_a1)
    a, b = new_household(world), new_household(world)
    with pytest.raises(ValidationError) as exc:
        reserve(masks, a, channel=Channel.DESK, actor=staff, paper_serial="51")
    assert "不在" in exc.value.messages[0]
    first = reserve(masks, a, channel=Channel.DESK, actor=staff, paper_serial="7")
    assert reserve(masks, a, channel=Channel.DESK, actor=staff, paper_serial="7").pk == first.pk
    with pytest.raises(ValidationError) as exc:
        reserve(masks, b, channel=Channel.DESK, actor=staff, paper_serial="7")
    assert "已使用" in exc.value.messages[0]
    assert Reservation.objects.count() == 1


def test_paper_books_must_not_overlap(world, masks):
    _book(world, masks, 1, 50)
    with pytest.raises(ValidationError):
        _book(world, masks, 50, 60)
    assert PaperFormBook.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.paper_book_create(
            actor=acting(world.staff_b1), round=masks.round, committee=world.committee_a1, first_serial=100,
            last_serial=200,
        )


@pytest.mark.postgres
def test_one_statement_path_writes_what_the_general_path_writes(world, masks):
    """A roster resident's own reservation is one SQL statement on PostgreSQL; its rows (the
    reservation and the audit event) are the general path's, field for field."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from xiuhua.masks.services.reservations import _submit, reservation_submit_resident

    officer = acting(world.district_officer)
    at = timezone.now()
    other_round = services.round_create(  # a second round of the district, for the general path
        actor=officer, scope=world.district, name="第2轮",
        opens_at=masks.round.opens_at, closes_at=masks.round.closes_at,
    )
    services.round_open(actor=officer, round=other_round)
    resident = world.resident_a1
    common = dict(
        phone="13900001234", name=resident.name, id_type=IdType.RESIDENT_ID, id_number=resident.plain_id, now=at
    )
    for channel, received in ((Channel.ONLINE, None), (Channel.SMS, at - dt.timedelta(seconds=3))):
        with CaptureQueriesContext(connection) as queries:
            fast = reservation_submit_resident(
                round=masks.round, channel=channel, committee=world.committee_a1, received_at=received, **common
            )
        assert len(queries) == 1 and fast.created and fast.own
        general, created = _submit(
            actor=None, round=other_round, channel=channel, received_at=received, per_phone_limit=True,
            committee=world.committee_a1, **common,
        )
        assert created

        def row(r):
            values = Reservation.objects.filter(pk=r.pk).values().get()
            return {k: v for k, v in values.items() if k not in ("id", "round_id", "number", "created_at")}

        assert row(fast.reservation) == row(general)
        assert fast.reservation.phone_slot == 1 and fast.reservation.special is True

        def event(r):
            e = AuditEvent.objects.filter(object_id=r.pk, action="reservation_submit").values().get()
            return {k: v for k, v in e.items() if k not in ("id", "at", "object_id", "subject_label")}

        assert event(fast.reservation) == event(general)
        # Both rounds are done for this person; the next channel starts afresh.
        Reservation.objects.filter(pk__in=[fast.reservation.pk, general.pk]).update(
            status=ReservationStatus.CANCELLED
        )


# --- a resident's own channel: the number alone proves nothing ------------------------------


def _resident_entry(world, masks, *, name, id_number, phone="13900007777", committee=None, address_text=""):
    from xiuhua.masks.services.reservations import reservation_submit_resident

    return reservation_submit_resident(
        round=masks.round, phone=phone, channel=Channel.ONLINE, name=name, id_type=IdType.RESIDENT_ID,
        id_number=id_number, committee=committee or world.committee_a1, address_text=address_text,
    )


@pytest.mark.parametrize("typed", ["张 秀英", "张·秀英", "张・秀英", "张•秀英", "ＺＨＡＮＧ秀英"])
def test_name_is_compared_without_spaces_dots_width_or_case(world, masks, typed):
    from xiuhua.testing import make_resident

    if typed.startswith("Ｚ"):  # a Latin name on the roster, typed in full-width capitals
        resident = make_resident(new_household(world).household, "Zhang秀英")
    else:
        resident = world.resident_a1
    outcome = _resident_entry(world, masks, name=typed, id_number=resident.plain_id)
    assert outcome.reservation.status == ReservationStatus.QUEUED
    assert outcome.reservation.household == resident.household


def test_wrong_name_or_committee_waits_like_a_number_not_on_the_roster_and_takes_no_place(world, masks):
    victim = world.resident_a1
    wrong_name = _resident_entry(world, masks, name="王小明", id_number=victim.plain_id, phone="13900007771",
                                 address_text="国和一村5号302室")
    wrong_committee = _resident_entry(world, masks, name=victim.name, id_number=victim.plain_id, phone="13900007772",
                                      committee=world.committee_a2, address_text="国和二村12号201室")
    for outcome, committee in ((wrong_name, world.committee_a1), (wrong_committee, world.committee_a2)):
        r = outcome.reservation
        assert (r.status, r.household, r.resident, r.committee) == (ReservationStatus.VERIFYING, None, None, committee)
    # The same phone again: the same entry; the person's own place is still free.
    again = _resident_entry(world, masks, name="王小明", id_number=victim.plain_id, phone="13900007771",
                            address_text="国和一村5号302室")
    assert again.reservation.pk == wrong_name.reservation.pk and not again.created
    own = _resident_entry(world, masks, name=victim.name, id_number=victim.plain_id, phone=victim.mobile)
    assert own.created and own.reservation.status == ReservationStatus.QUEUED
    assert own.reservation.household == world.household_a1
    # Staff cannot verify the impostor's entry into a place the person holds now.
    with pytest.raises(ValidationError) as exc:
        services.reservation_verify(actor=acting(world.staff_a1), reservation=wrong_name.reservation,
                                    household=world.household_a1b)
    assert exc.value.messages == ["此证件号码本轮已有预约,此登记不能再核实通过"]


def test_entries_waiting_for_the_same_number_from_two_phones_are_two_entries(world, masks):
    number = unknown_id()
    first = _resident_entry(world, masks, name="陈新", id_number=number, phone="13900007771", address_text="6号")
    second = _resident_entry(world, masks, name="陈新", id_number=number, phone="13900007772", address_text="6号")
    assert first.reservation.pk != second.reservation.pk and second.own
    # Once staff place one of them, its phone gets the place back instead of a new entry.
    services.reservation_verify(actor=acting(world.staff_a1), reservation=first.reservation,
                                household=new_household(world, world.building_a1b).household)
    again = _resident_entry(world, masks, name="陈新", id_number=number, phone="13900007771", address_text="6号")
    assert again.reservation.pk == first.reservation.pk and again.reservation.status == ReservationStatus.QUEUED


@pytest.mark.postgres
def test_one_statement_path_takes_only_the_rosters_name_and_committee(world, masks):
    from xiuhua.masks.services.reservations import reservation_submit_one_statement

    victim = world.resident_a1
    common = dict(round_id=masks.round.pk, phone="13900007777", channel=Channel.ONLINE, id_type=IdType.RESIDENT_ID,
                  id_number=victim.plain_id)
    assert reservation_submit_one_statement(committee_code=world.committee_a1.code, name="王小明", **common) is None
    assert reservation_submit_one_statement(committee_code=world.committee_a2.code, name=victim.name, **common) is None
    assert not Reservation.objects.exists()
    made = reservation_submit_one_statement(committee_code=world.committee_a1.code, name="张 秀英", **common)
    assert made is not None and made.household_id == world.household_a1.pk


@pytest.mark.postgres
def test_one_statement_path_declines_once_the_phone_has_used_its_lookups(world, masks):
    from xiuhua.core.lookups import lookup_counters
    from xiuhua.core.models import RateCounter
    from xiuhua.masks.services.reservations import reservation_submit_one_statement

    victim = world.resident_a1
    common = dict(round_id=masks.round.pk, committee_code=world.committee_a1.code, phone="13900007777",
                  channel=Channel.ONLINE, name=victim.name, id_type=IdType.RESIDENT_ID, id_number=victim.plain_id,
                  client_ip="203.0.113.9")
    phone_counter = lookup_counters(phone="13900007777")[0]
    RateCounter.objects.create(key=phone_counter.key, window_start=phone_counter.window_start,
                               count=phone_counter.rule.limit)
    assert reservation_submit_one_statement(**common) is None
    RateCounter.objects.all().delete()
    client_counter = lookup_counters(client_ip="203.0.113.9")[0]
    RateCounter.objects.create(key=client_counter.key, window_start=client_counter.window_start,
                               count=client_counter.rule.limit)
    assert reservation_submit_one_statement(**common) is None
    RateCounter.objects.filter(key=client_counter.key).update(count=client_counter.rule.limit - 1)
    assert reservation_submit_one_statement(**common) is not None


def test_reservation_numbers_use_the_whole_alphabet_in_every_position():
    numbers = [codes.new_reservation_number(12) for _ in range(3000)]
    assert all(n.startswith("12-") and codes.normalise_reservation_number(n) == n for n in numbers)
    for position in range(3, 10):  # seven random characters: each takes every letter of the 32
        assert {n[position] for n in numbers} == set(codes.ALPHABET)
    assert len(set(numbers)) == len(numbers)
