"""An attacker with a phone of their own against the resident pages and APIs (security review,
findings 2 and 4, and the JSON depth part of 8).

Masks: an SMS code on any phone must not let someone reserve on another person's household by
typing that person's identity number, nor tell "on the roster" from "not on the roster"; the
pharmacy must see the whole document, not its last four characters. Arrivals: a registration from
a phone must not say what exists for an identity number elsewhere, nor block the real person.
"""

import datetime as dt
import json
import re
import uuid

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.core.lookups import LIMITS
from xiuhua.isolation import services as isolation_services
from xiuhua.isolation.models import Arrival
from xiuhua.masks import phone_tokens
from xiuhua.masks import services as mask_services
from xiuhua.masks.models import Reservation, ReservationStatus, Voucher, VoucherStatus
from xiuhua.masks.tests.fixtures import build_masks, unknown_id
from xiuhua.sms.models import OutboundSms
from xiuhua.sms.services import inbound_receive
from xiuhua.testing import acting, as_user

pytestmark = pytest.mark.django_db

API = "/masks/api/reservations"
ATTACKER = "13900007777"
ATTACKER_IP = "203.0.113.9"


@pytest.fixture
def masks(world):
    return build_masks(world)


def api_post(client, phone, data, ip=ATTACKER_IP):
    body = data if isinstance(data, bytes) else json.dumps(data)
    return client.post(API, body, content_type="application/json",
                       headers={"Authorization": f"Bearer {phone_tokens.issue(phone)}"}, REMOTE_ADDR=ip)


def victim_address(world):
    return {"compound": world.compound_a1.pk, "building": "5号楼", "room": "302"}


def reservation_body(world, masks, *, name, id_number, committee=None, **extra):
    return {"round": masks.round.pk, "committee": (committee or world.committee_a1).code, "name": name,
            "id_type": IdType.RESIDENT_ID, "id_number": id_number} | extra


def same_answer(responses):
    first = responses[0]
    for other in responses[1:]:
        assert other.status_code == first.status_code
        assert other.content == first.content
        assert dict(other.headers) == dict(first.headers)


# --- masks: the resident API ---------------------------------------------------------------


def test_another_phone_cannot_take_a_households_place_nor_tell_roster_from_not(client, world, masks):
    victim = world.resident_a1  # 张秀英, 国和一村 5号 302, committee A1
    wrong_name = reservation_body(world, masks, name="王小明", id_number=victim.plain_id, **victim_address(world))
    unknown = reservation_body(world, masks, name="王小明", id_number=unknown_id(), **victim_address(world))
    wrong_committee = reservation_body(
        world, masks, name=victim.name, id_number=victim.plain_id, committee=world.committee_a2,
        compound=world.compound_a2.pk, building="12号", room="201",
    )
    # One phone per attempt: each phone may hold two entries a round.
    answers = [api_post(client, phone, data) for phone, data in
               (("13900007771", wrong_name), ("13900007772", unknown), ("13900007773", wrong_committee))]
    assert answers[0].status_code == 202, answers[0].content.decode()
    same_answer(answers)
    assert "核实" in answers[0].json()["detail"]
    assert victim.plain_id[-4:] not in answers[0].content.decode()

    # Nothing took the victim's place: they reserve as usual from their own phone.
    own = api_post(client, victim.mobile, reservation_body(world, masks, name=victim.name,
                                                           id_number=victim.plain_id), ip="198.51.100.7")
    assert own.status_code == 201, own.content.decode()
    placed = Reservation.objects.get(number=own.json()["number"])
    assert (placed.status, placed.household, placed.phone) == (ReservationStatus.QUEUED, world.household_a1,
                                                               victim.mobile)

    # The attacker's attempts wait in the committees' verification queues, holding no household.
    waiting = Reservation.objects.filter(phone__in=["13900007771", "13900007772", "13900007773"])
    assert {(r.status, r.household_id) for r in waiting} == {(ReservationStatus.VERIFYING, None)}
    queue = as_user(Client(), world.staff_a1).get(reverse("masks:staff_verify_queue", args=[masks.round.pk]))
    assert waiting.get(phone="13900007771").number in queue.content.decode()


def test_without_an_address_a_wrong_name_is_asked_for_one_like_an_unknown_number(client, world, masks):
    victim = world.resident_a1
    wrong_name = api_post(client, "13900007771",
                          reservation_body(world, masks, name="王小明", id_number=victim.plain_id))
    unknown = api_post(client, "13900007772", reservation_body(world, masks, name="王小明", id_number=unknown_id()))
    wrong_committee = api_post(client, "13900007773", reservation_body(
        world, masks, name=victim.name, id_number=victim.plain_id, committee=world.committee_a2))
    assert unknown.status_code == 422
    same_answer([wrong_name, unknown, wrong_committee])
    assert not Reservation.objects.exists()


def test_resident_api_probes_are_rate_limited_per_phone_and_no_answer_leaks_after(client, world, masks):
    victim = world.resident_a1
    answers = [api_post(client, ATTACKER, reservation_body(world, masks, name="王小明", id_number=unknown_id()))
               for _ in range(41)]
    assert {a.status_code for a in answers[:40]} == {422}
    refused = answers[40]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "查询过于频繁" in refused.json()["detail"]
    # Even the right name and number now get the same refusal: the phone cannot go on probing.
    right = api_post(client, ATTACKER, reservation_body(world, masks, name=victim.name, id_number=victim.plain_id))
    assert right.status_code == 429 and right.content == refused.content
    assert not Reservation.objects.exists()
    # Another phone from another address is not affected.
    other = api_post(client, victim.mobile, reservation_body(world, masks, name=victim.name,
                                                             id_number=victim.plain_id), ip="198.51.100.7")
    assert other.status_code == 201


def test_resident_api_probes_are_rate_limited_per_client_address(client, world, masks):
    per_phone = next(r.limit for r in LIMITS if r.scope == "actor" and r.window == 600)
    per_address = next(r.limit for r in LIMITS if r.scope == "client" and r.window == 600)
    phones = -(-per_address // per_phone)  # phones, each within its own limit, that fill one address's
    sent = 0
    for i in range(phones):
        for _ in range(min(per_phone, per_address - sent)):
            answer = api_post(client, f"139{i:08d}",
                              reservation_body(world, masks, name="王小明", id_number=unknown_id()))
            assert answer.status_code == 422
            sent += 1
    assert sent == per_address
    refused = api_post(client, "13800008009", reservation_body(world, masks, name="王小明", id_number=unknown_id()))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_deeply_nested_json_is_a_clear_400(client, world, masks):
    response = api_post(client, ATTACKER, b"[" * 4096)
    assert response.status_code == 400
    assert response.json() == {"detail": "请求体嵌套层数过多"}
    assert not Reservation.objects.exists()


# --- masks: the online form and SMS ----------------------------------------------------------


def _login_mask_phone(world, phone, ip):
    client = Client(REMOTE_ADDR=ip)
    page = {"code": world.committee_a1.code}
    assert client.post(reverse("masks:public_otp_send", kwargs=page), {"phone": phone}).status_code == 302
    code = OutboundSms.objects.filter(phone=phone, purpose__startswith="otp").latest("pk").params["code"]
    assert client.post(reverse("masks:public_verify", kwargs=page), {"code": code}).status_code == 302
    return client


def _form(world, *, name, id_number, committee=None, compound=None, building="5号楼", room="302"):
    data = {"name": name, "id_type": IdType.RESIDENT_ID, "id_number": id_number,
            "compound": (compound or world.compound_a1).pk, "building": building, "room": room}
    url = reverse("masks:public_reserve", kwargs={"code": (committee or world.committee_a1).code})
    return url, data


def test_online_form_answers_a_wrong_name_like_an_unknown_number(world, masks):
    victim = world.resident_a1
    attempts = [
        _form(world, name="王小明", id_number=victim.plain_id),
        _form(world, name="王小明", id_number=unknown_id()),
        _form(world, name=victim.name, id_number=victim.plain_id, committee=world.committee_a2,
              compound=world.compound_a2, building="12号", room="201"),
    ]
    answers = []
    for i, (url, data) in enumerate(attempts):
        client = _login_mask_phone(world, f"1390000777{i}", f"203.0.113.{20 + i}")
        response = client.post(url, data)
        answers.append((response.status_code, response.get("Location"),
                        [str(m) for m in get_messages(response.wsgi_request)]))
    assert answers[0][0] == 302
    assert answers[0] == answers[1] == answers[2]
    assert not Reservation.objects.filter(household__isnull=False).exists()

    victim_client = _login_mask_phone(world, victim.mobile, "198.51.100.7")
    url, data = _form(world, name=victim.name, id_number=victim.plain_id)
    assert victim_client.post(url, data).status_code == 302
    assert Reservation.objects.get(phone=victim.mobile).household == world.household_a1


def test_online_form_is_rate_limited(world, masks):
    client = _login_mask_phone(world, ATTACKER, ATTACKER_IP)
    statuses = []
    for _ in range(41):
        url, data = _form(world, name="王小明", id_number=unknown_id(), room="9999")
        statuses.append(client.post(url, data))
    assert statuses[39].status_code != 429
    refused = statuses[40]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "查询过于频繁" in refused.content.decode()


def _sms(phone, text):
    inbound = inbound_receive(phone=phone, text=text, provider_message_id=uuid.uuid4().hex,
                              received_at=timezone.now())
    return OutboundSms.objects.get(idempotency_key=f"reply:{inbound.pk}").params["content"]


def test_sms_answers_a_wrong_name_like_an_unknown_number(world, masks):
    victim = world.resident_a1
    wrong_name = _sms("13900007771", f"口罩 王小明 {victim.plain_id} 国和一村 5号楼 302")
    unknown = _sms("13900007772", f"口罩 王小明 {unknown_id()} 国和一村 5号楼 302")
    wrong_committee = _sms("13900007773", f"口罩 {victim.name} {victim.plain_id} 国和二村 12号 201")
    assert wrong_name == unknown == wrong_committee
    assert not Reservation.objects.filter(household__isnull=False).exists()
    own = _sms(victim.mobile, f"口罩 {victim.name} {victim.plain_id} 国和一村 5号楼 302")
    assert own.startswith("口罩预约成功")
    assert Reservation.objects.get(phone=victim.mobile).household == world.household_a1


# --- masks: redemption at the pharmacy -------------------------------------------------------


def _voucher_for(world, masks, resident):
    reservation = mask_services.reservation_submit(
        actor=acting(world.staff_a1), round=masks.round, channel="desk", name=resident.name,
        id_type=IdType.RESIDENT_ID, id_number=resident.plain_id, phone=resident.mobile,
    )
    mask_services.stock_delivery_record(
        actor=acting(masks.clerk_a), round=masks.round, pharmacy=masks.pharmacy_a, quantity=5,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
    )
    return Voucher.objects.get(reservation=reservation)


def test_redemption_needs_the_whole_identity_number_of_the_holder(world, masks):
    holder = world.resident_a1
    voucher = _voucher_for(world, masks, holder)
    clerk = as_user(Client(), masks.clerk_a)
    url = reverse("masks:staff_redeem")
    for attempt in (
        {"number": voucher.number, "id_last4": holder.plain_id[-4:]},  # the old page's field
        {"number": voucher.number, "id_number": holder.plain_id[-4:]},  # only the last four
        {"number": voucher.number, "id_number": world.resident_a1b.plain_id},  # someone else's card
    ):
        response = clerk.post(url, attempt)
        assert "核销成功" not in response.content.decode(), attempt
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.ISSUED
    response = clerk.post(url, {"number": voucher.number, "id_number": holder.plain_id.lower()})
    assert "核销成功" in response.content.decode()
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.REDEEMED


def test_wrong_numbers_at_the_counter_are_throttled_per_clerk(world, masks):
    holder = world.resident_a1
    voucher = _voucher_for(world, masks, holder)
    clerk = as_user(Client(), masks.clerk_a)
    url = reverse("masks:staff_redeem")
    guesses = [make_resident_id("310110", dt.date(1946, 3, 8), n) for n in range(42)]
    guesses = [g for g in guesses if g != holder.plain_id][:41]
    for guess in guesses[:40]:
        wrong = clerk.post(url, {"number": voucher.number, "id_number": guess})
        assert "证件号码与预约人不符" in wrong.content.decode()
    throttled = clerk.post(url, {"number": voucher.number, "id_number": guesses[40]})
    assert throttled.status_code == 429 and "查询过于频繁" in throttled.content.decode()
    # The right number no longer tells anything either until the pause ends.
    right = clerk.post(url, {"number": voucher.number, "id_number": holder.plain_id})
    assert right.status_code == 429
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED


# --- arrivals --------------------------------------------------------------------------------

VICTIM_ID = make_resident_id("420102", dt.date(1985, 4, 2), 321)


def _arrive_url(world, name, committee=None):
    return reverse(f"arrive:{name}", kwargs={"code": (committee or world.committee_a1).code})


def _login_arrival_phone(world, phone, ip):
    client = Client(REMOTE_ADDR=ip)
    assert client.post(_arrive_url(world, "otp_send"), {"phone": phone}).status_code == 302
    code = OutboundSms.objects.filter(phone=phone, purpose__startswith="otp").latest("pk").params["code"]
    assert client.post(_arrive_url(world, "verify"), {"code": code}).status_code == 302
    return client


def _arrival_form(world, *, id_number, day, name="周来沪"):
    return {"name": name, "id_number": id_number, "compound": world.compound_a1.pk, "building": "5号楼",
            "room": "302", "origin_text": "湖北省武汉市", "transport": "train", "transport_number": "G1722",
            "arrival_date": day.isoformat(), "household_size": "1"}


def _page(response, *masked) -> str:
    """A page without what differs by nature between two answers: CSRF tokens, CSP nonces,
    masked numbers."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    text = re.sub(r'nonce="[^"]+"', "", text)
    for m in masked:
        text = text.replace(m, "<masked>")
    return text


def test_a_registration_from_another_phone_does_not_block_the_real_person(world):
    day = timezone.localdate() - dt.timedelta(days=2)
    attacker = _login_arrival_phone(world, ATTACKER, ATTACKER_IP)
    assert attacker.post(_arrive_url(world, "register"), _arrival_form(world, id_number=VICTIM_ID, day=day)
                         ).status_code == 302

    # The real person, and for comparison someone whose number nobody registered.
    victim = _login_arrival_phone(world, "13955556666", "198.51.100.7")
    answer = victim.post(_arrive_url(world, "register"), _arrival_form(world, id_number=VICTIM_ID, day=day))
    fresh_id = make_resident_id("420102", dt.date(1986, 5, 6), 123)
    stranger = _login_arrival_phone(world, "13955557777", "198.51.100.8")
    baseline = stranger.post(_arrive_url(world, "register"), _arrival_form(world, id_number=fresh_id, day=day))
    assert (answer.status_code, answer.get("Location")) == (baseline.status_code, baseline.get("Location"))
    assert answer.status_code == 302
    victim_done, baseline_done = victim.get(answer["Location"]), stranger.get(baseline["Location"])
    own = Arrival.objects.get(phone="13955556666")
    other = Arrival.objects.get(phone="13955557777")
    assert _page(victim_done, own.id_masked, "139****6666") == _page(baseline_done, other.id_masked, "139****7777")
    assert "您已登记过" not in victim_done.content.decode()


def test_a_phone_learns_nothing_about_arrivals_registered_elsewhere(world):
    day = timezone.localdate() - dt.timedelta(days=1)
    isolation_services.arrival_register(  # the victim, registered by staff in another street
        actor=acting(world.staff_b1), household=world.household_b1, name="周来沪", id_type="resident_id",
        id_number=VICTIM_ID, phone="13911112222", origin_text="湖北省孝感市", transport="car", arrival_date=day,
    )
    fresh_id = make_resident_id("420102", dt.date(1986, 5, 6), 123)
    answers, pages = [], []
    for i, number in enumerate((VICTIM_ID, fresh_id)):
        phone = f"1390000777{i}"
        attacker = _login_arrival_phone(world, phone, f"203.0.113.{30 + i}")
        response = attacker.post(_arrive_url(world, "register"), _arrival_form(world, id_number=number, day=day))
        answers.append((response.status_code, response.get("Location")))
        assert response.status_code == 302, response.content.decode()[-3000:]
        mine = Arrival.objects.get(phone=phone)
        pages.append(_page(attacker.get(response["Location"]), mine.id_masked, f"139****777{i}"))
    assert answers[0] == answers[1]
    assert pages[0] == pages[1]
    assert "孝感" not in pages[0]


def test_arrival_self_registration_is_rate_limited(world):
    client = _login_arrival_phone(world, ATTACKER, ATTACKER_IP)
    day = timezone.localdate() - dt.timedelta(days=1)
    answers = [
        client.post(_arrive_url(world, "register"),
                    _arrival_form(world, id_number=make_resident_id("420102", dt.date(1980, 1, 1), n), day=day))
        for n in range(41)
    ]
    assert {a.status_code for a in answers[:40]} == {302}
    assert answers[40].status_code == 429 and int(answers[40]["Retry-After"]) > 0
    assert "查询过于频繁" in answers[40].content.decode()
