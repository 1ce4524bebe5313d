"""A resident submits the reservation form while the server is past capacity: the page keeps the
form, says it will send it again, retries after Retry-After with jitter, and ends with one
reservation and its number; the refused tries changed nothing."""

import pytest
from selenium.webdriver.common.by import By

from xiuhua.core import admission
from xiuhua.masks.models import Reservation, ReservationStatus
from xiuhua.masks.tests.fixtures import build_masks
from xiuhua.sms.models import OutboundSms

from .conftest import screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_reservation_is_sent_again_by_the_page_and_made_once(phone, live_server, world, monkeypatch):
    build_masks(world)
    resident = world.resident_a1
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/masks/c/{world.committee_a1.code}/")
    phone.find_element(By.ID, "id_phone").send_keys(resident.mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    code = OutboundSms.objects.filter(phone=resident.mobile).latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(code)
    phone.find_element(By.ID, "check-code").click()
    wait_for(phone, "#submit-reservation")
    phone.find_element(By.ID, "id_id_number").send_keys(resident.plain_id)

    # The resident lane is full for the next two requests: the two first sends of the form.
    refused = {"left": 2, "answered": 0}
    enter = admission.Gate.enter

    def full_twice(gate):
        if gate.slots == "XIUHUA_RESIDENT_SLOTS" and refused["left"]:
            refused["left"] -= 1
            refused["answered"] += 1
            return False
        return enter(gate)

    monkeypatch.setattr(admission.Gate, "enter", full_twice)
    phone.find_element(By.ID, "submit-reservation").click()
    wait_text(phone, "#reserve-progress", "秒后自动重新提交")
    assert "重复提交不会重复预约" in phone.find_element(By.ID, "reserve-progress").text
    assert phone.find_element(By.ID, "submit-reservation").get_attribute("disabled") == "true"
    screenshot(phone, "masks_surge_retrying", scroll_to="#reserve-progress")
    assert not Reservation.objects.exists()

    wait_text(phone, ".messages", "预约成功", timeout=20)
    assert refused["answered"] == 2
    reservation = Reservation.objects.get()
    assert reservation.status == ReservationStatus.QUEUED
    assert reservation.number in phone.find_element(By.CSS_SELECTOR, ".messages").text
    assert phone.current_url.endswith("/masks/me/")
    screenshot(phone, "masks_surge_reserved")


def test_the_busy_page_keeps_the_place_and_gives_the_sms_way(phone, live_server, world, settings):
    build_masks(world)
    settings.SMS_INBOUND_NUMBER = "10690000"
    settings.XIUHUA_RESIDENT_SLOTS = 0
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/masks/c/{world.committee_a1.code}/")
    wait_text(phone, "#busy-title", "预约人数过多")
    assert "预约资格不会因此失去" in phone.find_element(By.ID, "busy-place").text
    assert "10690000" in phone.find_element(By.ID, "busy-sms").text
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(phone, "masks_surge_busy_page")
