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

from .conftest import wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13955556666"
ARRIVAL_ID = make_resident_id("420102", dt.date(1985, 4, 2), 321)


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def fill(driver, field_id: str, value: str) -> None:
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def test_arrival_registers_on_a_phone_and_sees_the_confirmation(phone, live_server, world):
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/arrive/c/{world.committee_a1.code}/")
    wait_for(phone, "#purpose")
    assert "来沪人员自主登记" in phone.page_source
    assert no_sideways_scroll(phone)

    fill(phone, "id_phone", PHONE)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    code = OutboundSms.objects.filter(phone=PHONE).latest("pk").params["code"]
    fill(phone, "id_code", code)
    phone.find_element(By.ID, "check-code").click()

    wait_for(phone, "#submit-arrival")
    assert no_sideways_scroll(phone)
    fill(phone, "id_name", "周来沪")
    fill(phone, "id_id_number", ARRIVAL_ID)
    Select(phone.find_element(By.ID, "id_compound")).select_by_visible_text(world.compound_a1.name)
    fill(phone, "id_building", "5号楼")
    fill(phone, "id_room", "302")
    fill(phone, "id_origin_text", "湖北省武汉市")
    Select(phone.find_element(By.ID, "id_transport")).select_by_value("train")
    fill(phone, "id_transport_number", "G1722")
    # A date input takes the date as typed digits in the browser's locale order; set it directly.
    phone.execute_script(
        "document.getElementById('id_arrival_date').value = arguments[0];", timezone.localdate().isoformat()
    )
    fill(phone, "id_household_size", "2")
    phone.find_element(By.ID, "submit-arrival").click()

    wait_text(phone, "#done-title", "已登记,居委会将与您联系")
    summary = phone.find_element(By.ID, "arrival-summary").text
    arrival = Arrival.objects.get()
    assert "周来沪" in summary and "国和一村5号302室" in summary and "G1722" in summary
    assert arrival.id_masked in summary and ARRIVAL_ID not in phone.page_source
    assert arrival.channel == Channel.SELF and arrival.phone == PHONE
    assert not IsolationCase.objects.exists()
    assert no_sideways_scroll(phone)
