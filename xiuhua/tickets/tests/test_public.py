"""The resident's door QR page and follow-up page: door codes, intake without login for urgent
medical requests, phone proof for the rest, limits, duplicate forms, photos, the timeline."""

import datetime as dt
import io
import threading

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, make_user
from xiuhua.tickets import door_requests, services, views_public
from xiuhua.tickets.door import check_door_code, door_code, door_key, door_path, door_url, parse_door_key
from xiuhua.tickets.door_requests import door_request_submit
from xiuhua.tickets.models import Department, Ticket, TicketEvent
from xiuhua.tickets.services import token_hash

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
OTHER_PHONE = "13955556666"


@pytest.fixture(autouse=True)
def _remove_photos():
    yield
    for ticket in Ticket.objects.exclude(photo=""):
        ticket.photo.delete(save=False)


def door_url_of(household, name="door"):
    return reverse(f"help:{name}", kwargs={"key": door_key(household.pk)})


def form(**extra):
    data = {
        "category": "dialysis", "urgency": "urgent", "description": "周三上午要透析,需要车辆接送",
        "phone": PHONE, "submission_key": "k" * 22,
    }
    return data | extra


def snapshot():
    return (
        Ticket.objects.count(), TicketEvent.objects.count(), AuditEvent.objects.count(), OutboundSms.objects.count()
    )


def verify_phone(client, household, phone=OTHER_PHONE):
    response = client.post(door_url_of(household, "otp_send"), {"phone": phone})
    assert response.status_code == 302 and response["Location"] == door_url_of(household, "verify")
    sms = OutboundSms.objects.filter(phone=phone, purpose__startswith="otp").latest("pk")
    response = client.post(door_url_of(household, "verify"), {"code": sms.params["code"]})
    assert response.status_code == 302 and response["Location"] == door_url_of(household)


def token_of(response) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    location = response["Location"]
    assert location.startswith("/help/t/") and location.endswith("/")
    return location.removeprefix("/help/t/").rstrip("/")


def photo_upload(size=(64, 48), fmt="JPEG", name="photo.jpg") -> SimpleUploadedFile:
    """A phone photo with EXIF, as cameras write it (the GPS tag is 34853)."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[34853] = {1: "N", 2: (31.0, 17.0, 0.0)}
    Image.new("RGB", size, "white").save(buffer, format=fmt, exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


# ---------------------------------------------------------------- door codes


def test_door_codes_are_short_keyed_and_forgiving(world):
    code = door_code(world.household_a1.pk)
    assert len(code) == 8 and code.isalnum() and code == code.upper() and not set(code) & set("ILOU")
    assert door_code(world.household_a1b.pk) != code
    assert door_path(world.household_a1.pk) == f"/help/d/{world.household_a1.pk}-{code}/"
    assert door_url(world.household_a1.pk) == settings.PUBLIC_BASE_URL + door_path(world.household_a1.pk)
    pk = world.household_a1.pk
    typed = f"{pk} {code[:4].lower()} {code[4:].lower()}".replace("1", "l").replace("0", "o")
    assert parse_door_key(typed) == (pk, code)
    assert parse_door_key(f"{pk}{code}") == (pk, code)
    assert parse_door_key("abc") is None and parse_door_key("") is None
    assert check_door_code(pk, code.lower()) and not check_door_code(pk, code[:-1])
    assert not check_door_code(world.household_a1b.pk, code)
    with override_settings(SECRET_KEY="a new key " * 5, SECRET_KEY_FALLBACKS=["x"]):
        assert door_code(pk) != code and not check_door_code(pk, code)
    # After a rotation the old key, kept as a fallback, still opens the printed cards.
    with override_settings(SECRET_KEY="a new key " * 5, SECRET_KEY_FALLBACKS=[_current_secret()]):
        assert check_door_code(pk, code)


def _current_secret():
    return settings.SECRET_KEY


def test_right_code_opens_the_page_wrong_code_is_404(client, world):
    household = world.household_a1
    response = client.get(door_url_of(household))
    assert response.status_code == 200
    text = response.content.decode()
    assert "国和一村" in text and "5号" in text and "302" in text and world.committee_a1.name in text
    assert '<meta name="robots" content="noindex' in text and response["Referrer-Policy"] == "same-origin"
    assert "<script" not in text  # the main flow needs no JavaScript
    assert text.index("透析") < text.index("食品")  # medical needs first
    # Lower case, as typed, opens it too.
    assert client.get(f"/help/d/{household.pk}-{door_code(household.pk).lower()}/").status_code == 200
    code = door_code(household.pk)
    wrong = ("A" if code[0] != "A" else "B") + code[1:]
    other = door_code(world.household_a1b.pk)
    missing = 999999
    for key in (f"{household.pk}-{wrong}", f"{household.pk}-{other}", f"{household.pk}", "x-y",
                f"{missing}-{door_code(missing)}"):
        assert client.get(f"/help/d/{key}/").status_code == 404, key
        assert client.post(f"/help/d/{key}/", form()).status_code == 404, key
    assert not Ticket.objects.exists()


def test_the_code_typed_from_the_card_opens_the_door(client, world):
    household = world.household_a1
    assert client.get(reverse("help:start")).status_code == 200
    response = client.post(reverse("help:start"), {"code": f" {household.pk}-{door_code(household.pk).lower()} "})
    assert response.status_code == 302 and response["Location"] == door_url_of(household)
    response = client.post(reverse("help:start"), {"code": f"{household.pk}-AAAAAAAA"})
    assert response.status_code == 400 and "求助码不正确" in response.content.decode()
    assert "12345" in response.content.decode()


# ---------------------------------------------------------------- intake


def test_an_urgent_medical_request_needs_no_login_and_makes_exactly_one_ticket(client, world):
    response = client.post(door_url_of(world.household_a1), form())
    token = token_of(response)
    ticket = Ticket.objects.get()
    assert (ticket.household, ticket.committee, ticket.source, ticket.category, ticket.urgency) == (
        world.household_a1, world.committee_a1, "door_qr", "dialysis", "urgent")
    assert ticket.deadline_class == "emergency" and ticket.requester_phone == PHONE
    assert ticket.follow_token_hash == token_hash(token) and ticket.submission_key == "k" * 22
    assert ticket.created_by is None and ticket.client_hash and not ticket.photo
    sms = OutboundSms.objects.get(template="XH_TICKET_RECEIVED")
    assert sms.phone == PHONE and sms.params["number"] == ticket.number and sms.params["token"] == token
    assert AuditEvent.objects.filter(action="ticket_create", object_id=ticket.pk).count() == 1
    page = client.get(response["Location"])
    assert page.status_code == 200 and ticket.number in page.content.decode()


def test_a_request_that_is_not_urgent_medical_needs_a_proven_phone(client, world):
    before = snapshot()
    for data in (form(urgency="normal"), form(category="food", urgency="urgent"), form(category="other")):
        response = client.post(door_url_of(world.household_a1), data)
        assert response.status_code == 403
        text = response.content.decode()
        assert "须先验证手机号码" in text and "120" in text and "12345" in text
    assert snapshot() == before
    verify_phone(client, world.household_a1)
    # The contact must be the proven phone.
    response = client.post(door_url_of(world.household_a1), form(category="food", urgency="normal"))
    assert response.status_code == 400 and "请填写已验证的手机号 139****6666" in response.content.decode()
    assert Ticket.objects.count() == 0
    page = client.get(door_url_of(world.household_a1))
    assert 'value="13955556666"' in page.content.decode()  # filled in from the proven phone
    response = client.post(door_url_of(world.household_a1), form(category="food", urgency="normal", phone=OTHER_PHONE))
    token_of(response)
    ticket = Ticket.objects.get()
    assert (ticket.category, ticket.deadline_class, ticket.requester_phone) == ("food", "help", OTHER_PHONE)


def test_the_service_takes_only_urgent_medical_requests_without_a_proven_phone(world):
    """The rule holds in door_request_submit itself, whichever page or channel calls it."""

    def submit(verified_phone, **extra):
        data = dict(household=world.household_a1, category="food", urgency="normal", description="缺米",
                    phone=PHONE, photo=None, submission_key="s" * 22, client_hash="") | extra
        return door_request_submit(verified_phone=verified_phone, **data)

    before = snapshot()
    for extra in ({}, {"category": "food", "urgency": "urgent"}, {"category": "dialysis", "urgency": "normal"}):
        with pytest.raises(door_requests.PhoneNeeded) as refused:
            submit(None, **extra)
        assert refused.value.status_code == 403 and "须先验证手机号码" in refused.value.message
    with pytest.raises(ValidationError) as wrong:
        submit(OTHER_PHONE)
    assert "139****6666" in wrong.value.message_dict["phone"][0]
    assert snapshot() == before
    ticket, _token, created = submit(PHONE)
    assert created and (ticket.category, ticket.requester_phone) == ("food", PHONE)
    urgent, _token, created = submit(None, category="dialysis", urgency="urgent", phone=OTHER_PHONE,
                                     submission_key="u" * 22)
    assert created and urgent.requester_phone == OTHER_PHONE


def test_bad_input_gets_a_clear_message_and_writes_nothing(client, world):
    before = snapshot()
    url = door_url_of(world.household_a1)
    cases = [
        (form(phone="123"), "phone"),
        (form(description=" "), "description"),
        (form(category="x"), "category"),
        (form(urgency=""), "urgency"),
    ]
    for data, field in cases:
        response = client.post(url, data)
        assert response.status_code == 400 and field in response.context["form"].errors, field
    # No key (an old page): nothing taken, the form comes back with a fresh key.
    response = client.post(url, form(submission_key=""))
    assert response.status_code == 400 and "页面已过期" in response.content.decode()
    assert len(response.context["form"].data["submission_key"]) >= 16
    assert snapshot() == before


def test_the_household_limit_refuses_the_next_request_and_writes_nothing(client, world):
    url = door_url_of(world.household_a1)
    for i in range(door_requests.HOUSEHOLD_PER_HOUR):
        token_of(client.post(url, form(submission_key=f"hour-limit-key-{i:04d}")))
    before = snapshot()
    response = client.post(url, form(submission_key="hour-limit-key-next"))
    assert response.status_code == 429
    text = response.content.decode()
    assert "这一户1小时内已提交3次求助" in text and "120" in text and "12345" in text
    assert snapshot() == before
    # Another door behind the same address is still taken.
    token_of(client.post(door_url_of(world.household_a1b), form(submission_key="other-door-key-0001")))


def test_the_daily_household_limit(client, world):
    earlier = timezone.now() - dt.timedelta(hours=3)
    for _i in range(door_requests.HOUSEHOLD_PER_DAY):
        services.ticket_create(actor=None, source="door_qr", category="food", urgency="normal", description="买菜",
                               committee=world.committee_a1, household=world.household_a1, now=earlier)
    before = snapshot()
    response = client.post(door_url_of(world.household_a1), form())
    assert response.status_code == 429 and "这一户今天已提交6次求助" in response.content.decode()
    assert snapshot() == before
    # A day later the door is open again.
    Ticket.objects.update(received_at=timezone.now() - dt.timedelta(hours=25))
    token_of(client.post(door_url_of(world.household_a1), form()))


def test_the_address_limit_refuses_the_next_request_and_writes_nothing(client, world):
    address = views_public.client_hash(RequestFactory().get("/", REMOTE_ADDR="127.0.0.1"))
    for _i in range(door_requests.ADDRESS_PER_HOUR):
        ticket, _token = services.ticket_create(
            actor=None, source="door_qr", category="food", urgency="normal", description="买菜",
            committee=world.committee_a2, household=world.household_a2,
        )
        Ticket.objects.filter(pk=ticket.pk).update(client_hash=address)
    before = snapshot()
    response = client.post(door_url_of(world.household_a1), form())
    assert response.status_code == 429 and "当前网络提交求助过于频繁" in response.content.decode()
    assert snapshot() == before
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    token_of(elsewhere.post(door_url_of(world.household_a1), form()))


def test_the_same_form_twice_is_one_ticket_and_leads_to_its_follow_up_page(client, world):
    url = door_url_of(world.household_a1)
    first = client.post(url, form())
    again = client.post(url, form())
    ticket = Ticket.objects.get()
    assert token_of(again) == token_of(first) and ticket.follow_token_hash == token_hash(token_of(first))
    page = client.get(again["Location"]).content.decode()
    assert f"这条求助已经提交过了,编号{ticket.number},不会重复登记" in page and "已收到您的求助" in page
    # A double tap's second request reads the session before the first one wrote to it; a second
    # browser has none at all: both are led to the same follow-up page, not a second ticket.
    assert token_of(Client().post(url, form())) == token_of(first)
    assert Ticket.objects.count() == 1
    assert OutboundSms.objects.filter(template="XH_TICKET_RECEIVED").count() == 1
    # The key of this door's form sent to another door: refused, nothing written.
    before = snapshot()
    stale = client.post(door_url_of(world.household_a1b), form())
    assert stale.status_code == 400 and "页面已过期" in stale.content.decode()
    assert snapshot() == before


def test_the_follow_up_secret_of_a_door_form_is_its_keyed_key(world):
    data = dict(form(), household=world.household_a1, photo=None, client_hash="", verified_phone=None)
    ticket, token, created = door_request_submit(**data)
    assert created and token == door_requests.follow_token_of("k" * 22) and 16 <= len(token) <= 64
    assert token != door_requests.follow_token_of("k" * 21 + "j")
    assert door_request_submit(**data) == (ticket, token, False)
    with override_settings(SECRET_KEY="another key " * 5):
        assert door_requests.follow_token_of("k" * 22) != token


def test_the_same_form_after_the_link_was_reissued_names_the_request_without_a_link(client, world):
    url = door_url_of(world.household_a1)
    old = token_of(client.post(url, form()))
    ticket = Ticket.objects.get()
    staff = make_user("reissuer", Role.COMMITTEE_STAFF, world.committee_a1)
    services.ticket_follow_link_reissue(actor=acting(staff), ticket=ticket)
    response = client.post(url, form())
    text = response.content.decode()
    assert response.status_code == 200 and "已经提交过了" in text and ticket.number in text
    assert old not in text and "/help/t/" not in text
    assert Ticket.objects.count() == 1


def test_the_form_carries_a_fresh_key_each_time(client, world):
    first = client.get(door_url_of(world.household_a1)).context["form"].initial["submission_key"]
    second = client.get(door_url_of(world.household_a1)).context["form"].initial["submission_key"]
    assert first != second and len(first) >= 16


# ---------------------------------------------------------------- photos


def test_a_photo_is_kept_without_exif_and_shown_to_staff_with_an_audit(client, world):
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (5 * 1024 * 1024), content_type="image/jpeg")
    gif = photo_upload(fmt="GIF", name="p.gif")
    before = snapshot()
    for upload, message in (
        (big, "照片不能超过5MB"),
        (SimpleUploadedFile("p.jpg", b"not a picture", content_type="image/jpeg"), "无法识别该照片"),
        (gif, "请上传JPG或PNG照片"),
    ):
        response = client.post(door_url_of(world.household_a1), form(photo=upload))
        assert response.status_code == 400 and message in response.content.decode()
    assert snapshot() == before
    token_of(client.post(door_url_of(world.household_a1), form(photo=photo_upload())))
    ticket = Ticket.objects.get()
    assert ticket.photo.name.startswith("tickets/") and ticket.photo.name.endswith(".jpg")
    stored = Image.open(ticket.photo.open("rb"))
    assert stored.format == "JPEG" and not stored.getexif()
    url = reverse("tickets_doors:photo", args=[ticket.pk])
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    staff = Client()
    staff.force_login(world.staff_b1)
    assert staff.get(url).status_code == 404  # another committee's request
    staff.force_login(world.grid_worker)
    assert staff.get(url).status_code == 403  # a role without view_tickets
    assert not AuditEvent.objects.filter(action="ticket_photo_view").exists()
    staff.force_login(world.staff_a1)
    response = staff.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(action="ticket_photo_view", personal=True, actor=world.staff_a1).count() == 1
    # A request without a photo has none to show.
    services.ticket_create(actor=None, source="door_qr", category="food", urgency="normal", description="买菜",
                           committee=world.committee_a1, household=world.household_a1b)
    without = Ticket.objects.get(household=world.household_a1b)
    assert staff.get(reverse("tickets_doors:photo", args=[without.pk])).status_code == 404


def test_a_png_photo_is_accepted(client, world):
    token_of(client.post(door_url_of(world.household_a1), form(photo=photo_upload(fmt="PNG", name="p.png"))))
    assert Image.open(Ticket.objects.get().photo.open("rb")).format == "JPEG"


# ---------------------------------------------------------------- follow-up page


@pytest.fixture
def department(world):
    dept = Department.objects.create(street=world.street_a, name="社区卫生服务中心")
    worker = make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a)
    dept.members.add(Membership.objects.get(user=worker))
    return dept


def test_the_follow_up_page_tells_the_steps_in_plain_words(client, world, department):
    token = token_of(client.post(door_url_of(world.household_a1), form()))
    ticket = Ticket.objects.get()
    url = f"/help/t/{token}/"
    page = client.get(url)
    text = page.content.decode()
    assert page["Referrer-Policy"] == "same-origin" and '<meta name="robots" content="noindex' in text
    assert "已收到您的求助" in text and "已受理" not in text
    staff, street = acting(world.staff_a1), acting(world.street_officer)
    worker = acting(department.members.get().user)
    services.ticket_move(actor=staff, ticket=ticket, action="accept", note="内部备注:家属情绪激动")
    services.ticket_move(actor=street, ticket=ticket, action="dispatch", department=department, note="派单备注XYZ")
    services.ticket_move(actor=worker, ticket=ticket, action="start")
    services.ticket_move(actor=worker, ticket=ticket, action="reply", reply="已安排救护车周三7:00接送")
    services.ticket_move(actor=staff, ticket=ticket, action="close")
    services.ticket_move(actor=staff, ticket=ticket, action="call_back", satisfaction=4, note="回访备注ABC")
    text = client.get(url).content.decode()
    steps = ["已收到您的求助", "已受理", "已派往社区卫生服务中心", "正在办理", "已答复", "已安排救护车周三7:00接送",
             "已办结", "已回访"]
    assert 'id="status">已办结并回访<' in text
    timeline = text[text.index('id="timeline"'):]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)
    for secret in ("内部备注", "派单备注XYZ", "回访备注ABC", "staff_a1", "dept_a", "street_a", PHONE, "****"):
        assert secret not in text, secret


def test_the_follow_up_page_shows_its_own_ticket_only(client, world):
    first = token_of(client.post(door_url_of(world.household_a1), form(description="透析需要车辆")))
    second = token_of(Client().post(door_url_of(world.household_a2),
                                    form(category="medicine", description="降压药已断", submission_key="b" * 22)))
    one, two = Ticket.objects.get(household=world.household_a1), Ticket.objects.get(household=world.household_a2)
    page_one = client.get(f"/help/t/{first}/").content.decode()
    page_two = client.get(f"/help/t/{second}/").content.decode()
    assert one.number in page_one and "透析需要车辆" in page_one
    assert two.number not in page_one and "降压药已断" not in page_one
    assert two.number in page_two and "降压药已断" in page_two
    assert one.number not in page_two and "透析需要车辆" not in page_two


def test_an_unknown_token_is_the_same_404_as_any_missing_page(client, world):
    token_of(client.post(door_url_of(world.household_a1), form()))
    missing = client.get("/no-such-page/")
    for token in ("x" * 24, "short", "y" * 80):
        response = client.get(f"/help/t/{token}/")
        assert response.status_code == 404
        assert response.content == missing.content


# ---------------------------------------------------------------- under real concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_respect_the_key_and_the_limit(world) -> None:
    url = door_url_of(world.household_a1)
    clients = 12
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(i: int, key: str) -> None:
        try:
            barrier.wait()
            response = Client().post(url, form(submission_key=key))
        finally:
            connection.close()
        with lock:
            statuses.append(response.status_code)

    def run(keys):
        threads = [threading.Thread(target=submit, args=(i, k)) for i, k in enumerate(keys)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run(["same-key-for-all-of-them"] * clients)  # a double tap, twelve times over
    assert Ticket.objects.count() == 1 and len(statuses) == clients
    assert OutboundSms.objects.filter(template="XH_TICKET_RECEIVED").count() == 1
    Ticket.objects.all().delete()
    statuses.clear()
    barrier = threading.Barrier(clients)
    run([f"distinct-key-number-{i:04d}" for i in range(clients)])
    assert Ticket.objects.count() == door_requests.HOUSEHOLD_PER_HOUR
    assert statuses.count(302) == door_requests.HOUSEHOLD_PER_HOUR and statuses.count(429) == clients - 3


def test_client_addresses_are_forgotten_after_a_day(world):
    from django.core.management import call_command

    from xiuhua.tickets.door_requests import client_hashes_prune

    old, _t = services.ticket_create(actor=None, source="door_qr", category="food", urgency="urgent",
                                     description="缺米", committee=world.committee_a1, household=world.household_a1)
    new, _t = services.ticket_create(actor=None, source="door_qr", category="food", urgency="urgent",
                                     description="缺油", committee=world.committee_a1, household=world.household_a1)
    now = timezone.now()
    Ticket.objects.filter(pk=old.pk).update(client_hash="a" * 64, received_at=now - dt.timedelta(hours=25))
    Ticket.objects.filter(pk=new.pk).update(client_hash="b" * 64, received_at=now - dt.timedelta(hours=23))
    assert client_hashes_prune(now=now) == 1
    assert dict(Ticket.objects.values_list("pk", "client_hash")) == {old.pk: "", new.pk: "b" * 64}
    out = io.StringIO()
    call_command("tickets_sweep", stdout=out)
    assert "addresses_forgotten=0" in out.getvalue()
