"""The micro-grid passport in a real browser: committee staff on a desktop and a grid worker on a
360 px phone go from the coverage table through the grid and its map of households to one
household, stamp it, see the coverage change, withdraw a stamp entered by mistake, and print the
household's A6 card (its QR code decoded from the PDF the page serves); the card's code then
opens the staff page for the grid worker and, after the SMS sign-in, the household's stamps for a
resident."""

import base64

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By

from xiuhua.passport.keys import card_url
from xiuhua.passport.models import Stamp
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import qr_codes_in_pdf

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def cell(driver, selector: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, selector).text


def fetch_pdf(driver, url: str) -> bytes:
    """The PDF behind a link, fetched by the page itself (with its session), as bytes."""
    script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: "same-origin"}).then(r => r.arrayBuffer()).then(buffer => {
            let text = ""; const bytes = new Uint8Array(buffer);
            for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
            done(btoa(text));
        });
    """
    driver.set_script_timeout(20)
    return base64.b64decode(driver.execute_async_script(script, url))


def stamp_through_the_pages(driver, kind_index: int, note: str) -> None:
    form = wait_for(driver, "#stamp-form")
    form.find_element(By.CSS_SELECTOR, f"label[for=id_kind_{kind_index}]").click()
    form.find_element(By.NAME, "note").send_keys(note)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".messages")


def test_committee_staff_stamp_a_household_and_print_its_card(desktop, live_server, world):
    w = world
    login(desktop, live_server, "staff_a1")
    desktop.find_element(By.CSS_SELECTOR, "#my-pages a[data-menu=passport]").click()
    wait_for(desktop, "#coverage")
    assert cell(desktop, "#coverage-total .count-volunteer") == "0 (0%)"
    screenshot(desktop, "passport_desktop_1_coverage")

    desktop.find_element(By.LINK_TEXT, "第一网格").click()
    wait_for(desktop, "#household-map")
    desktop.find_element(By.LINK_TEXT, "5号楼微网格").click()
    wait_text(desktop, "h1", "5号楼微网格")
    household_cell = desktop.find_element(By.CSS_SELECTOR, f"[data-household='{w.household_a1.pk}']")
    assert household_cell.get_attribute("data-stamps") == "0"
    household_cell.click()

    wait_text(desktop, "h1", "国和一村5号302室")
    stamp_through_the_pages(desktop, 0, "陪同老人就医")
    wait_text(desktop, ".messages", "已盖志愿服务章")
    wait_text(desktop, "#this-week [data-kind=volunteer]", "陪同老人就医")
    screenshot(desktop, "passport_desktop_2_household")
    assert Stamp.objects.get().stamped_by == w.staff_a1

    # The same stamp again this week: refused, in Chinese, and nothing changes.
    form = wait_for(desktop, "#stamp-form")
    form.find_element(By.CSS_SELECTOR, "label[for=id_kind_0]").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, "#stamp-form", "已盖过志愿服务章,不能重复盖章")
    assert Stamp.objects.count() == 1

    desktop.get(f"{live_server.url}/passport/")
    wait_for(desktop, "#coverage")
    assert cell(desktop, "#coverage-total .count-volunteer") == "1 (50%)"
    desktop.get(f"{live_server.url}/passport/grid/{w.micro_a1.pk}/")
    wait_for(desktop, "#household-map")
    household_cell = desktop.find_element(By.CSS_SELECTOR, f"[data-household='{w.household_a1.pk}']")
    assert household_cell.get_attribute("data-stamps") == "1"
    assert "pp-n1" in household_cell.get_attribute("class")
    screenshot(desktop, "passport_desktop_3_map", scroll_to="#household-map")

    # Print: the batch of the micro-grid and the single card carry the household's page.
    batch = fetch_pdf(desktop, desktop.find_element(By.ID, "print-cards").get_attribute("href"))
    assert qr_codes_in_pdf(batch) == [[("QRCode", card_url(w.household_a1.pk))]]
    desktop.get(f"{live_server.url}/passport/h/{w.household_a1.pk}/")
    single = fetch_pdf(desktop, wait_for(desktop, "#print-card").get_attribute("href"))
    assert qr_codes_in_pdf(single) == [[("QRCode", card_url(w.household_a1.pk))]]

    # Entered by mistake: withdrawn with a reason, and the week's volunteer stamp is free again.
    stamp = Stamp.objects.get()
    desktop.find_element(By.CSS_SELECTOR, "#history .pp-withdraw summary").click()
    desktop.find_element(By.ID, f"reason-{stamp.pk}").send_keys("录错了户")
    desktop.find_element(By.CSS_SELECTOR, "#history .pp-withdraw button[type=submit]").click()
    wait_text(desktop, ".messages", "已撤销志愿服务章")
    wait_text(desktop, "#this-week [data-kind=volunteer]", "未盖章")
    stamp.refresh_from_db()
    assert (stamp.status, stamp.withdraw_reason, stamp.withdrawn_by) == ("withdrawn", "录错了户", w.staff_a1)
    screenshot(desktop, "passport_desktop_4_withdrawn")


def test_a_grid_worker_stamps_at_the_door_on_a_phone(phone, live_server, world):
    w = world
    login(phone, live_server, "grid_a1")
    phone.find_element(By.CSS_SELECTOR, "#my-pages a[data-menu=passport]").click()
    wait_for(phone, "#coverage")
    assert fits_the_phone(phone)
    assert cell(phone, "#coverage-total .count-convenience") == "0 (0%)"
    screenshot(phone, "passport_phone_1_coverage")

    phone.find_element(By.LINK_TEXT, "第一网格").click()
    wait_for(phone, "#household-map")
    assert fits_the_phone(phone)
    screenshot(phone, "passport_phone_2_grid", scroll_to="#household-map")
    phone.find_element(By.CSS_SELECTOR, f"[data-household='{w.household_a1.pk}']").click()

    wait_for(phone, "#stamp-form")
    assert fits_the_phone(phone)
    stamp_through_the_pages(phone, 1, "代购药品")
    wait_text(phone, ".messages", "已盖便民服务章")
    wait_text(phone, "#this-week [data-kind=convenience]", "代购药品")
    assert fits_the_phone(phone)
    screenshot(phone, "passport_phone_3_household")

    phone.get(f"{live_server.url}/passport/")
    wait_for(phone, "#coverage")
    assert cell(phone, "#coverage-total .count-convenience") == "1 (100%)"
    screenshot(phone, "passport_phone_4_coverage_after")

    card = fetch_pdf(phone, f"{live_server.url}/passport/h/{w.household_a1.pk}/card.pdf")
    assert qr_codes_in_pdf(card) == [[("QRCode", card_url(w.household_a1.pk))]]

    # The grid worker scanning the card goes on to the staff page.
    scanned = qr_codes_in_pdf(card)[0][0][1].replace(settings.PUBLIC_BASE_URL, live_server.url)
    phone.get(scanned)
    wait_for(phone, "#stamp-form")

    # A resident of the household scans it: the phone sign-in, then the household's stamps.
    phone.delete_all_cookies()
    phone.get(scanned)
    wait_text(phone, "#address", "5号 302室")
    assert fits_the_phone(phone)
    phone.find_element(By.ID, "id_phone").send_keys(w.resident_a1.mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    code = OutboundSms.objects.filter(phone=w.resident_a1.mobile).latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(code)
    phone.find_element(By.ID, "check-code").click()
    wait_for(phone, ".stamp.on[data-kind=convenience]")
    assert "代购药品" not in phone.find_element(By.TAG_NAME, "main").text  # staff notes stay with staff
    assert fits_the_phone(phone)
    screenshot(phone, "passport_phone_5_resident")
