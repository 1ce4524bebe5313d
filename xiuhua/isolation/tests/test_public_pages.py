"""Self-registration of arrivals from the committee's QR page: phone proven by SMS code, the form,
the confirmation; no case is opened, the committee sees the arrival waiting for one."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.isolation import selectors, services
from xiuhua.isolation.models import Arrival, Channel, IsolationCase
from xiuhua.residents.models import Household
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db

PHONE = "13955556666"  # not on any roster: an arrival
ARRIVAL_ID = make_resident_id("420102", dt.date(1985, 4, 2), 321)


def url(w, name="committee"):
    return reverse(f"arrive:{name}", kwargs={"code": w.committee_a1.code})


def last_code(phone: str) -> str:
    sms = OutboundSms.objects.filter(phone=phone, purpose__startswith="otp").order_by("-pk").first()
    assert sms is not None
    return sms.params["code"]


def login_phone(client, w, phone=PHONE):
    response = client.post(url(w, "otp_send"), {"phone": phone})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == url(w, "verify")
    response = client.post(url(w, "verify"), {"code": last_code(phone)})
    assert response.status_code == 302
    assert response["Location"] == url(w, "register")


def form_data(w, **overrides):
    data = {
        "name": "周来沪",
        "id_number": ARRIVAL_ID,
        "compound": w.compound_a1.pk,
        "building": "5号楼",
        "room": "302",
        "origin_text": "湖北省武汉市",
        "transport": "train",
        "transport_number": "g1722",
        "arrival_date": timezone.localdate().isoformat(),
        "household_size": "2",
    }
    return data | overrides


def snapshot():
    return (
        sorted(Arrival.objects.values_list("pk", "name", "household_id")),
        IsolationCase.objects.count(),
        Household.objects.count(),
        AuditEvent.objects.count(),
    )


def test_committee_page_says_what_it_is_for_and_asks_the_phone(client, world):
    response = client.get(url(world))
    assert response.status_code == 200
    text = response.content.decode()
    assert world.committee_a1.name in text
    assert "来沪人员自主登记" in text
    assert 'id="id_phone"' in text and 'id="send-code"' in text
    assert "<script" not in text.split("<body>")[1]  # the page itself needs no JavaScript


def test_unknown_committee_is_404(client, world):
    assert client.get(reverse("arrive:committee", kwargs={"code": "999999999999"})).status_code == 404
    assert client.get(reverse("arrive:committee_qr", kwargs={"code": "999999999999"})).status_code == 404


def test_committee_qr_is_an_svg(client, world):
    response = client.get(url(world, "committee_qr"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content[:400]


def test_whole_flow_registers_a_self_arrival_without_a_case(client, world):
    login_phone(client, world)
    assert client.session[SESSION_PHONE]["phone"] == PHONE
    form = client.get(url(world, "register"))
    assert form.status_code == 200
    assert "138****" not in form.content.decode() and "139****6666" in form.content.decode()
    # Only this committee's compounds are offered.
    assert world.compound_a1.name in form.content.decode()
    assert world.compound_a2.name not in form.content.decode()

    response = client.post(url(world, "register"), form_data(world))
    assert response.status_code == 302 and response["Location"] == url(world, "done")
    arrival = Arrival.objects.get()
    assert arrival.channel == Channel.SELF and arrival.created_by is None
    assert arrival.household == world.household_a1 and arrival.committee == world.committee_a1
    assert arrival.phone == PHONE and arrival.name == "周来沪"
    assert arrival.origin_text == "湖北省武汉市" and arrival.transport == "train"
    assert arrival.transport_number == "G1722" and arrival.household_size == 2
    assert arrival.arrival_date == timezone.localdate()
    assert not IsolationCase.objects.exists()
    event = AuditEvent.objects.get(action="arrival_register")
    assert event.actor is None and event.detail["channel"] == Channel.SELF

    done = client.get(url(world, "done"))
    assert done.status_code == 200
    text = done.content.decode()
    assert "已登记,居委会将与您联系" in text
    assert "周来沪" in text and "湖北省武汉市" in text and "G1722" in text
    assert arrival.id_masked in text and ARRIVAL_ID not in text
    assert "国和一村5号302室" in text

    # The committee sees it waiting for a case; another committee does not.
    assert list(selectors.arrivals_awaiting_case(acting(world.staff_a1))) == [arrival]
    assert list(selectors.arrivals_awaiting_case(acting(world.staff_a2))) == []


def test_register_twice_is_one_arrival(client, world):
    login_phone(client, world)
    client.post(url(world, "register"), form_data(world))
    again = client.post(url(world, "register"), form_data(world, room="302室"), follow=True)
    assert again.status_code == 200
    assert Arrival.objects.count() == 1
    assert AuditEvent.objects.filter(action="arrival_register").count() == 1
    text = again.content.decode()
    assert "您已登记过" in text and "已登记,居委会将与您联系" in text


@pytest.mark.parametrize(
    "change, message",
    [
        ({"room": "999"}, "居民名单中没有“国和一村5号999室”这一户"),
        ({"building": "99号"}, "居民名单中没有“国和一村99号302室”这一户"),
    ],
)
def test_unknown_address_is_refused_and_nothing_written(client, world, change, message):
    login_phone(client, world)
    before = snapshot()
    response = client.post(url(world, "register"), form_data(world, **change))
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text and f"请联系{world.committee_a1.name}登记" in text
    assert snapshot() == before


def test_compound_of_another_committee_is_refused(client, world):
    login_phone(client, world)
    before = snapshot()
    response = client.post(url(world, "register"), form_data(world, compound=world.compound_a2.pk, building="12号",
                                                              room="201"))
    assert response.status_code == 400
    assert "请选择本居委会的小区" in response.content.decode()
    assert snapshot() == before


def test_wrong_checksum_is_refused_in_chinese_and_nothing_written(client, world):
    login_phone(client, world)
    wrong = ARRIVAL_ID[:-1] + ("0" if ARRIVAL_ID[-1] != "0" else "1")
    before = snapshot()
    response = client.post(url(world, "register"), form_data(world, id_number=wrong))
    assert response.status_code == 400
    assert "证件号码校验位不正确,请核对" in response.content.decode()
    assert snapshot() == before


def test_bad_journey_input_gets_chinese_messages_and_nothing_written(client, world):
    login_phone(client, world)
    before = snapshot()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(url(world, "register"), form_data(world, arrival_date=tomorrow, household_size="0",
                                                              transport="boat", origin_text="", name=""))
    assert response.status_code == 400
    text = response.content.decode()
    for message in ("请填写姓名", "请填写从哪里来", "请选择交通方式", "同住人数应在1到20之间"):
        assert message in text, message
    assert snapshot() == before
    response = client.post(url(world, "register"), form_data(world, arrival_date=tomorrow))
    assert response.status_code == 400 and "抵沪日期不能晚于今天" in response.content.decode()
    assert snapshot() == before


def test_unverified_visitor_is_sent_to_the_committee_page_and_nothing_written(client, world):
    before = snapshot()
    for name in ("register", "done"):
        assert client.get(url(world, name))["Location"] == url(world)
    response = client.post(url(world, "register"), form_data(world))
    assert response.status_code == 302 and response["Location"] == url(world)
    assert snapshot() == before


def test_verification_expires_after_30_minutes(client, world):
    login_phone(client, world)
    session = client.session
    session[SESSION_PHONE] = {"phone": PHONE, "until": (timezone.now() - dt.timedelta(seconds=1)).isoformat()}
    session.save()
    assert client.get(url(world, "register"))["Location"] == url(world)


def test_wrong_code_is_refused(client, world):
    client.post(url(world, "otp_send"), {"phone": PHONE})
    wrong = "000000" if last_code(PHONE) != "000000" else "111111"
    response = client.post(url(world, "verify"), {"code": wrong})
    assert response.status_code == 400 and "验证码错误" in response.content.decode()
    assert SESSION_PHONE not in client.session
    assert client.get(url(world, "register"))["Location"] == url(world)


def test_code_page_without_a_code_sent_goes_back(client, world):
    assert client.get(url(world, "verify"))["Location"] == url(world)
    # A code sent on the mask pages is not checked here (another purpose).
    client.post(reverse("masks:public_otp_send", kwargs={"code": world.committee_a1.code}), {"phone": PHONE})
    assert client.get(url(world, "verify"))["Location"] == url(world)


def test_code_requests_are_rate_limited(client, world):
    client.post(url(world, "otp_send"), {"phone": PHONE})
    again = client.post(url(world, "otp_send"), {"phone": PHONE})
    assert again.status_code == 302 and again["Location"] == url(world, "verify")
    assert OutboundSms.objects.filter(phone=PHONE).count() == 1


def test_a_phone_verified_on_the_mask_pages_is_accepted_here_and_back(client, world):
    masks_code = {"code": world.committee_a1.code}
    client.post(reverse("masks:public_otp_send", kwargs=masks_code), {"phone": PHONE})
    response = client.post(reverse("masks:public_verify", kwargs=masks_code), {"code": last_code(PHONE)})
    assert response.status_code == 302
    page = client.get(url(world))
    assert 'id="go-register"' in page.content.decode()
    assert client.get(url(world, "register")).status_code == 200
    assert client.post(url(world, "register"), form_data(world)).status_code == 302
    assert Arrival.objects.get().phone == PHONE

    other = Client()
    login_phone(other, world, phone="13955557777")
    assert other.get(reverse("masks:public_status")).status_code == 200


def test_id_registered_by_staff_is_neither_shown_nor_told_to_another_phone(client, world):
    staff_arrival = services.arrival_register(
        actor=acting(world.staff_a1), household=world.household_a1b, name="周来沪", id_type="resident_id",
        id_number=ARRIVAL_ID, phone="13911112222", origin_text="湖北省孝感市", transport="car",
        arrival_date=timezone.localdate(),
    )
    login_phone(client, world)
    # Answered as if nothing existed: the phone's own registration, waiting beside staff's.
    response = client.post(url(world, "register"), form_data(world), follow=True)
    assert response.redirect_chain == [(url(world, "done"), 302)]
    text = response.content.decode()
    assert "孝感" not in text and "139****2222" not in text and "您已登记过" not in text
    own = Arrival.objects.get(phone=PHONE)
    assert (own.status, own.channel, own.origin_text) == ("awaiting", Channel.SELF, "湖北省武汉市")
    staff_arrival.refresh_from_db()
    assert (staff_arrival.status, staff_arrival.phone) == ("accepted", "13911112222")
    # The confirmation page does not show staff's either.
    session = client.session
    session["arrive_done"] = staff_arrival.pk
    session.save()
    assert client.get(url(world, "done"))["Location"] == url(world, "register")


def test_logout_forgets_the_phone(client, world):
    login_phone(client, world)
    response = client.post(url(world, "logout"))
    assert response["Location"] == url(world)
    assert client.get(url(world, "register"))["Location"] == url(world)


def test_awaiting_case_lists_only_self_registrations_without_a_case_newest_first(world):
    actor = acting(world.staff_a1)
    common = {"id_type": "resident_id", "phone": PHONE, "origin_text": "湖北省武汉市", "transport": "train",
              "arrival_date": timezone.localdate()}
    first = services.arrival_register(
        actor=None, channel=Channel.SELF, household=world.household_a1, name="一",
        id_number=make_resident_id("420102", dt.date(1980, 1, 1), 1), **common,
    )
    second = services.arrival_register(
        actor=None, channel=Channel.SELF, household=world.household_a1b, name="二",
        id_number=make_resident_id("420102", dt.date(1981, 1, 1), 2), **common,
    )
    services.arrival_register(
        actor=actor, household=world.household_a1, name="三",
        id_number=make_resident_id("420102", dt.date(1982, 1, 1), 3), **common,
    )
    assert list(selectors.arrivals_awaiting_case(actor)) == [second, first]
    services.case_open(actor=actor, arrival=second)
    assert list(selectors.arrivals_awaiting_case(actor)) == [first]
    # The grid worker sees only their grid (5号302), no one without a membership sees any.
    assert list(selectors.arrivals_awaiting_case(acting(world.grid_worker))) == [first]
    assert list(selectors.arrivals_awaiting_case(world.no_role)) == []


@pytest.mark.parametrize(
    "id_type, typed, stored_type",
    [
        ("passport", "e 1234 5678", "passport"),
        ("hk_macau_permit", "H12345678", "hk_macau_permit"),
        ("taiwan_permit", "1234567890", "taiwan_permit"),
        ("residence_permit", "810000199408230021", "residence_permit"),
    ],
)
def test_passports_and_permits_the_roster_accepts_work_here_too(client, world, id_type, typed, stored_type):
    from xiuhua.core.idnumbers import check_id
    from xiuhua.residents.identity import identity_hash

    login_phone(client, world)
    page = client.get(url(world, "register")).content.decode()
    assert 'name="id_type"' in page and "护照" in page and "港澳居民来往内地通行证" in page
    response = client.post(url(world, "register"), form_data(world, id_type=id_type, id_number=typed))
    assert response.status_code == 302, response.content.decode()[-3000:]
    arrival = Arrival.objects.get()
    number = check_id(id_type, typed).number
    assert (arrival.id_type, arrival.id_hash, arrival.status) == (
        stored_type, identity_hash(id_type, number), "awaiting")


@pytest.mark.parametrize(
    "id_type, typed, message",
    [
        ("passport", "E1", "护照号码应为5到17位字母或数字"),
        ("hk_macau_permit", "X12345678", "港澳通行证号码应为H或M开头加8位或10位数字"),
        ("residence_permit", "110101199003070011", "证件号码开头不符合该证件类型"),
        ("driving_licence", "E12345678", "请选择证件类型"),
    ],
)
def test_a_wrong_document_number_is_refused_in_chinese_and_nothing_written(client, world, id_type, typed, message):
    login_phone(client, world)
    before = snapshot()
    response = client.post(url(world, "register"), form_data(world, id_type=id_type, id_number=typed))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before
