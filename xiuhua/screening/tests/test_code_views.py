"""Pages of the sampling codes: the authorisation matrix, exact outcomes of each staff page, and a
resident's codes on a phone after the SMS sign-in."""

import base64
import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.conftest import browser  # noqa: F401 - the browser tests' headless Chromium
from xiuhua.accounts.models import User
from xiuhua.core.models import AuditEvent
from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.residents.models import Relation
from xiuhua.screening.models import SamplingCode
from xiuhua.screening.services_codes import codes_generate
from xiuhua.testing import acting, as_user, make_resident, qr_codes_in_pdf, qr_codes_in_png

pytestmark = pytest.mark.django_db


def snapshot():
    return (sorted(SamplingCode.objects.values_list("pk", "reference")),
            sorted(AuditEvent.objects.values_list("pk", "action")))


def urls(world, screening):
    r = screening.round.pk
    visitor = SamplingCode.objects.filter(round=screening.round, walk_in=True).first() or SamplingCode.objects.create(
        round=screening.round, reference="0123456789ABX", committee=world.committee_a1, name_masked="陈**",
        phone="13800001234", walk_in=True, walk_in_name="陈访客")
    return {
        "codes_rounds": reverse("screening:codes_rounds"),
        "codes_round": reverse("screening:codes_round", args=[r]),
        "codes_generate": reverse("screening:codes_generate", args=[r, world.committee_a1.pk]),
        "codes_labels": reverse("screening:codes_labels", args=[r, world.building_a1.pk, "a4"]),
        "codes_walk_in": reverse("screening:codes_walk_in", args=[r]),
        "codes_label": reverse("screening:codes_label", args=[r, visitor.pk, "50x30"]),
    }


RESIDENT_URLS = {"my_start", "my_otp_send", "my_verify", "my_logout", "my_codes"}
NEEDS = {
    "codes_rounds": "issue_codes",
    "codes_round": "issue_codes",
    "codes_generate": "issue_codes",
    "codes_labels": "issue_codes",
    "codes_walk_in": "issue_or_collect",
    "codes_label": "issue_or_collect",
}
LACKING = {
    "issue_codes": ("volunteer", "grid_a1", "district", "pharmacy", "sysadmin", "nobody"),
    "issue_or_collect": ("grid_a1", "district", "pharmacy", "sysadmin", "nobody"),
}
POST = {"committee": "1", "name": "陈访客", "phone": "13800001234", "building": "", "room": ""}


def test_every_url_is_in_the_matrix(world, screening):
    from xiuhua.screening.urls_codes import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(world, screening)) | RESIDENT_URLS
    assert set(NEEDS) == set(urls(world, screening))


def test_anonymous_goes_to_login_and_writes_nothing(client, world, screening):
    pages = urls(world, screening)
    before = snapshot()
    for name, url in pages.items():
        for response in (client.get(url), client.post(url, POST)):
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/"), name
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_wrong_role_is_refused_and_writes_nothing(client, world, screening, name):
    url = urls(world, screening)[name]
    before = snapshot()
    for username in LACKING[NEEDS[name]]:
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code in (403, 405), (name, username)
        assert client.post(url, POST).status_code == 403, (name, username)
    assert snapshot() == before


def test_other_committee_and_street_get_404_and_write_nothing(client, world, screening):
    pages = urls(world, screening)
    before = snapshot()
    r = screening.round.pk
    as_user(client, world.staff_a2)
    assert client.post(reverse("screening:codes_generate", args=[r, world.committee_a1.pk])).status_code == 404
    assert client.get(reverse("screening:codes_labels", args=[r, world.building_a1.pk, "40x30"])).status_code == 404
    assert client.get(reverse("screening:codes_round", args=[r]) + f"?c={world.committee_a1.pk}").status_code == 404
    assert client.get(pages["codes_label"]).status_code == 404  # committee A1's visitor
    as_user(client, world.staff_b1)
    for name, url in pages.items():
        if name != "codes_rounds":
            assert client.get(url).status_code in (404, 405), name
            assert client.post(url, POST).status_code in (404, 405), name
    as_user(client, world.staff_a1)
    assert client.get(reverse("screening:codes_round", args=[screening.round_b.pk])).status_code == 404
    assert client.get(reverse("screening:codes_labels", args=[r, world.building_a1.pk, "a5"])).status_code == 404
    assert snapshot() == before


def test_committee_staff_generate_print_and_register(client, world, screening):
    make_resident(world.household_a1, "张伟", relation=Relation.CHILD)
    as_user(client, world.staff_a1)
    rounds = client.get(reverse("screening:codes_rounds"))
    assert [r.pk for r in rounds.context["rounds"]] == [screening.round.pk]

    page = client.get(reverse("screening:codes_round", args=[screening.round.pk]))
    assert page.context["chosen"] == world.committee_a1
    assert [(row["building"].name, row["residents"], row["codes"]) for row in page.context["rows"]] == [
        ("5号", 2, 0), ("6号", 1, 0)]
    assert page.context["missing"] == 3

    generated = client.post(reverse("screening:codes_generate", args=[screening.round.pk, world.committee_a1.pk]),
                            follow=True)
    assert [str(m) for m in generated.context["messages"]] == ["已为国和一村居委会生成 3 个采样码"]
    assert [(row["building"].name, row["codes"]) for row in generated.context["rows"]] == [("5号", 2), ("6号", 1)]
    again = client.post(reverse("screening:codes_generate", args=[screening.round.pk, world.committee_a1.pk]),
                        follow=True)
    assert [str(m) for m in again.context["messages"]] == ["国和一村居委会的在住居民都已有采样码,没有新生成"]
    assert SamplingCode.objects.count() == 3

    pdf = client.get(reverse("screening:codes_labels", args=[screening.round.pk, world.building_a1.pk, "50x30"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "private, no-store"
    decoded = [text for page in qr_codes_in_pdf(pdf.content) for _fmt, text in page]
    assert sorted(decoded) == sorted(SamplingCode.objects.filter(building=world.building_a1)
                                     .values_list("reference", flat=True))
    assert AuditEvent.objects.filter(action="screening_labels_export", personal=True, actor=world.staff_a1).count() == 1

    form = client.get(reverse("screening:codes_walk_in", args=[screening.round.pk]))
    assert [b for b, _label in form.context["form"].fields["building"].choices] == [
        "", world.building_a1.pk, world.building_a1b.pk]
    posted = client.post(reverse("screening:codes_walk_in", args=[screening.round.pk]), {
        "committee": world.committee_a1.pk, "name": "陈访客", "phone": "13800001234",
        "building": world.building_a1b.pk, "room": "602"})
    made = SamplingCode.objects.get(walk_in=True)
    assert posted.status_code == 200 and posted.context["made"] == made
    assert (made.walk_in_name, made.room, made.building_id) == ("陈访客", "602", world.building_a1b.pk)
    png = base64.b64decode(posted.context["qr"].split(",", 1)[1])
    assert qr_codes_in_png(png) == [("QRCode", made.reference)]
    label = client.get(reverse("screening:codes_label", args=[screening.round.pk, made.pk, "40x30"]))
    assert label.status_code == 200 and qr_codes_in_pdf(label.content, dpi=200) == [[("QRCode", made.reference)]]
    assert AuditEvent.objects.filter(action="screening_label_print", object_id=made.pk, personal=True).count() == 1


def test_walk_in_bad_input_is_shown_on_the_form(client, world, screening):
    as_user(client, world.volunteer)
    before = snapshot()
    posted = client.post(reverse("screening:codes_walk_in", args=[screening.round.pk]), {
        "committee": world.committee_a1.pk, "name": "", "phone": "123", "building": "", "room": "602"})
    assert posted.status_code == 400
    assert posted.context["form"].errors == {
        "name": ["请填写姓名"], "phone": ["手机号码格式不正确"], "building": ["填写室号时请选择楼栋"]}
    assert snapshot() == before


def _sign_in(client, phone):
    session = client.session
    session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}
    session.save()


def test_a_resident_sees_the_households_codes_on_a_phone(client, world, screening):
    child = make_resident(world.household_a1, "张伟", relation=Relation.CHILD)
    codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1)
    codes_generate(actor=acting(world.staff_a2), round=screening.round, committee=world.committee_a2)

    assert client.get(reverse("screening:my_codes")).status_code == 403  # no phone proven yet
    start = client.get(reverse("screening:my_start"))
    assert start.status_code == 200 and 'id="send-code"' in start.content.decode()

    _sign_in(client, "13812345678")  # 张秀英 of 5号 302
    page = client.get(reverse("screening:my_codes"))
    assert page.status_code == 200
    shown = {card["code"].resident_id: card for card in page.context["cards"]}
    assert set(shown) == {world.resident_a1.pk, child.pk}
    body = page.content.decode()
    assert "张**" in body and "张*" in body and "张秀英" not in body and "李**" not in body
    for card in shown.values():
        png = base64.b64decode(card["qr"].split(",", 1)[1])
        assert qr_codes_in_png(png) == [("QRCode", card["code"].reference)]
    assert len(re.findall(r'<img src="data:image/png;base64,', body)) == 2

    _sign_in(client, "13600002222")  # 赵强 of street B: no open round there holds a code for him
    assert client.get(reverse("screening:my_codes")).context["cards"] == []


def test_the_phone_sign_in_sends_a_code(client, world, screening):
    response = client.post(reverse("screening:my_otp_send"), {"phone": "13812345678"})
    assert response.status_code == 302 and response["Location"] == reverse("screening:my_verify")
    assert client.get(reverse("screening:my_verify")).status_code == 200
    bad = client.post(reverse("screening:my_otp_send"), {"phone": "12"})
    assert bad.status_code == 400


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_resident_opens_the_codes_on_a_360px_phone_and_a_camera_reads_them(browser, live_server, world):  # noqa: F811
    """The phone sign-in with the SMS code, then the household's codes, each QR read back from a
    screenshot by zxing-cpp as a phone camera at the station would."""
    from selenium.webdriver.common.by import By

    from tests.browser.conftest import screenshot, wait_for
    from xiuhua.screening.tests.fixtures import build_screening
    from xiuhua.sms.models import OutboundSms

    screening = build_screening(world)
    child = make_resident(world.household_a1, "张伟", relation=Relation.CHILD)
    codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1)
    browser.set_window_size(360, 740)
    try:
        browser.delete_all_cookies()
        browser.get(f"{live_server.url}{reverse('screening:my_start')}")
        wait_for(browser, "#send-code")
        browser.find_element(By.ID, "id_phone").send_keys("13812345678")
        browser.find_element(By.ID, "send-code").click()
        wait_for(browser, "#check-code")
        code = OutboundSms.objects.filter(phone="13812345678").latest("pk").params["code"]
        browser.find_element(By.ID, "id_code").send_keys(code)
        browser.find_element(By.ID, "check-code").click()
        wait_for(browser, "#code-2")
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        expected = {c.resident_id: c.reference for c in SamplingCode.objects.filter(round=screening.round)}
        seen = []
        for n in (1, 2):
            card = browser.find_element(By.ID, f"code-{n}")
            browser.execute_script("arguments[0].scrollIntoView()", card)
            image = card.find_element(By.TAG_NAME, "img")
            assert image.size["width"] >= 250  # big enough for a scanner across the table
            seen += [text for _fmt, text in qr_codes_in_png(image.screenshot_as_png)]
            screenshot(browser, f"screening-codes-360-{n}")
        assert sorted(seen) == sorted([expected[world.resident_a1.pk], expected[child.pk]])
    finally:
        browser.set_window_size(1280, 900)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_generate_and_register_a_walk_in_in_the_browser(browser, live_server, world):  # noqa: F811
    """Committee staff on a desktop generate the committee's codes from the codes page; a volunteer
    at the station registers a visitor on a 360 px phone and the visitor's QR is read off the screen."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.browser.conftest import login, screenshot, wait_for, wait_text
    from xiuhua.screening.tests.fixtures import build_screening

    screening = build_screening(world)
    browser.set_window_size(1280, 900)
    login(browser, live_server, "staff_a1")
    browser.get(f"{live_server.url}{reverse('screening:codes_rounds')}")
    wait_for(browser, f"#round-{screening.round.pk} a").click()
    wait_for(browser, "#generate").click()
    wait_text(browser, "#summary", "已生成采样码 2 个")
    assert browser.find_element(By.ID, f"building-{world.building_a1.pk}").text.split()[:5] == [
        "1", "国和一村", "5号", "1", "1"]
    screenshot(browser, "screening-codes-round")

    browser.set_window_size(360, 740)
    try:
        login(browser, live_server, "volunteer")
        browser.get(f"{live_server.url}{reverse('screening:codes_walk_in', args=[screening.round.pk])}")
        wait_for(browser, "#register")
        browser.find_element(By.ID, "id_name").send_keys("陈访客")
        browser.find_element(By.ID, "id_phone").send_keys("13800001234")
        Select(browser.find_element(By.ID, "id_building")).select_by_visible_text("国和一村6号")
        browser.find_element(By.ID, "id_room").send_keys("602")
        browser.find_element(By.ID, "register").click()
        wait_for(browser, "#made-qr")
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        made = SamplingCode.objects.get(walk_in=True)
        assert browser.find_element(By.ID, "made-reference").text == made.reference
        png = browser.find_element(By.ID, "made-qr").screenshot_as_png
        assert qr_codes_in_png(png) == [("QRCode", made.reference)]
        screenshot(browser, "screening-codes-walk-in-360", scroll_to="#made")
    finally:
        browser.set_window_size(1280, 900)


def test_code_pages_texts_are_translatable_and_counts_are_plural_forms():
    """The work-order module's rules (tickets/tests/test_translations.py) over these pages."""
    import ast
    from pathlib import Path

    from xiuhua.tickets.tests.test_translations import CJK, COUNTED, GETTEXT, TEMPLATE_TRANSLATED, TRANSLATED

    app = Path(__file__).resolve().parent.parent
    untranslated, singular = [], []
    for path in sorted((app / "templates" / "screening" / "codes").glob("*.html")):
        text = path.read_text()
        untranslated += [f"{path.name}: {line.strip()[:60]}"
                         for line in TEMPLATE_TRANSLATED.sub("", text).splitlines() if CJK.search(line)]
        for tag in re.findall(r"{%\s*blocktranslate(.*?)%}(.*?){%\s*endblocktranslate\s*%}", text, re.S):
            if " count " not in f" {tag[0]} " and COUNTED.search(tag[1]) and CJK.search(tag[1]):
                singular.append(f"{path.name}: {tag[1][:60]}")
    for name in ("views_codes.py", "forms_codes.py", "services_codes.py"):
        tree = ast.parse((app / name).read_text())
        translated = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in TRANSLATED:
                translated.update(id(arg) for arg in node.args)
                if (getattr(node.func, "id", None) in GETTEXT and node.args and isinstance(node.args[0], ast.Constant)
                        and COUNTED.search(str(node.args[0].value))):
                    singular.append(f"{name}:{node.lineno}")
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        untranslated += [f"{name}:{node.lineno} {node.value[:40]}" for node in ast.walk(tree)
                         if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value)
                         and id(node) not in translated and id(node) not in docstrings]
    assert untranslated == []
    assert singular == []
