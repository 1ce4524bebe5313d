"""Home isolation in a real browser: committee staff record a due contact on a phone."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.isolation import services
from xiuhua.isolation.models import Contact, ContactOutcome
from xiuhua.testing import acting

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_committee_staff_record_a_contact_on_a_phone(phone, live_server, world):
    w = world
    staff = acting(w.staff_a1)
    arrival = services.arrival_register(
        actor=staff, household=w.household_a1, name="周来沪", id_type="resident_id",
        id_number=make_resident_id("420102", dt.date(1985, 4, 2), 321), phone="13911112222",
        origin_text="湖北省武汉市", transport="train", transport_number="G1722", arrival_date=timezone.localdate(),
    )
    case = services.case_open(actor=staff, arrival=arrival)
    first, second = Contact.objects.filter(case=case).order_by("due_at")[:2]
    now = timezone.now()
    Contact.objects.filter(pk=first.pk).update(due_at=now - dt.timedelta(hours=3))
    Contact.objects.filter(pk=second.pk).update(due_at=now - dt.timedelta(hours=1))

    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/isolation/")
    wait_text(phone, "#overdue", "周来沪")
    assert "5号302室" in phone.find_element(By.ID, f"contact-{first.pk}").text
    assert phone.find_element(By.CSS_SELECTOR, f"#contact-{first.pk} a[href='tel:13911112222']")
    assert fits_the_phone(phone)

    phone.find_element(By.CSS_SELECTOR, f"#contact-{first.pk} a.button.record").click()
    form = wait_for(phone, "#contact-form")
    assert fits_the_phone(phone)
    temperature = form.find_element(By.NAME, "temperature")
    assert temperature.get_attribute("inputmode") == "decimal"
    form.find_element(By.CSS_SELECTOR, "input[name=outcome][value=well]").click()
    temperature.send_keys("36.6")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    wait_text(phone, ".messages", "已记录:周来沪 情况良好")
    assert phone.current_url == f"{live_server.url}/isolation/"
    assert not phone.find_elements(By.ID, f"contact-{first.pk}")
    assert phone.find_elements(By.ID, f"contact-{second.pk}")
    assert phone.find_element(By.ID, "overdue-count").text == "1"
    assert fits_the_phone(phone)
    first.refresh_from_db()
    assert (first.outcome, str(first.temperature), first.recorded_by) == (ContactOutcome.WELL, "36.6", w.staff_a1)

    # The one left was reached by phone and is well: ticked and recorded with the one button.
    assert phone.find_element(By.CSS_SELECTOR, f"#contact-{second.pk} td.seq").text.endswith("1")
    phone.find_element(By.CSS_SELECTOR, f"#contact-{second.pk} input[name=contacts]").click()
    screenshot(phone, "isolation-bulk-well-phone", scroll_to="#bulk-well")
    # Printed, the list is a table with a column to write the reading in by hand.
    phone.set_window_size(794, 1123)
    phone.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not phone.find_element(By.ID, "bulk-well").is_displayed()
        assert phone.find_element(By.CSS_SELECTOR, "#overdue th.print-only").is_displayed()
        assert phone.find_element(By.CSS_SELECTOR, ".print-note").is_displayed()
        screenshot(phone, "isolation-contacts-due-printed")
    finally:
        phone.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        phone.set_window_size(PHONE_WIDTH, 740)
    assert fits_the_phone(phone)
    phone.find_element(By.CSS_SELECTOR, "#bulk-well button[type=submit]").click()
    wait_text(phone, ".messages", "已记录1人电话联系,情况良好")
    assert phone.find_element(By.ID, "overdue-count").text == "0"
    second.refresh_from_db()
    assert (second.outcome, second.via, second.recorded_by) == (ContactOutcome.WELL, "phone", w.staff_a1)

    # The case page and the registration form fit the phone too.
    phone.get(f"{live_server.url}/isolation/cases/{case.pk}/")
    wait_for(phone, "#close-form")
    assert fits_the_phone(phone)
    phone.get(f"{live_server.url}/isolation/arrivals/new/")
    wait_for(phone, "#arrival-form")
    assert fits_the_phone(phone)
