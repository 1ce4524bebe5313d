"""The volunteers' pages: the authorisation matrix of the staff pages, the phone pages (a proven
phone sees only its own rows; another phone's duty or task is a 404), the post's QR code, and a
volunteer never reaching a roster page."""

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.testing import acting, as_user
from xiuhua.volunteers import services
from xiuhua.volunteers.models import (
    Duty,
    DutyStatus,
    Post,
    Shift,
    Skill,
    Talent,
    TalentStatus,
    Volunteer,
    VolunteerTask,
)
from xiuhua.volunteers.services import TalentInput

from .conftest import OUTSIDER_PHONE, make_shift, outsider

pytestmark = pytest.mark.django_db


def verified(client, phone=OUTSIDER_PHONE):
    session = client.session
    session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}
    session.save()
    return client


def snapshot():
    return [m.objects.count() for m in (Volunteer, Talent, Post, Shift, Duty, VolunteerTask, AuditEvent)]


# URL name -> (args, the capability that opens it)
STAFF = {
    "directory": ([], "view"), "new": ([], "manage"), "volunteer": ([1], "view"), "talent_decide": ([1], "manage"),
    "posts": ([], "view"), "post": ([1], "view"), "post_sheet": ([1], "view"), "shift": ([1], "view"),
    "shift_assign": ([1], "manage"), "duty_act": ([1, "check_in"], "manage"), "day": ([], "view"),
    "day_pdf": ([], "view"), "tasks": ([], "view"), "task_new": (["ticket", 1], "manage"),
    "task_act": ([1, "finish"], "manage"),
}
PHONE = {"my_home": [], "my_signup": [], "my_join": [1], "my_duty": [1, "cancel"], "my_task_done": [1]}
PUBLIC = {"my_start", "my_otp_send", "my_verify", "my_logout", "post_door", "post_send", "post_verify", "post_logout",
          "post_act"}


def test_every_url_is_in_the_matrix():
    from xiuhua.volunteers.urls import urlpatterns

    names = {p.name for p in urlpatterns if isinstance(p, URLPattern)}
    assert names == set(STAFF) | set(PHONE) | PUBLIC


@pytest.mark.parametrize("name", sorted(STAFF))
def test_roles_without_the_capability_are_refused_and_nothing_written(client, world, name):
    args, need = STAFF[name]
    url = reverse(f"volunteers:{name}", args=args)
    before = snapshot()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    lacking = [world.grid_worker, world.volunteer, world.pharmacy_clerk, world.no_role]
    if need == "manage":
        lacking.append(world.street_officer)
    for user in lacking:
        as_user(client, user)
        assert client.get(url).status_code in (403, 405)
        assert client.post(url, {"action": "confirm", "volunteer": 1}).status_code in (403, 405)
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(PHONE))
def test_the_phone_pages_need_a_proven_phone(client, world, name):
    before = snapshot()
    url = reverse(f"volunteers:{name}", args=PHONE[name])
    assert client.get(url).status_code in (403, 405)
    assert client.post(url, {"compound": world.compound_a1.pk, "name": "x"}).status_code == 403
    assert snapshot() == before


def _roster_urls():
    from xiuhua.residents import urls

    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix)
            elif isinstance(pattern, URLPattern) and pattern.name:
                converters = pattern.pattern.converters
                found.append(reverse(f"residents:{pattern.name}", kwargs={k: 1 for k in converters}))

    walk(urls.urlpatterns)
    return found


def test_a_volunteer_never_sees_a_roster_page(client, world):
    urls = _roster_urls()
    assert len(urls) > 10
    # A volunteer account (Role.VOLUNTEER) ...
    as_user(client, world.volunteer)
    for url in urls:
        assert client.get(url).status_code in (302, 403), url
        assert client.post(url, {}).status_code in (302, 403, 405), url
    # ... and a volunteer signed in by phone only (no account): sent to the login page.
    outsider(world)
    phone_client = verified(client.__class__())
    for url in urls:
        response = phone_client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url


def test_a_person_signs_up_on_the_phone_through_the_committees_link(client, world):
    client.get(reverse("volunteers:my_start") + f"?c={world.committee_a1.pk}")
    verified(client)
    home = client.get(reverse("volunteers:my_home")).content.decode()
    assert 'id="signup-form"' in home and "国和一村" in home and "国和二村" not in home
    response = client.post(reverse("volunteers:my_signup"), {
        "compound": world.compound_a1.pk, "name": "周志强", "skills": ["nurse", "translator"],
        "nurse_detail": "外科", "translator_detail": "英语", "days": ["6", "7"],
        "available_from": "08:00", "available_to": "12:00"})
    assert response.status_code == 302
    volunteer = Volunteer.objects.get()
    assert (volunteer.name, volunteer.mobile, volunteer.available_days) == ("周志强", OUTSIDER_PHONE, "67")
    assert dict(volunteer.talents.values_list("skill", "status")) == {
        "nurse": TalentStatus.PENDING, "translator": TalentStatus.SELF}
    home = client.get(reverse("volunteers:my_home")).content.decode()
    assert "周**" in home and "周志强" not in home and 'id="signup-form"' not in home


def test_a_phone_without_a_link_or_roster_entry_cannot_sign_up(client, world):
    verified(client, "13900007777")
    home = client.get(reverse("volunteers:my_home")).content.decode()
    assert 'id="signup-form"' not in home
    response = client.post(reverse("volunteers:my_signup"), {"compound": world.compound_a1.pk, "name": "x"})
    assert response.status_code == 400 and Volunteer.objects.count() == 0


def test_the_phone_sees_and_acts_on_its_own_rows_only(client, world):
    shift = make_shift(world)
    mine = outsider(world)
    other = outsider(world, phone="13900005555", name="吴晓东")
    theirs = services.duty_sign_up(actor=None, shift=shift, volunteer=other)
    verified(client)
    home = client.get(reverse("volunteers:my_home")).content.decode()
    assert f"open-shift-{shift.pk}" in home and "吴" not in home
    assert client.post(reverse("volunteers:my_join", args=[shift.pk])).status_code == 302
    duty = Duty.objects.get(volunteer=mine)
    # Another phone's duty: the same 404 as a missing one, and nothing changes.
    assert client.post(reverse("volunteers:my_duty", args=[theirs.pk, "cancel"])).status_code == 404
    assert client.post(reverse("volunteers:my_duty", args=[duty.pk, "cancel"])).status_code == 302
    duty.refresh_from_db()
    theirs.refresh_from_db()
    assert (duty.status, theirs.status) == (DutyStatus.CANCELLED, DutyStatus.SIGNED)


def test_the_posts_qr_code_checks_in_and_out(client, world):
    day = timezone.localdate()
    now = timezone.localtime()
    shift = make_shift(world, day=day, start=0, end=23, health_statement=True) if now.hour < 23 else None
    if shift is None:
        pytest.skip("the test's shift runs 00:00-23:00 Beijing time")
    duty = Duty.objects.create(shift=shift, volunteer=outsider(world))
    code = services.post_key(shift.post_id)
    door = reverse("volunteers:post_door", args=[code])
    page = client.get(door)
    assert page.status_code == 200 and 'id="send-code"' in page.content.decode()
    assert page["Cache-Control"] == "private, no-store"
    wrong = reverse("volunteers:post_door", args=[f"{shift.post_id}-AAAAAAAA"])
    assert client.get(wrong).status_code == 404
    verified(client)
    page = client.get(door).content.decode()
    assert 'id="health-form"' in page and 'id="check-in"' not in page
    act = reverse("volunteers:post_act", args=[code, duty.pk, "check_in"])
    client.post(act)
    duty.refresh_from_db()
    assert duty.status == DutyStatus.SIGNED  # the health statement comes first
    client.post(reverse("volunteers:post_act", args=[code, duty.pk, "health"]), {"healthy": "1"})
    client.post(act)
    duty.refresh_from_db()
    assert duty.status == DutyStatus.ON_DUTY
    client.post(reverse("volunteers:post_act", args=[code, duty.pk, "check_out"]))
    duty.refresh_from_db()
    assert duty.status == DutyStatus.DONE and duty.minutes is not None
    # Another phone at this post reaches nothing of this duty.
    stranger = verified(client.__class__(), "13900006666")
    assert stranger.post(reverse("volunteers:post_act", args=[code, duty.pk, "check_out"])).status_code == 404


def test_staff_pages_show_masked_names_and_other_committees_get_404(client, world):
    volunteer = outsider(world, talents=[TalentInput(Skill.DOCTOR, "全科")])
    shift = make_shift(world)
    as_user(client, world.staff_a1)
    page = client.get(reverse("volunteers:directory")).content.decode()
    assert "周**(尾号9999)" in page and "周志强" not in page and OUTSIDER_PHONE not in page
    assert client.get(reverse("volunteers:volunteer", args=[volunteer.pk])).status_code == 200
    response = client.post(reverse("volunteers:talent_decide", args=[volunteer.talents.get().pk]),
                           {"action": "confirm"})
    assert response.status_code == 302 and volunteer.talents.get().status == TalentStatus.CONFIRMED
    response = client.post(reverse("volunteers:shift_assign", args=[shift.pk]), {"volunteer": volunteer.pk})
    assert response.status_code == 302 and Duty.objects.filter(volunteer=volunteer).count() == 1
    pdf = client.get(reverse("volunteers:day_pdf") + f"?day={shift.day}&compound={world.compound_a1.pk}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(action="volunteer_duty_sheet_print").count() == 1
    other = as_user(client.__class__(), world.staff_a2)
    for url in (reverse("volunteers:volunteer", args=[volunteer.pk]), reverse("volunteers:shift", args=[shift.pk]),
                reverse("volunteers:post", args=[shift.post_id]),
                reverse("volunteers:post_sheet", args=[shift.post_id])):
        assert other.get(url).status_code == 404, url
    assert other.get(reverse("volunteers:day_pdf") + f"?day={shift.day}&compound={world.compound_a1.pk}"
                     ).status_code == 404
    # The street sees the directory but writes nothing.
    street = as_user(client.__class__(), world.street_officer)
    assert "周**(尾号9999)" in street.get(reverse("volunteers:directory")).content.decode()


def test_the_work_order_page_offers_hand_over_to_committee_staff(client, world):
    from xiuhua.tickets.models import Ticket

    ticket = Ticket.objects.create(number="T2", source="call", category="wound_care", urgency="normal",
                                   deadline_class="help", description="伤口", committee=world.committee_a1,
                                   household=world.household_a1, received_at=timezone.now(),
                                   deadline_at=timezone.now() + dt.timedelta(days=1), follow_token_hash="z" * 64)
    as_user(client, world.staff_a1)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert reverse("volunteers:task_new", args=["ticket", ticket.pk]) in page
    nurse = outsider(world, talents=[TalentInput(Skill.NURSE, "外科")])
    services.talent_decide(actor=acting(world.staff_a1), talent=nurse.talents.get(), confirm=True)
    form = client.get(reverse("volunteers:task_new", args=["ticket", ticket.pk]) + "?skill=nurse")
    assert form.status_code == 200 and "周**(尾号9999)" in form.content.decode()
    due = timezone.localtime(timezone.now() + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("volunteers:task_new", args=["ticket", ticket.pk]), {
        "skill": "nurse", "volunteer": nurse.pk, "what": "伤口换药", "place": "5号302室", "due_at": due,
        "contact": "李慧敏 65430000"})
    assert response.status_code == 302
    task = VolunteerTask.objects.get()
    phone = verified(client.__class__())
    home = phone.get(reverse("volunteers:my_home")).content.decode()
    assert "伤口换药" in home and "5号302室" in home and "李慧敏 65430000" in home and "伤口</" not in home
    assert phone.post(reverse("volunteers:my_task_done", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.status == "done"
    # Grid workers see the work order but hand nothing over.
    grid = as_user(client.__class__(), world.grid_worker)
    detail = grid.get(reverse("tickets:detail", args=[ticket.pk]))
    assert reverse("volunteers:task_new", args=["ticket", ticket.pk]) not in detail.content.decode()


def test_an_isolation_case_is_handed_to_a_volunteer_from_its_page(client, world):
    from xiuhua.core.idnumbers import make_resident_id
    from xiuhua.isolation import services as isolation

    staff = acting(world.staff_a1)
    arrival = isolation.arrival_register(
        actor=staff, household=world.household_a1, name="刘某", id_type="resident_id",
        id_number=make_resident_id("420102", dt.date(1985, 4, 2), 321), phone="13911112222",
        origin_text="湖北省武汉市", transport="train", transport_number="G1722", arrival_date=timezone.localdate())
    case = isolation.case_open(actor=staff, arrival=arrival)
    driver = outsider(world, talents=[TalentInput(Skill.DRIVER, "C1")])
    as_user(client, world.staff_a1)
    page = client.get(reverse("isolation:case", args=[case.pk])).content.decode()
    form_url = reverse("volunteers:task_new", args=["isolation", case.pk])
    assert form_url in page
    due = timezone.localtime(timezone.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(form_url, {"volunteer": driver.pk, "what": "代购药品送到门口", "place": "5号302室",
                                      "due_at": due, "contact": "李慧敏 65430000"})
    assert response.status_code == 302
    task = VolunteerTask.objects.get()
    assert (task.source, task.source_id, task.committee) == ("isolation", case.pk, world.committee_a1)
    home = verified(client.__class__()).get(reverse("volunteers:my_home")).content.decode()
    assert "代购药品送到门口" in home and "刘某" not in home and "湖北" not in home
    # Another committee's staff: the case is the same 404 as a missing one.
    other = as_user(client.__class__(), world.staff_a2)
    assert other.get(form_url).status_code == 404
