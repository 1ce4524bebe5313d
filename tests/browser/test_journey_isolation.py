"""Journey: arrivals to a closed alert, from an empty street, through the pages only.

The administrator builds the street in the admin (journey.empty_street) and sets the isolation
rule there (contacts every three hours, so that a contact is always due within the window in which
it may be recorded, whatever the hour the test runs); the committee imports its roster. A person
arriving registers on a 360 px phone with a passport, reading the one-time code from the SMS page;
committee staff check the registration from their to-do list and isolation starts; staff register
a second arrival at the desk; a grid worker on a phone records the daily contacts, one with a
fever and a cough, which raises one alert; the committee closes it once."""

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.tests.test_roster_fixtures import new_id, person, xlsx

from .conftest import login, screenshot, wait_for, wait_text
from .journey import admin_login, empty_street, import_roster, one_time_code, sms_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360
MOBILE = "13955556666"
EVERY_THREE_HOURS = "00:00,03:00,06:00,09:00,12:00,15:00,18:00,21:00"


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def fill(driver, field_id: str, value: str) -> None:
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def the_rule_in_the_admin(driver, live_server) -> None:
    admin_login(driver, live_server)
    driver.get(f"{live_server.url}/admin/isolation/isolationrule/add/")
    fill(driver, "id_effective_from", timezone.localdate().isoformat())
    fill(driver, "id_contact_times", EVERY_THREE_HOURS)
    driver.find_element(By.CSS_SELECTOR, "input[name=_save]").click()
    wait_for(driver, "ul.messagelist li.success")


def register_on_a_phone(driver, live_server, committee_code: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{live_server.url}/arrive/c/{committee_code}/")
    wait_for(driver, "#purpose")
    fill(driver, "id_phone", MOBILE)
    driver.find_element(By.ID, "send-code").click()
    wait_for(driver, "#check-code")
    screenshot(driver, "journey-isolation-02-phone-code")
    text = sms_to(driver, live_server, f"{MOBILE[:3]}****{MOBILE[-4:]}", "验证码")
    fill(driver, "id_code", one_time_code(text))
    driver.find_element(By.ID, "check-code").click()
    wait_for(driver, "#submit-arrival")
    fill(driver, "id_name", "林晓雯")
    Select(driver.find_element(By.ID, "id_id_type")).select_by_value("passport")
    fill(driver, "id_id_number", "E1234 5678")
    Select(driver.find_element(By.ID, "id_compound")).select_by_visible_text("国和一村")
    fill(driver, "id_building", "19号")
    fill(driver, "id_room", "1202")
    fill(driver, "id_origin_text", "湖北省武汉市")
    Select(driver.find_element(By.ID, "id_transport")).select_by_value("flight")
    fill(driver, "id_transport_number", "MU5332")
    driver.execute_script("document.getElementById('id_arrival_date').value = arguments[0];",
                          timezone.localdate().isoformat())
    driver.find_element(By.ID, "id_household_size").send_keys("1")
    assert fits_the_phone(driver)
    screenshot(driver, "journey-isolation-03-phone-form", scroll_to="#id_id_type")
    driver.find_element(By.ID, "submit-arrival").click()
    wait_text(driver, "#done-title", "已登记,居委会将与您联系")
    assert driver.find_element(By.ID, "summary-id").text == "E12****78"  # the passport, spaces gone, masked
    assert fits_the_phone(driver)
    screenshot(driver, "journey-isolation-04-phone-done")


def record_contact(driver, live_server, name: str, *, outcome: str, temperature: str, symptoms: str = "") -> None:
    driver.get(f"{live_server.url}/isolation/")
    wait_text(driver, "#cases", name)
    driver.find_element(By.XPATH, f"//table[@id='cases']//a[b[text()='{name}']]").click()
    wait_for(driver, "#contacts a.button.record")
    assert fits_the_phone(driver)
    driver.find_element(By.CSS_SELECTOR, "#contacts a.button.record").click()
    form = wait_for(driver, "#contact-form")
    form.find_element(By.CSS_SELECTOR, f"input[name=outcome][value={outcome}]").click()
    fill(driver, "id_temperature", temperature)
    if symptoms:
        fill(driver, "id_symptoms", symptoms)
    assert fits_the_phone(driver)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(driver, ".messages", f"已记录:{name}")


def test_arrivals_become_cases_and_a_fever_raises_one_alert_closed_once(desktop, live_server, tmp_path):
    street = empty_street(desktop, live_server, accounts={
        "juwei": ("committee_staff", "committee"),
        "wangge": ("grid_worker", "committee"),
    })
    the_rule_in_the_admin(desktop, live_server)
    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx([
        person(姓名="林晓雯", 性别="女", 楼栋="19号", 室号="1202", 证件号码=new_id(sex="F")),
        person(姓名="陈新", 楼栋="1号", 室号="101", 证件号码=new_id()),
    ]))
    import_roster(desktop, live_server, "juwei", roster)
    screenshot(desktop, "journey-isolation-01-roster")
    committee_code = "310110012001"
    assert street.committee_name == "国和一村居委会"

    # A person arriving registers on a phone, with a passport.
    try:
        desktop.set_window_size(PHONE_WIDTH, 740)
        register_on_a_phone(desktop, live_server, committee_code)
    finally:
        desktop.set_window_size(1280, 900)

    # Committee staff: the registration is on the to-do list; checked, isolation starts.
    login(desktop, live_server, "juwei")
    desktop.get(f"{live_server.url}/")
    wait_text(desktop, "#work-arrivals-awaiting", "自主登记待核实 1 人")
    screenshot(desktop, "journey-isolation-05-todo")
    desktop.find_element(By.CSS_SELECTOR, "#work-arrivals-awaiting a").click()
    wait_text(desktop, "#awaiting", "林晓雯")
    assert "E1" in desktop.find_element(By.ID, "awaiting").text and "E12345678" not in desktop.page_source
    screenshot(desktop, "journey-isolation-06-awaiting", scroll_to="#awaiting")
    desktop.find_element(By.XPATH, "//div[@id='awaiting']//button[text()='核实无误,开始隔离']").click()
    wait_text(desktop, ".messages", "已开始居家隔离:林晓雯")
    wait_for(desktop, "#steps")
    desktop.get(f"{live_server.url}/isolation/")
    wait_text(desktop, "#cases", "林晓雯")
    assert not desktop.find_elements(By.ID, "awaiting")

    # Staff register a second arrival at the desk; the case opens at once.
    desktop.get(f"{live_server.url}/isolation/arrivals/new/")
    form = wait_for(desktop, "#arrival-form")
    Select(desktop.find_element(By.ID, "id_compound")).select_by_visible_text("国和一村")
    fill(desktop, "id_building", "1号")
    fill(desktop, "id_room", "101")
    fill(desktop, "id_name", "陈新")
    fill(desktop, "id_id_number", new_id())
    fill(desktop, "id_phone", "13911112222")
    fill(desktop, "id_origin_text", "浙江省温州市")
    desktop.find_element(By.ID, "id_household_size").send_keys("2")
    Select(desktop.find_element(By.ID, "id_transport")).select_by_value("train")
    screenshot(desktop, "journey-isolation-07-desk-arrival")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, ".messages", "已登记陈新,开始居家隔离")
    screenshot(desktop, "journey-isolation-08-case")

    # The grid worker records the day's contacts on a phone: one well, one with fever and cough.
    try:
        desktop.set_window_size(PHONE_WIDTH, 740)
        login(desktop, live_server, "wangge")
        record_contact(desktop, live_server, "林晓雯", outcome="well", temperature="36.5")
        screenshot(desktop, "journey-isolation-09-grid-recorded")
        record_contact(desktop, live_server, "陈新", outcome="unwell", temperature="37.8", symptoms="咳嗽")
        alerts = wait_for(desktop, "#alerts")
        items = alerts.find_elements(By.CSS_SELECTOR, "ul > li")
        assert len(items) == 1 and "发热" in items[0].text and "出现症状" in items[0].text, alerts.text
        assert "预警 · 1" in alerts.text
        assert fits_the_phone(desktop)
        screenshot(desktop, "journey-isolation-10-grid-alert")
    finally:
        desktop.set_window_size(1280, 900)

    # The committee closes the alert once, with what was done.
    login(desktop, live_server, "juwei")
    desktop.get(f"{live_server.url}/")
    wait_text(desktop, "#waiting-work", "未处理预警 1 条")
    desktop.get(f"{live_server.url}/isolation/")
    alerts = wait_for(desktop, "#alerts")
    assert "陈新" in alerts.text and "37.8℃" in alerts.text and "咳嗽" in alerts.text
    screenshot(desktop, "journey-isolation-11-committee-alert", scroll_to="#alerts")
    alerts.find_element(By.NAME, "note").send_keys("已电话回访,社区医生上门")
    alerts.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(desktop, ".messages")
    assert not desktop.find_elements(By.ID, "alerts")
    desktop.get(f"{live_server.url}/")
    wait_for(desktop, "header .who")
    assert "未处理预警" not in desktop.find_element(By.TAG_NAME, "main").text
    screenshot(desktop, "journey-isolation-12-closed")
    desktop.get(f"{live_server.url}/isolation/daily/")
    wait_text(desktop, "#total", "合计")
    cells = [td.text for td in desktop.find_elements(By.CSS_SELECTOR, "#total td")]
    assert cells[1:3] == ["2", "2"]  # in isolation, new today
    screenshot(desktop, "journey-isolation-13-daily")
