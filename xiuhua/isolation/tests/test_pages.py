"""Pages of the isolation module: authorisation matrix and exact outcomes of every form.

Pages use the real clock, so cases open today and the contacts that should be overdue are moved
into the past with an update.
"""

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from xiuhua.accounts.models import User
from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.isolation import services
from xiuhua.isolation.models import Alert, Arrival, CaseStatus, CaseStep, Contact, IsolationCase, Step
from xiuhua.testing import acting, as_user

pytestmark = pytest.mark.django_db

ARRIVAL_ID = make_resident_id("420102", dt.date(1985, 4, 2), 321)


def snapshot():
    return (
        sorted(Arrival.objects.values_list("pk", "household_id")),
        sorted(IsolationCase.objects.values_list("pk", "status", "ends_on", "closed_note")),
        sorted(CaseStep.objects.values_list("pk", "done_at", "done_by_id", "note")),
        sorted(Contact.objects.values_list("pk", "due_at", "outcome", "temperature", "recorded_by_id")),
        Alert.objects.count(),
        AuditEvent.objects.count(),
    )


def open_case(w, household, *, name, number, staff=None, overdue_hours=()):
    """A case opened now (arrived today); its first contacts moved to `overdue_hours` ago."""
    actor = acting(staff or w.staff_a1)
    arrival = services.arrival_register(
        actor=actor, household=household, name=name, id_type="resident_id", id_number=number,
        phone="13911112222", origin_text="湖北省武汉市", transport="train", transport_number="G1722",
        arrival_date=timezone.localdate(),
    )
    case = services.case_open(actor=actor, arrival=arrival)
    now = timezone.now()
    for contact, hours in zip(Contact.objects.filter(case=case).order_by("due_at"), overdue_hours, strict=False):
        Contact.objects.filter(pk=contact.pk).update(due_at=now - dt.timedelta(hours=hours))
    return case


def overdue_of(case):
    return list(Contact.objects.filter(case=case, due_at__lte=timezone.now()).order_by("due_at"))


@pytest.fixture
def cases(world):
    """Committee A1: 周来沪 at 5号302 (the grid worker's grid), two contacts overdue, and 吴来沪 at
    6号101 (outside the grid), one overdue. Committee A2: 郑来沪, one overdue."""
    w = world
    grid_case = open_case(w, w.household_a1, name="周来沪", number=ARRIVAL_ID, overdue_hours=(5, 1))
    other_case = open_case(
        w, w.household_a1b, name="吴来沪", number=make_resident_id("420102", dt.date(1990, 1, 1), 123),
        overdue_hours=(3,),
    )
    a2_case = open_case(
        w, w.household_a2, name="郑来沪", number=make_resident_id("420102", dt.date(1992, 2, 2), 135),
        staff=w.staff_a2, overdue_hours=(2,),
    )
    return {"w": w, "grid": grid_case, "other": other_case, "a2": a2_case}


def photo_upload() -> SimpleUploadedFile:
    """A phone photo with EXIF, as cameras write it (the GPS tag is 34853)."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[34853] = {1: "N", 2: (31.0, 17.0, 0.0)}
    Image.new("RGB", (64, 48), "white").save(buffer, format="JPEG", exif=exif)
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif()[0x010F] == "PhoneMaker"
    return SimpleUploadedFile("pledge.jpg", buffer.getvalue(), content_type="image/jpeg")


def urls(s):
    case = s["grid"].pk
    return {
        "home": reverse("isolation:home"),
        "arrival_new": reverse("isolation:arrival_new"),
        "case": reverse("isolation:case", args=[case]),
        "step_complete": reverse("isolation:step_complete", args=[case, "verify"]),
        "case_extend": reverse("isolation:case_extend", args=[case]),
        "case_close": reverse("isolation:case_close", args=[case]),
        "pledge_photo": reverse("isolation:pledge_photo", args=[case]),
        "contact": reverse("isolation:contact", args=[overdue_of(s["grid"])[0].pk]),
        "contacts_well": reverse("isolation:contacts_well"),
        "contacts_due_xlsx": reverse("isolation:contacts_due_xlsx"),
        "alert_handle": reverse("isolation:alert_handle", args=[999_999]),  # none: a 404 past the gate
        "purchase_log": reverse("isolation:purchase_log", args=[case]),
        "arrival_open_case": reverse("isolation:arrival_open_case", args=[s["grid"].arrival_id]),
        "arrival_reject": reverse("isolation:arrival_reject", args=[s["grid"].arrival_id]),
        "arrival_merge": reverse("isolation:arrival_merge", args=[s["grid"].arrival_id]),
        "daily": reverse("isolation:daily"),
        "daily_xlsx": reverse("isolation:daily_xlsx"),
        "rentals": reverse("isolation:rentals"),
        "rental_unit": reverse("isolation:rental_unit", args=[s["w"].household_a2.pk]),
    }


NEEDS = {
    "home": "view_isolation",
    "arrival_new": "manage_isolation",
    "case": "view_isolation",
    "step_complete": "manage_isolation",
    "case_extend": "manage_isolation",
    "case_close": "manage_isolation",
    "pledge_photo": "view_isolation",
    "contact": "record_contact",
    "contacts_well": "record_contact",
    "contacts_due_xlsx": "view_isolation",
    "alert_handle": "record_contact",
    "purchase_log": "record_contact",
    "arrival_open_case": "manage_isolation",
    "arrival_reject": "manage_isolation",
    "arrival_merge": "manage_isolation",
    "daily": "view_isolation",
    "daily_xlsx": "view_isolation",
    "rentals": "view_isolation",
    "rental_unit": "manage_isolation",
}
# A user with a membership but without the capability: 403.
LACKING = {"view_isolation": "volunteer", "manage_isolation": "grid_a1", "record_contact": "street_a"}
POST = {
    "outcome": "well", "temperature": "36.6", "status": "transferred", "note": "x", "days": "2",
    "compound": 1, "building": "5", "room": "302", "name": "x", "phone": "13911112222", "origin_text": "x",
    "household_size": "1", "transport": "train", "arrival_date": "2020-02-10",
}


def test_every_url_is_in_the_matrix(cases):
    from xiuhua.isolation.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(cases)) == set(NEEDS)


def test_anonymous_goes_to_login_and_writes_nothing(client, cases):
    before = snapshot()
    for name, url in urls(cases).items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/"), name
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_wrong_role_is_refused_and_writes_nothing(client, cases, name):
    before = snapshot()
    url = urls(cases)[name]
    for username in (LACKING[NEEDS[name]], "volunteer", "pharmacy", "nobody", "sysadmin"):
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code in (403, 405), (name, username)
        assert client.post(url, POST).status_code == 403, (name, username)
    assert snapshot() == before


def test_right_user_gets_every_page(client, cases):
    for username, names in (
        ("staff_a1", ("home", "arrival_new", "case", "contact", "contacts_due_xlsx", "daily", "daily_xlsx", "rentals")),
        ("grid_a1", ("home", "case", "contact", "contacts_due_xlsx", "daily", "rentals")),
        ("street_a", ("home", "case", "daily", "daily_xlsx", "rentals")),
        ("district", ("home", "case", "daily", "rentals")),
    ):
        as_user(client, User.objects.get(username=username))
        for name in names:
            assert client.get(urls(cases)[name]).status_code == 200, (username, name)


def test_nav_link_shows_for_isolation_roles_only(client, world):
    link = reverse("isolation:home")
    for username, shown in (
        ("staff_a1", True), ("grid_a1", True), ("street_a", True), ("district", True),
        ("volunteer", False), ("pharmacy", False), ("sysadmin", False),
    ):
        as_user(client, User.objects.get(username=username))
        assert (f'href="{link}"' in client.get("/").content.decode()) is shown, username


# The overdue list and recording a contact


def test_the_overdue_list_shows_exactly_the_due_unrecorded_contacts(client, cases):
    w, grid_case, other = cases["w"], cases["grid"], cases["other"]
    g1, g2 = overdue_of(grid_case)
    [o1] = overdue_of(other)
    # A recorded contact and the future ones are not on the list.
    services.contact_record(actor=acting(w.staff_a1), contact=g1, outcome="well", temperature="36.5")
    as_user(client, w.staff_a1)
    response = client.get(reverse("isolation:home"))
    assert [c.pk for c in response.context["overdue"]] == [o1.pk, g2.pk]
    body = response.content.decode()
    assert 'href="tel:13911112222"' in body and "6号101室" in body and "5号302室" in body and "已迟" in body
    assert f'href="{reverse("isolation:contact", args=[g2.pk])}"' in body
    assert "郑来沪" not in body  # committee A2's
    # The open cases: days left and steps done.
    rows = response.context["case_rows"]
    assert [(c.pk, c.steps_done, left.days) for c, left in rows] == [(grid_case.pk, 0, 14), (other.pk, 0, 14)]
    assert 'id="alerts"' not in body

    # The grid worker sees their grid only.
    as_user(client, w.grid_worker)
    response = client.get(reverse("isolation:home"))
    assert [c.pk for c in response.context["overdue"]] == [g2.pk]
    assert [c.pk for c, _left in response.context["case_rows"]] == [grid_case.pk]
    assert 'id="arrival-new"' not in response.content.decode()


def test_recording_a_contact_via_the_page(client, cases):
    w, grid_case = cases["w"], cases["grid"]
    g1, g2 = overdue_of(grid_case)
    as_user(client, w.grid_worker)
    url = reverse("isolation:contact", args=[g1.pk])
    page = client.get(url).content.decode()
    assert 'id="contact-form"' in page and 'inputmode="decimal"' in page and 'href="tel:13911112222"' in page
    assert all(label in page for label in ("情况良好", "身体不适", "未联系上"))

    # Errors from the service are shown on the form, and nothing is written.
    before = snapshot()
    response = client.post(url, {"outcome": "well", "temperature": "3.65"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"temperature": ["体温应在34到43℃之间,请核对"]}
    assert "体温应在34到43℃之间,请核对" in response.content.decode()
    response = client.post(url, {"outcome": "unwell"})
    assert response.context["form"].errors == {"symptoms": ["身体不适时请填写体温或症状"]}
    response = client.post(url, {"outcome": "not_reached", "temperature": "36.5"})
    assert response.context["form"].errors == {"outcome": ["未联系上时不能填写体温和症状"]}
    response = client.post(url, {"temperature": "36.5"})
    assert response.context["form"].errors == {"outcome": ["请选择联系结果"]}
    assert snapshot() == before

    response = client.post(url, {"outcome": "well", "temperature": "36.6", "symptoms": ""})
    assert response.status_code == 302 and response["Location"] == reverse("isolation:home")
    g1.refresh_from_db()
    assert (g1.outcome, str(g1.temperature), g1.recorded_by, g1.via) == ("well", "36.6", w.grid_worker, "phone")
    home = client.get(response["Location"])
    assert "已记录:周来沪 情况良好" in home.content.decode()
    assert [c.pk for c in home.context["overdue"]] == [g2.pk]
    # Recorded: the page shows the result, without a form.
    page = client.get(url).content.decode()
    assert 'id="contact-result"' in page and 'id="contact-form"' not in page

    # A fever raises an alert, shown in red at the top and counted for the street.
    client.post(reverse("isolation:contact", args=[g2.pk]), {"outcome": "unwell", "temperature": "38.2"})
    home = client.get(reverse("isolation:home"))
    assert [a.kind for a in home.context["alerts"]] == ["fever"]
    assert 'id="alerts"' in home.content.decode() and "发热" in home.content.decode()
    as_user(client, w.street_officer)
    rows = {u.name: (u.cases_open, u.overdue, u.alerts) for u in client.get(reverse("isolation:home")).context[
        "committee_rows"]}
    assert rows == {"国和一村居委会": (2, 1, 1), "国和二村居委会": (1, 1, 0)}


def test_street_and_district_see_figures_per_committee(client, cases):
    as_user(client, cases["w"].street_officer)
    response = client.get(reverse("isolation:home"))
    rows = [(u.name, u.cases_open, u.overdue, u.alerts) for u in response.context["committee_rows"]]
    assert rows == [("国和一村居委会", 2, 3, 0), ("国和二村居委会", 1, 1, 0)]
    assert response.context["totals"] == {"cases_open": 3, "overdue": 4, "alerts": 0}
    assert "overdue" not in response.context and "周来沪" not in response.content.decode()
    as_user(client, cases["w"].district_officer)
    response = client.get(reverse("isolation:home"))
    rows = [(u.parent.name, u.name, u.cases_open, u.overdue) for u in response.context["committee_rows"]]
    assert rows == [
        ("长海路街道", "国和一村居委会", 2, 3),
        ("长海路街道", "国和二村居委会", 1, 1),
        ("五角场街道", "政立路居委会", 0, 0),
    ]


def test_another_committee_gets_404_for_the_case_and_the_contact(client, cases):
    w, grid_case = cases["w"], cases["grid"]
    contact = overdue_of(grid_case)[0]
    before = snapshot()
    for user in (w.staff_a2, w.staff_b1):
        as_user(client, user)
        assert client.get(reverse("isolation:case", args=[grid_case.pk])).status_code == 404
        assert client.get(reverse("isolation:case", args=[999999])).status_code == 404
        assert client.get(reverse("isolation:contact", args=[contact.pk])).status_code == 404
        assert client.post(reverse("isolation:contact", args=[contact.pk]), {"outcome": "well"}).status_code == 404
        assert client.post(reverse("isolation:contact", args=[999999]), {"outcome": "well"}).status_code == 404
        for name, data in (
            ("case_close", {"status": "transferred", "note": "x"}),
            ("case_extend", {"days": "2", "note": "x"}),
        ):
            assert client.post(reverse(f"isolation:{name}", args=[grid_case.pk]), data).status_code == 404
        step_url = reverse("isolation:step_complete", args=[grid_case.pk, "verify"])
        assert client.post(step_url, {"note": "x"}).status_code == 404
    # Street B has no case of street A.
    as_user(client, w.street_officer_b)
    assert client.get(reverse("isolation:case", args=[grid_case.pk])).status_code == 404
    # The grid worker: a case of the committee outside their grid is not there either.
    as_user(client, w.grid_worker)
    other_contact = overdue_of(cases["other"])[0]
    assert client.get(reverse("isolation:case", args=[cases["other"].pk])).status_code == 404
    assert client.post(reverse("isolation:contact", args=[other_contact.pk]), {"outcome": "well"}).status_code == 404
    assert snapshot() == before


def test_grid_worker_records_but_cannot_register_or_close(client, cases):
    w, grid_case = cases["w"], cases["grid"]
    as_user(client, w.grid_worker)
    page = client.get(reverse("isolation:case", args=[grid_case.pk]))
    body = page.content.decode()
    assert page.context["close_form"] is None and page.context["extend_form"] is None
    assert 'id="close-form"' not in body and "step-form" not in body
    assert all(form is None for _step, form in page.context["steps"])
    before = snapshot()
    assert client.get(reverse("isolation:arrival_new")).status_code == 403
    assert client.post(reverse("isolation:arrival_new"), POST).status_code == 403
    assert client.post(reverse("isolation:case_close", args=[grid_case.pk]), POST).status_code == 403
    assert client.post(reverse("isolation:case_extend", args=[grid_case.pk]), POST).status_code == 403
    step_url = reverse("isolation:step_complete", args=[grid_case.pk, "verify"])
    assert client.post(step_url, {"note": "x"}).status_code == 403
    assert snapshot() == before
    contact = overdue_of(grid_case)[0]
    response = client.post(reverse("isolation:contact", args=[contact.pk]), {"outcome": "not_reached"})
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).recorded_by == w.grid_worker


# Registering an arrival


def arrival_data(w, **change):
    return {
        "compound": w.compound_a1.pk, "building": "5号楼", "room": "302", "name": "钱来沪", "id_type": "resident_id",
        "id_number": make_resident_id("420106", dt.date(1979, 9, 9), 455), "phone": "139 1111 3333",
        "origin_text": "湖北省武汉市", "household_size": "2", "transport": "flight", "transport_number": "mu2529",
        "arrival_date": timezone.localdate().isoformat(),
    } | change


def test_register_an_arrival_opens_the_case(client, world):
    w = world
    as_user(client, w.staff_a1)
    page = client.get(reverse("isolation:arrival_new"))
    assert [c.name for c in page.context["form"].fields["compound"].queryset] == ["国和一村"]
    before = timezone.now()
    response = client.post(reverse("isolation:arrival_new"), arrival_data(w))
    after = timezone.now()
    case = IsolationCase.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("isolation:case", args=[case.pk])
    arrival = case.arrival
    assert (arrival.household, arrival.committee, arrival.phone, arrival.household_size, arrival.transport_number) == (
        w.household_a1, w.committee_a1, "13911113333", 2, "MU2529")
    assert (case.status, case.starts_on, case.ends_on) == (
        "open", timezone.localdate(), timezone.localdate() + dt.timedelta(days=14))
    # Twice a day (09:00, 16:00) for the 13 days after today, and today's times still ahead when
    # the case was opened: the count depends on the hour the test runs at, never on chance.
    def ahead(moment):
        today = timezone.localdate(moment)
        return sum(dt.datetime.combine(today, t, tzinfo=timezone.get_current_timezone()) >= moment
                   for t in case.rule.times())
    assert CaseStep.objects.filter(case=case).count() == 5
    assert Contact.objects.filter(case=case).count() in {26 + ahead(before), 26 + ahead(after)}
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "已登记钱来沪,开始居家隔离" in body
    assert arrival.id_masked in body and arrival_data(w)["id_number"] not in body
    assert page.context["days_left"].days == 14 and 'id="close-form"' in body and 'id="extend-form"' in body
    # The same person and day again (a double tap) is the same arrival and case.
    again = client.post(reverse("isolation:arrival_new"), arrival_data(w))
    assert again["Location"] == reverse("isolation:case", args=[case.pk])
    assert Arrival.objects.count() == 1 and IsolationCase.objects.count() == 1


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"id_number": "420102198504023210"}, "id_number", "证件号码校验位不正确,请核对"),
        ({"building": "9号"}, "building", "国和一村没有“9号”这个楼号,请核对"),
        ({"room": "808室"}, "room", "花名册中没有国和一村5号808室这一户"),
        ({"compound": "COMPOUND_A2"}, "compound", "请选择本居委会的小区"),
        ({"phone": "12345"}, "phone", "手机号码格式不正确"),
        ({"phone": ""}, "phone", "请填写手机号码,每日联系要用"),
        ({"origin_text": " "}, "origin_text", "请填写从哪里来"),
        ({"transport": ""}, "transport", "请选择交通方式"),
        ({"household_size": "30"}, "household_size", "同住人数应在1到20之间"),
        ({"arrival_date": "TOMORROW"}, "arrival_date", "抵沪日期不能晚于今天"),
        ({"arrival_date": "LONG_AGO"}, "arrival_date", "隔离期已过,无需再开隔离"),
    ],
)
def test_bad_arrival_input_is_shown_in_chinese_and_writes_nothing(client, world, change, field, message):
    w = world
    today = timezone.localdate()
    replace = {
        "COMPOUND_A2": w.compound_a2.pk, "TOMORROW": (today + dt.timedelta(days=1)).isoformat(),
        "LONG_AGO": (today - dt.timedelta(days=20)).isoformat(),
    }
    change = {k: replace.get(v, v) for k, v in change.items()}
    before = snapshot()
    as_user(client, w.staff_a1)
    response = client.post(reverse("isolation:arrival_new"), arrival_data(w, **change))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field])
    assert message in response.content.decode()
    assert snapshot() == before


# The case page: steps, extend, close


def test_ticking_the_steps_via_the_page(client, cases):
    w, case = cases["w"], cases["grid"]
    as_user(client, w.staff_a1)
    page = client.get(reverse("isolation:case", args=[case.pk])).content.decode()
    for label in ("健康登记表", "隔离承诺书已签", "防疫包已发放"):
        assert label in page
    url = reverse("isolation:step_complete", args=[case.pk, Step.DOOR_VISIT])
    before = snapshot()
    response = client.post(url, {"health_form": "on", "kit_given": "on", "note": "三人上门"})
    assert response.status_code == 200
    [(_step, form)] = [(s, f) for s, f in response.context["steps"] if s.step == Step.DOOR_VISIT]
    assert form.non_field_errors() == ["上门时须填写健康登记表、签署隔离承诺书并发放防疫包"]
    assert "上门时须填写健康登记表" in response.content.decode()
    assert snapshot() == before
    ticked = {"health_form": "on", "pledge_signed": "on", "kit_given": "on", "note": "三人上门"}
    no_photo = client.post(url, ticked)
    assert no_photo.status_code == 200 and "请拍下签好的隔离承诺书上传" in no_photo.content.decode()
    not_image = client.post(url, ticked | {"pledge_photo": SimpleUploadedFile("p.jpg", b"not a picture")})
    assert "无法识别该照片" in not_image.content.decode()
    assert snapshot() == before
    response = client.post(url, ticked | {"pledge_photo": photo_upload()})
    assert response.status_code == 302 and response["Location"] == reverse("isolation:case", args=[case.pk])
    step = CaseStep.objects.get(case=case, step=Step.DOOR_VISIT)
    assert (step.done_by, step.note, step.pledge_signed) == (w.staff_a1, "三人上门", True)
    # Stored re-encoded, without the EXIF (location) the phone wrote; viewing it is audited.
    stored = Image.open(step.pledge_photo.open("rb"))
    assert stored.format == "JPEG" and not stored.getexif()
    photo = client.get(reverse("isolation:pledge_photo", args=[case.pk]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert AuditEvent.objects.filter(action="isolation_pledge_view", personal=True, actor=w.staff_a1).count() == 1
    as_user(client, w.staff_a2)
    assert client.get(reverse("isolation:pledge_photo", args=[case.pk])).status_code == 404
    as_user(client, w.staff_a1)
    client.post(reverse("isolation:step_complete", args=[case.pk, Step.VERIFY]), {"note": ""})
    page = client.get(reverse("isolation:case", args=[case.pk]))
    assert page.context["steps_done"] == 2 and "已完成:三人小组上门" in page.content.decode()
    home = client.get(reverse("isolation:home"))
    assert [(c.pk, c.steps_done) for c, _left in home.context["case_rows"]][0] == (case.pk, 2)
    assert client.post(reverse("isolation:step_complete", args=[case.pk, "dance"]), {}).status_code == 404


def test_extend_and_close_via_the_page(client, cases):
    w, case = cases["w"], cases["grid"]
    as_user(client, w.staff_a1)
    extend = reverse("isolation:case_extend", args=[case.pk])
    close = reverse("isolation:case_close", args=[case.pk])
    before = snapshot()
    response = client.post(extend, {"days": "2", "note": " "})
    assert response.context["extend_form"].errors == {"note": ["请写明延长原因"]}
    response = client.post(extend, {"days": "40", "note": "同住人出现症状"})
    assert response.context["extend_form"].errors == {"days": ["延长天数应在1到28之间"]}
    response = client.post(close, {"status": "released"})
    end = case.ends_on.isoformat()
    assert response.context["close_form"].errors == {"__all__": [f"未到解除日期({end})"]}
    response = client.post(close, {"status": "transferred", "note": ""})
    assert response.context["close_form"].errors == {"note": ["请写明转往何处"]}
    assert "请写明转往何处" in response.content.decode()
    assert snapshot() == before

    response = client.post(extend, {"days": "2", "note": "同住人出现症状"})
    assert response.status_code == 302 and response["Location"] == reverse("isolation:case", args=[case.pk])
    case.refresh_from_db()
    assert case.ends_on == timezone.localdate() + dt.timedelta(days=16)
    assert AuditEvent.objects.filter(action="isolation_case_extend").count() == 1

    response = client.post(close, {"status": "hospital", "note": "120送市公卫中心"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.closed_note) == (CaseStatus.HOSPITAL, "120送市公卫中心")
    assert not Contact.objects.filter(case=case, due_at__gt=timezone.now()).exists()
    page = client.get(reverse("isolation:case", args=[case.pk]))
    body = page.content.decode()
    assert "已送医" in body and 'id="close-form"' not in body and 'id="extend-form"' not in body
    # Off the committee's lists.
    home = client.get(reverse("isolation:home"))
    assert case.pk not in [c.pk for c, _left in home.context["case_rows"]]
    assert case.pk not in [c.case_id for c in home.context["overdue"]]


def test_release_on_the_end_day_via_the_page(client, cases):
    w, case = cases["w"], cases["grid"]
    IsolationCase.objects.filter(pk=case.pk).update(ends_on=timezone.localdate())
    as_user(client, w.staff_a1)
    assert "今日可解除" in client.get(reverse("isolation:case", args=[case.pk])).content.decode()
    response = client.post(reverse("isolation:case_close", args=[case.pk]), {"status": "released"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.RELEASED
    # The overdue contacts of a closed case are no longer on the list, nor recordable.
    contact = overdue_of(case)[0]
    page = client.get(reverse("isolation:contact", args=[contact.pk])).content.decode()
    assert "该隔离已结束" in page and 'id="contact-form"' not in page


def test_the_case_page_lists_due_contacts_and_the_next_one(client, cases):
    w, case = cases["w"], cases["grid"]
    g1, g2 = overdue_of(case)
    as_user(client, w.staff_a1)
    page = client.get(reverse("isolation:case", args=[case.pk]))
    shown = [c.pk for c in page.context["contacts"]]
    assert shown[:2] == [g1.pk, g2.pk]
    body = page.content.decode()
    assert re.search(r'id="upcoming">下次联系', body)
    assert f'href="{reverse("isolation:contact", args=[g1.pk])}"' in body


def test_an_arrival_registered_by_another_committee_is_not_taken_over(client, cases):
    """The same identity number and arrival day is one arrival: A2 cannot register A1's again."""
    w = cases["w"]
    before = snapshot()
    as_user(client, w.staff_a2)
    data = arrival_data(w, compound=w.compound_a2.pk, building="12", room="201", id_number=ARRIVAL_ID)
    response = client.post(reverse("isolation:arrival_new"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"id_number": ["此人当天的抵沪登记已在其他居委会,请与街道核实"]}
    assert snapshot() == before


def test_the_health_centre_follows_its_streets_alerts_and_records_contacts(client, cases):
    from xiuhua.accounts.roles import Role
    from xiuhua.testing import make_user

    w, case = cases["w"], cases["grid"]
    centre = make_user("health_a", Role.HEALTH_CENTRE, w.street_a)
    other = make_user("health_b", Role.HEALTH_CENTRE, w.street_b)
    g1, g2 = overdue_of(case)
    services.contact_record(actor=acting(w.staff_a1), contact=g1, outcome="unwell", temperature="38.2")
    as_user(client, centre)
    response = client.get(reverse("isolation:home"))
    assert [(a.case_id, a.kind) for a in response.context["alerts"]] == [(case.pk, "fever")]
    body = response.content.decode()
    assert 'id="alerts"' in body and "国和一村居委会 国和一村5号302室" in body and 'id="committees"' in body
    page = client.get(reverse("isolation:case", args=[case.pk]))
    assert page.context["can_record"] and page.context["close_form"] is None
    response = client.post(reverse("isolation:contact", args=[g2.pk]), {"outcome": "well", "temperature": "37.0"})
    assert response.status_code == 302
    assert Contact.objects.get(pk=g2.pk).recorded_by == centre
    # Street officers see the alerts by committee and case number, without name, address or
    # phone, and cannot close them; another street's centre sees nothing.
    as_user(client, w.street_officer)
    response = client.get(reverse("isolation:home"))
    assert [(a.case_id, a.kind) for a in response.context["alerts"]] == [(case.pk, "fever")]
    body = response.content.decode()
    card = body[body.index('id="alerts"'):body.index("</div>", body.index('id="alerts"'))]
    assert f"国和一村居委会第{case.pk}号隔离对象" in card and "38.2℃" in card
    assert case.arrival.name not in card and case.arrival.phone not in card and "5号302室" not in card
    assert "alert-handle" not in card
    as_user(client, other)
    assert client.get(reverse("isolation:home")).context["alerts"] == []
    assert client.get(reverse("isolation:case", args=[case.pk])).status_code == 404


def test_alert_is_handled_from_the_home_page_and_leaves_it(client, world):
    case = services.case_open(
        actor=acting(world.staff_a1),
        arrival=services.arrival_register(
            actor=acting(world.staff_a1), household=world.household_a1, name="预警测试", id_type="resident_id",
            id_number="", phone="13911113333", origin_text="外省", transport="car", arrival_date=timezone.localdate(),
        ),
    )
    contact = Contact.objects.filter(case=case).first()
    Contact.objects.filter(pk=contact.pk).update(due_at=timezone.now() - dt.timedelta(minutes=5))
    contact.refresh_from_db()
    services.contact_record(actor=acting(world.staff_a1), contact=contact, outcome="unwell", temperature="38.1")
    alert = Alert.objects.get()
    client.force_login(world.staff_a2)
    assert client.post(f"/isolation/alerts/{alert.pk}/handle/", {"note": "x"}).status_code == 404
    client.force_login(world.staff_a1)
    page = client.get("/isolation/")
    assert f'id="alert-{alert.pk}"' in page.content.decode()
    response = client.post(f"/isolation/alerts/{alert.pk}/handle/", {"note": "社区医生已上门", "next": "/elsewhere"})
    assert response.status_code == 302 and response["Location"] == "/isolation/"
    alert.refresh_from_db()
    assert (alert.handled_note, alert.handled_by) == ("社区医生已上门", world.staff_a1)
    assert f'id="alert-{alert.pk}"' not in client.get("/isolation/").content.decode()


def test_daily_report_page_and_excel(client, cases):
    import io

    import openpyxl

    w = cases["w"]
    as_user(client, w.street_officer)
    today = timezone.localdate().isoformat()
    page = client.get(reverse("isolation:daily"), {"day": today})
    rows = {c.name: r for c, r in page.context["rows"]}
    assert rows["国和一村居委会"].in_isolation == 2 and rows["国和二村居委会"].in_isolation == 1
    assert (page.context["total"].in_isolation, page.context["total"].arrivals) == (3, 3)
    response = client.get(reverse("isolation:daily_xlsx"), {"day": today})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == f"长海路街道 每日防控情况汇总 {today}"
    assert values[-1][0] == "合计" and values[-1][2] == 3
    assert "来沪" not in str(values)  # counts only: no names leave with the file


def test_rental_screening_through_the_pages(client, cases):
    from xiuhua.isolation.models import RentalScreening

    w = cases["w"]
    url = reverse("isolation:rental_unit", args=[w.household_a2.pk])
    as_user(client, w.staff_a1)
    assert client.get(url).status_code == 404  # A2's unit
    as_user(client, w.staff_a2)
    bad = client.post(url, {"tenants": "3", "whereabouts": "away"})
    assert bad.status_code == 200 and "在外地时请写明所在地" in bad.content.decode()
    assert not RentalScreening.objects.exists()
    ok = client.post(url, {"tenants": "3", "reached": "on", "whereabouts": "away", "away_place": "安徽省阜阳市",
                           "group_rental": "on"})
    assert ok.status_code == 302 and ok["Location"] == reverse("isolation:rentals")
    listing = client.get(reverse("isolation:rentals"))
    [(committee, progress)] = listing.context["progress"]
    assert (committee, progress.units, progress.screened, progress.away, progress.group_rentals) == (
        w.committee_a2, 1, 1, 1, 1)
    assert "安徽省阜阳市" in listing.content.decode()
    as_user(client, w.street_officer)
    street = dict(client.get(reverse("isolation:rentals")).context["progress"])
    assert (street[w.committee_a1].units, street[w.committee_a2].screened) == (0, 1)


def test_arrival_from_a_key_region_picked_from_the_list(client, world):
    from xiuhua.isolation.models import KeyRegion

    region = KeyRegion.objects.create(province="湖北省", city="武汉市", since=dt.date(2020, 1, 23))
    KeyRegion.objects.create(province="浙江省", city="温州市", since=dt.date(2020, 2, 1), active=False)
    as_user(client, world.staff_a1)
    page = client.get(reverse("isolation:arrival_new")).content.decode()
    assert "湖北省武汉市" in page and "浙江省温州市" not in page
    response = client.post(reverse("isolation:arrival_new"), {
        "compound": world.compound_a1.pk, "building": "5号", "room": "302", "name": "名单来人",
        "id_type": "resident_id", "id_number": "", "phone": "13955556666", "origin": region.pk,
        "household_size": "2", "transport": "flight", "transport_number": "mu5332",
        "arrival_date": timezone.localdate().isoformat(),
    })
    assert response.status_code == 302
    arrival = Arrival.objects.get(name="名单来人")
    assert (arrival.origin, arrival.origin_text, arrival.transport_number) == (region, "湖北省武汉市", "MU5332")


def test_purchase_on_their_behalf_is_logged(client, cases):
    from xiuhua.isolation.models import Purchase

    w, case = cases["w"], cases["grid"]
    url = reverse("isolation:purchase_log", args=[case.pk])
    as_user(client, w.grid_worker)
    bad = client.post(url, {"items": "", "amount": "abc"})
    assert bad.status_code == 200 and "请填写代购了什么" in bad.content.decode()
    assert client.post(url, {"items": "大米5斤、降压药", "amount": "abc"}).status_code == 200
    assert not Purchase.objects.exists()
    assert client.post(url, {"items": "大米5斤、降压药", "amount": "86.5"}).status_code == 302
    purchase = Purchase.objects.get()
    assert (purchase.items, str(purchase.amount), purchase.settled, purchase.bought_by) == (
        "大米5斤、降压药", "86.50", False, w.grid_worker)
    as_user(client, w.staff_a2)
    assert client.post(url, {"items": "x"}).status_code == 404
    as_user(client, w.staff_a1)
    assert "大米5斤、降压药" in client.get(reverse("isolation:case", args=[case.pk])).content.decode()


def test_self_registered_arrival_waits_then_staff_open_the_case(client, world):
    from xiuhua.isolation.models import Channel as ArrivalChannel

    arrival = services.arrival_register(
        actor=None, channel=ArrivalChannel.SELF, household=world.household_a1, name="自助登记", id_type="resident_id",
        id_number=make_resident_id("420102", dt.date(1991, 3, 3), 246), phone="13966667777", origin_text="湖北省",
        transport="train", arrival_date=timezone.localdate(),
    )
    as_user(client, world.staff_a1)
    page = client.get(reverse("isolation:home")).content.decode()
    assert f'id="arrival-{arrival.pk}"' in page and "自助登记" in page
    as_user(client, world.staff_a2)
    assert client.post(reverse("isolation:arrival_open_case", args=[arrival.pk])).status_code == 404
    as_user(client, world.staff_a1)
    response = client.post(reverse("isolation:arrival_open_case", args=[arrival.pk]))
    case = IsolationCase.objects.get(arrival=arrival)
    assert response["Location"] == reverse("isolation:case", args=[case.pk])
    assert f'id="arrival-{arrival.pk}"' not in client.get(reverse("isolation:home")).content.decode()


def test_staff_see_registrations_of_one_number_side_by_side_and_reject_or_merge(client, world):
    from xiuhua.isolation.models import Channel as ArrivalChannel

    common = dict(actor=None, channel=ArrivalChannel.SELF, household=world.household_a1, name="周来沪",
                  id_type="resident_id", id_number=ARRIVAL_ID, origin_text="湖北省", transport="train")
    typed_by_someone = services.arrival_register(phone="13900007777",
                                                 arrival_date=timezone.localdate() - dt.timedelta(days=3), **common)
    own = services.arrival_register(phone="13955556666", arrival_date=timezone.localdate(), **common)
    as_user(client, world.staff_a1)
    page = client.get(reverse("isolation:home")).content.decode()
    assert f'id="same-{own.pk}-{typed_by_someone.pk}"' in page
    assert f'id="same-{typed_by_someone.pk}-{own.pk}"' in page

    before = snapshot()
    assert client.post(reverse("isolation:arrival_reject", args=[typed_by_someone.pk]), {"reason": ""}
                       ).status_code == 302
    assert snapshot() == before  # no reason, nothing changed
    response = client.post(reverse("isolation:arrival_reject", args=[typed_by_someone.pk]), {"reason": "非本人"})
    assert response["Location"] == reverse("isolation:home")
    typed_by_someone.refresh_from_db()
    assert typed_by_someone.status == "rejected"
    duplicate = services.arrival_register(phone="13900008888", arrival_date=timezone.localdate(), **common)
    response = client.post(reverse("isolation:arrival_merge", args=[duplicate.pk]), {"into": own.pk})
    assert response["Location"] == reverse("isolation:home")
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == ("merged", own.pk)
    # Another committee gets 404 for both, and nothing changes.
    as_user(client, world.staff_a2)
    before = snapshot()
    assert client.post(reverse("isolation:arrival_reject", args=[own.pk]), {"reason": "x"}).status_code == 404
    assert client.post(reverse("isolation:arrival_merge", args=[own.pk]), {"into": own.pk}).status_code == 404
    assert snapshot() == before


def test_first_page_after_login_points_at_the_waiting_work(client, cases):
    w = cases["w"]
    for user, expected in ((w.staff_a1, "居家隔离待联系 3 次"), (w.grid_worker, "居家隔离待联系 2 次")):
        as_user(client, user)
        page = client.get("/").content.decode()
        assert 'id="waiting-work"' in page and expected in page, user
    as_user(client, w.staff_a1)
    assert "清单人员待落实 0 人" in client.get("/").content.decode()
    as_user(client, User.objects.get(username="volunteer"))
    assert 'id="waiting-work"' not in client.get("/").content.decode()


def test_self_registrations_waiting_to_be_checked_are_on_the_committees_to_do_list(client, world):
    from xiuhua.isolation.models import Channel as ArrivalChannel

    def self_register(n: int):
        return services.arrival_register(
            actor=None, channel=ArrivalChannel.SELF, household=world.household_a1, name=f"自助登记{n}",
            id_type="resident_id", id_number=make_resident_id("420102", dt.date(1991, 3, n), 246),
            phone="13966667777", origin_text="湖北省", transport="train", arrival_date=timezone.localdate(),
        )

    first, _second = self_register(3), self_register(4)
    as_user(client, world.staff_a1)
    page = client.get("/").content.decode()
    item = re.search(r'<li id="work-arrivals-awaiting">(.*?)</li>', page, re.S)
    assert item is not None and f'href="{reverse("isolation:home")}#awaiting"' in item[1]
    assert "自主登记待核实 2 人" in item[1]
    # Checked (the case opened): one left. Another committee and a grid worker see none.
    client.post(reverse("isolation:arrival_open_case", args=[first.pk]))
    assert "自主登记待核实 1 人" in client.get("/").content.decode()
    for user in (world.staff_a2, world.grid_worker):
        as_user(client, user)
        assert "自主登记待核实" not in client.get("/").content.decode()


def test_the_grid_worker_records_the_ticked_due_contacts_as_well_at_once(client, cases):
    w = cases["w"]
    mine = overdue_of(cases["grid"])
    as_user(client, w.grid_worker)
    page = client.get(reverse("isolation:home")).content.decode()
    for number, contact in enumerate(mine, start=1):
        row = re.search(rf'<tr id="contact-{contact.pk}">.*?</tr>', page, re.S)[0]
        assert f'name="contacts" value="{contact.pk}" form="bulk-well"' in row
        assert f'<td class="seq" data-label="序号">{number}</td>' in row
    assert 'id="bulk-well"' in page and '<th class="print-only">体温/情况</th>' in page
    assert re.search(rf'<p class="print-note">{w.committee_a1.name} · 打印于 [^<]+ · 筛选:全部待联系人员</p>', page)
    before = AuditEvent.objects.filter(action="isolation_contact_record").count()
    response = client.post(reverse("isolation:contacts_well"), {"contacts": [c.pk for c in mine]})
    assert response.status_code == 302 and response["Location"] == reverse("isolation:home")
    for contact in mine:
        contact.refresh_from_db()
        assert (contact.outcome, contact.via, contact.recorded_by, contact.temperature, contact.symptoms) == (
            "well", "phone", w.grid_worker, None, "")
    assert AuditEvent.objects.filter(action="isolation_contact_record").count() == before + 2
    assert not Alert.objects.exists()
    page = client.get(reverse("isolation:home")).content.decode()
    assert "已记录2人电话联系,情况良好" in page and 'id="bulk-well"' not in page


def test_a_bulk_record_with_a_contact_outside_the_worker_records_none(client, cases):
    w = cases["w"]
    mine, outside = overdue_of(cases["grid"]), overdue_of(cases["other"])
    as_user(client, w.grid_worker)
    before = snapshot()
    response = client.post(reverse("isolation:contacts_well"), {"contacts": [mine[0].pk, outside[0].pk]})
    assert response.status_code == 302
    assert "所选联系中有的不在您的范围内,请刷新页面后重新勾选" in client.get(reverse("isolation:home")).content.decode()
    client.post(reverse("isolation:contacts_well"), {})
    assert "请先勾选已联系、情况良好的人员" in client.get(reverse("isolation:home")).content.decode()
    assert snapshot() == before
    # One recorded meanwhile (unwell): the batch is refused and names it.
    services.contact_record(actor=acting(w.grid_worker), contact=mine[0], outcome="unwell", temperature="37.9")
    before = snapshot()
    client.post(reverse("isolation:contacts_well"), {"contacts": [c.pk for c in mine]})
    body = client.get(reverse("isolation:home")).content.decode()
    assert "周来沪" in body and "该次联系已记录过" in body
    assert snapshot() == before and Contact.objects.get(pk=mine[1].pk).outcome == ""
