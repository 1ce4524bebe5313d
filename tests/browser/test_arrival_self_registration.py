"""A person arriving from a key region registers themselves on a phone-sized screen: the
committee's QR page -> SMS code -> form -> confirmation. No case is opened."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.isolation.models import Arrival, Channel, IsolationCase
from xiuhua.sms.models import OutboundSms

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13955556666"
ARRIVAL_ID = make_resident_id("420102", dt.date(1985, 4, 2), 321)


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def fill(driver, field_id: str, value: str) -> None:
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def register_on_a_phone(phone, live_server, world, *, mobile: str, name: str, id_number: str, day: dt.date) -> None:
    """The committee's QR page -> SMS code -> the form, as the person fills it in."""
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/arrive/c/{world.committee_a1.code}/")
    wait_for(phone, "#purpose")
    assert "来沪人员自主登记" in phone.page_source
    assert no_sideways_scroll(phone)

    fill(phone, "id_phone", mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    code = OutboundSms.objects.filter(phone=mobile).latest("pk").params["code"]
    fill(phone, "id_code", code)
    phone.find_element(By.ID, "check-code").click()

    wait_for(phone, "#submit-arrival")
    assert no_sideways_scroll(phone)
    fill(phone, "id_name", name)
    fill(phone, "id_id_number", id_number)
    Select(phone.find_element(By.ID, "id_compound")).select_by_visible_text(world.compound_a1.name)
    fill(phone, "id_building", "5号楼")
    fill(phone, "id_room", "302")
    fill(phone, "id_origin_text", "湖北省武汉市")
    Select(phone.find_element(By.ID, "id_transport")).select_by_value("train")
    fill(phone, "id_transport_number", "G1722")
    # A date input takes the date as typed digits in the browser's locale order; set it directly.
    phone.execute_script("document.getElementById('id_arrival_date').value = arguments[0];", day.isoformat())
    # Typed as a person types on a phone, into the field as the page gives it (no clearing first).
    phone.find_element(By.ID, "id_household_size").send_keys("2")
    phone.find_element(By.ID, "submit-arrival").click()
    wait_text(phone, "#done-title", "已登记,居委会将与您联系")


def test_arrival_registers_on_a_phone_and_sees_the_confirmation(phone, live_server, world):
    register_on_a_phone(phone, live_server, world, mobile=PHONE, name="周来沪", id_number=ARRIVAL_ID,
                        day=timezone.localdate())
    summary = phone.find_element(By.ID, "arrival-summary").text
    arrival = Arrival.objects.get()
    assert "周来沪" in summary and "国和一村5号302室" in summary and "G1722" in summary
    assert arrival.id_masked in summary and ARRIVAL_ID not in phone.page_source
    assert arrival.channel == Channel.SELF and arrival.phone == PHONE
    assert arrival.household_size == 2  # typed "2" into the field as given: not 12
    assert not IsolationCase.objects.exists()
    assert no_sideways_scroll(phone)


def test_a_registration_made_with_someone_elses_number_is_set_aside_by_staff(phone, live_server, world):
    """Another phone registers the person's number first, with a wrong date. The person still
    registers exactly as if nothing were there; the committee sees both side by side, rejects the
    false one with a reason and opens the case for the person's own."""
    today = timezone.localdate()
    register_on_a_phone(phone, live_server, world, mobile="13944440000", name="冒名者", id_number=ARRIVAL_ID,
                        day=today - dt.timedelta(days=3))
    register_on_a_phone(phone, live_server, world, mobile=PHONE, name="周来沪", id_number=ARRIVAL_ID, day=today)
    screenshot(phone, "arrival-self-registered-phone")
    false, own = Arrival.objects.order_by("pk")

    phone.delete_all_cookies()
    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/isolation/")
    wait_for(phone, f"#same-number-{own.pk}")
    assert "冒名者" in phone.find_element(By.ID, f"same-number-{own.pk}").text
    screenshot(phone, "arrival-same-number-side-by-side-phone", scroll_to=f"#arrival-{own.pk}")
    reject = phone.find_element(By.CSS_SELECTOR, f"#arrival-{false.pk} input[name=reason]")
    reject.send_keys("非本人登记,日期不符")
    reject.submit()
    wait_text(phone, ".messages", "已不予通过")
    phone.find_element(By.CSS_SELECTOR, f"#arrival-{own.pk} form button[type=submit]").click()
    wait_text(phone, "#arrival-details", "国和一村5号302室")
    false.refresh_from_db()
    own.refresh_from_db()
    assert (false.status, false.status_reason) == ("rejected", "非本人登记,日期不符")
    assert own.status == "accepted"
    assert IsolationCase.objects.get().arrival_id == own.pk
    screenshot(phone, "arrival-case-opened-phone")


def test_the_committees_registration_qr_is_read_by_a_decoder_and_opens_the_page(desktop, live_server, world):
    """The QR the committee prints for its gate: read off the screen as a camera would, it opens
    the self-registration page of that committee."""
    from xiuhua.testing import qr_codes_in_png

    login(desktop, live_server, "staff_a1")
    desktop.get(f"{live_server.url}/isolation/")
    desktop.find_element(By.ID, "arrive-qr").click()
    element = wait_for(desktop, "svg")
    screenshot(desktop, "arrival-committee-qr")
    [(kind, url)] = qr_codes_in_png(element.screenshot_as_png)
    assert (kind, url) == ("QRCode", f"{live_server.url}/arrive/c/{world.committee_a1.code}/")
    desktop.delete_all_cookies()  # a resident's phone: no staff session
    desktop.get(url)
    wait_text(desktop, "main", "来沪人员自主登记")
