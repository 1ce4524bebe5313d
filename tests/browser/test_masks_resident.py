"""A resident reserves masks on a phone-sized screen: committee page -> SMS code -> form ->
reservation number; the public committee page then shows the new registered count."""

import pytest
from selenium.webdriver.common.by import By

from xiuhua.masks.models import Reservation, ReservationStatus
from xiuhua.masks.tests.fixtures import build_masks
from xiuhua.sms.models import OutboundSms

from .conftest import wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_resident_reserves_on_a_phone_and_public_count_goes_up(phone, live_server, world):
    build_masks(world)
    resident = world.resident_a1  # 张秀英, mobile 13812345678, 国和一村 5号 302
    committee_url = f"{live_server.url}/masks/c/{world.committee_a1.code}/"
    phone.delete_all_cookies()

    phone.get(committee_url)
    wait_text(phone, "#fig-registered", "0")
    assert "口罩 姓名 证件号 小区 楼号 室号" in phone.page_source
    assert no_sideways_scroll(phone)

    phone.find_element(By.ID, "id_phone").send_keys(resident.mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    code = OutboundSms.objects.filter(phone=resident.mobile).latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(code)
    phone.find_element(By.ID, "check-code").click()

    wait_for(phone, "#submit-reservation")
    assert no_sideways_scroll(phone)
    # Pre-filled from the roster: the name and this household's room, nobody else's.
    assert phone.find_element(By.ID, "id_name").get_attribute("value") == resident.name
    assert phone.find_element(By.ID, "id_room").get_attribute("value") == "302"
    assert world.resident_a1b.name not in phone.page_source
    phone.find_element(By.ID, "id_id_number").send_keys(resident.plain_id)
    phone.find_element(By.ID, "submit-reservation").click()

    wait_text(phone, ".messages", "预约成功")
    reservation = Reservation.objects.get()
    assert reservation.status == ReservationStatus.QUEUED
    assert reservation.number in phone.find_element(By.CSS_SELECTOR, ".messages").text
    assert reservation.number in phone.find_element(By.ID, "reservation-1").text
    assert no_sideways_scroll(phone)

    phone.get(committee_url)
    wait_text(phone, "#fig-registered", "1")
    assert resident.name not in phone.find_element(By.ID, "figures").text
