"""Every resident mask page on a 360 px phone: nothing wider than the screen; and every QR code
the pages show as SVG (the committee's poster and its downloadable SVG, the voucher on the
resident's own page) is read from a screenshot by zxing-cpp, as a phone's camera would."""

import uuid

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from xiuhua.masks import services
from xiuhua.masks.models import Voucher
from xiuhua.masks.tests.fixtures import build_masks, reserve
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, qr_codes_in_png

from .conftest import screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overflow(driver) -> int:
    """How many CSS pixels the page, or a table in its own scroll box, is wider than the window
    or that box (0 when everything fits: nothing to scroll sideways on a phone)."""
    return driver.execute_script(
        "if (document.documentElement.scrollWidth > window.innerWidth)"
        "  return document.documentElement.scrollWidth - window.innerWidth;"
        "let worst = 0;"
        "for (const box of document.querySelectorAll('.scroll'))"
        "  worst = Math.max(worst, box.scrollWidth - box.clientWidth);"
        "return worst;")


def sign_in(driver, live_server, committee_code: str, mobile: str) -> None:
    driver.get(f"{live_server.url}/masks/c/{committee_code}/")
    driver.find_element(By.ID, "id_phone").send_keys(mobile)
    driver.find_element(By.ID, "send-code").click()
    wait_for(driver, "#check-code")


@pytest.fixture
def scene(world):
    m = build_masks(world)
    reserve(m, world.resident_a1, phone=world.resident_a1.mobile)
    services.stock_delivery_record(
        actor=acting(m.clerk_a), round=m.round, pharmacy=m.pharmacy_a, quantity=5 * m.round.masks_per_household,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
    )
    m.voucher = Voucher.objects.get()
    return m


def test_every_resident_mask_page_fits_a_360px_phone(phone, live_server, world, scene, settings):
    settings.SMS_INBOUND_NUMBER = "106900112233"
    code = world.committee_a1.code
    phone.delete_all_cookies()
    pages = {
        "committee": f"/masks/c/{code}/",
        "poster": f"/masks/c/{code}/print/",
        "pharmacy": f"/masks/p/{scene.pharmacy_a.pk}/",
        "open": "/masks/open/",
        "open-round": f"/masks/open/rounds/{scene.round.pk}/",
        "need-phone": "/masks/me/",  # before the phone is proven
    }
    for name, path in pages.items():
        phone.get(f"{live_server.url}{path}")
        wait_for(phone, "main h1")
        screenshot(phone, f"masks-360-{name}")
        assert overflow(phone) == 0, (name, overflow(phone))
    # The SMS example box is one box, as wide as the text column at most.
    phone.get(f"{live_server.url}/masks/c/{code}/")
    widths = phone.execute_script(
        "const b = document.getElementById('sms-example'); const r = b.getClientRects();"
        "return [r.length, b.getBoundingClientRect().right, document.documentElement.clientWidth];")
    assert widths[0] == 1 and widths[1] <= widths[2], widths
    screenshot(phone, "masks-360-committee-sms", scroll_to="#sms-example")

    sign_in(phone, live_server, code, world.resident_a1.mobile)
    screenshot(phone, "masks-360-verify")
    assert overflow(phone) == 0, ("verify", overflow(phone))
    otp = OutboundSms.objects.filter(phone=world.resident_a1.mobile, template="XH_OTP").latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(otp)
    phone.find_element(By.ID, "check-code").click()
    wait_for(phone, "#submit-reservation")
    screenshot(phone, "masks-360-reserve")
    assert overflow(phone) == 0, ("reserve", overflow(phone))
    phone.get(f"{live_server.url}/masks/me/")
    wait_for(phone, ".voucher")
    screenshot(phone, "masks-360-status")
    assert overflow(phone) == 0, ("status", overflow(phone))


def test_qr_codes_shown_on_pages_are_read_by_a_decoder(desktop, live_server, world, scene):
    code = world.committee_a1.code
    committee_url = f"{live_server.url}/masks/c/{code}/"
    # The poster's inline SVG.
    desktop.get(f"{committee_url}print/")
    element = wait_for(desktop, ".poster .qr svg")
    screenshot(desktop, "masks-qr-poster")
    assert qr_codes_in_png(element.screenshot_as_png) == [("QRCode", committee_url)]
    # The downloadable SVG (core.qr.qr_svg_response), opened as the browser shows it.
    desktop.get(f"{committee_url}qr.svg")
    element = wait_for(desktop, "svg")
    assert qr_codes_in_png(element.screenshot_as_png) == [("QRCode", committee_url)]
    # The voucher on the resident's own page carries its number.
    sign_in(desktop, live_server, code, world.resident_a1.mobile)
    otp = OutboundSms.objects.filter(phone=world.resident_a1.mobile, template="XH_OTP").latest("pk").params["code"]
    desktop.find_element(By.ID, "id_code").send_keys(otp)
    desktop.find_element(By.ID, "check-code").click()
    wait_for(desktop, "#submit-reservation")
    desktop.get(f"{live_server.url}/masks/me/")
    element = wait_for(desktop, ".voucher .qr svg")
    screenshot(desktop, "masks-qr-voucher", scroll_to=".voucher")
    assert qr_codes_in_png(element.screenshot_as_png) == [("QRCode", scene.voucher.number)]
