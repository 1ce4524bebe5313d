"""Emergency care on day one, from an empty street to a request called back, through the pages.

The administrator builds the street and its staff in the admin; the committee imports its roster
and prints the door cards of all its buildings; the street sets up a department. A resident scans
the card on her door with a 360 px phone, proves her phone with the code the SMS page shows, and
asks for food (not a medical emergency, so the phone is needed). The committee accepts and
dispatches the request to the department, the department handles and answers it, the committee
closes it and calls back; the resident's follow-up page shows every step. No service call and no
ORM set-up: what the test knows it reads off the pages (the door URL from the printed PDF's QR).
"""

import re

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.tests.test_roster_fixtures import new_id, person, xlsx
from xiuhua.testing import qr_codes_in_pdf

from .conftest import login, screenshot, wait_for, wait_text
from .journey import download, empty_street, import_roster, one_time_code, sms_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360
MOBILE = "13912345678"
MASKED = "139****5678"
DEPARTMENT = "生活保障组"
REPLY = "已送米面油和蔬菜到门口,请及时取用"


def as_phone(driver):
    driver.set_window_size(PHONE_WIDTH, 740)


def as_desk(driver):
    driver.set_window_size(1280, 900)


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def steps(driver) -> list[str]:
    return [li.find_element(By.TAG_NAME, "b").text for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]


def open_ticket(driver, live_server, number: str) -> None:
    """From the board, as staff find it: the row with the request's number."""
    driver.get(f"{live_server.url}/tickets/")
    wait_text(driver, "#board", number)
    driver.find_element(By.LINK_TEXT, number).click()
    wait_for(driver, "#ticket-status")


def act(driver, action: str) -> None:
    form = driver.find_element(By.ID, f"action-{action}")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".messages")


def test_a_door_request_from_an_empty_street_to_its_call_back(phone, live_server, tmp_path):
    driver = phone
    as_desk(driver)
    empty_street(driver, live_server, accounts={
        "jiedao": ("street_officer", "street"),
        "juwei": ("committee_staff", "committee"),
        "bumen": ("department_staff", "street"),
    })
    screenshot(driver, "journey-tickets-01-street-built")

    # The committee's roster: the resident and her mobile.
    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx([person(姓名="林晓雯", 性别="女", 楼栋="19号", 室号="1202", 证件号码=new_id(sex="F"),
                                    手机号=MOBILE)]))
    import_roster(driver, live_server, "juwei", roster)
    screenshot(driver, "journey-tickets-02-roster")

    # The street sets up the department that delivers food, with its worker.
    login(driver, live_server, "jiedao")
    driver.get(f"{live_server.url}/tickets/")
    driver.find_element(By.ID, "departments-link").click()
    create = wait_for(driver, "#department-create")
    create.find_element(By.NAME, "name").send_keys(DEPARTMENT)
    create.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(driver, "main", f"已新建部门:{DEPARTMENT}")
    member_form = driver.find_element(By.CSS_SELECTOR, "section.department .member-form")
    options = Select(member_form.find_element(By.NAME, "membership"))
    options.select_by_visible_text(next(o.text for o in options.options if o.text.startswith("bumen")))
    member_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(driver, "section.department .members", "bumen")
    screenshot(driver, "journey-tickets-03-department")

    # The committee prints the door cards of all its buildings in one PDF.
    login(driver, live_server, "juwei")
    driver.get(f"{live_server.url}/tickets/")
    driver.find_element(By.ID, "doors-link").click()
    link = wait_for(driver, "#committee-sheets")
    assert "共 1 户" in link.text
    screenshot(driver, "journey-tickets-04-door-cards")
    pdf = download(driver, link.get_attribute("href"))
    assert pdf.startswith(b"%PDF")
    codes = [code for page in qr_codes_in_pdf(pdf) for code in page]
    assert len(codes) == 1 and codes[0][0] == "QRCode" and codes[0][1].startswith(settings.PUBLIC_BASE_URL + "/help/d/")
    door_url = live_server.url + codes[0][1].removeprefix(settings.PUBLIC_BASE_URL)

    # The resident scans the card: her address is there; food needs a proven phone.
    driver.delete_all_cookies()
    as_phone(driver)
    driver.get(door_url)
    wait_text(driver, "#address", "19号 1202")
    assert fits_the_phone(driver)
    screenshot(driver, "journey-tickets-05-door-page")
    box = driver.find_element(By.ID, "phone-box")
    box.find_element(By.NAME, "phone").send_keys(MOBILE)
    box.find_element(By.ID, "send-code").click()
    wait_for(driver, "#check-code")
    code = one_time_code(sms_to(driver, live_server, MASKED, "验证码"))
    driver.find_element(By.NAME, "code").send_keys(code)
    screenshot(driver, "journey-tickets-06-code")
    driver.find_element(By.ID, "check-code").click()
    wait_text(driver, "#phone-box", f"已验证手机号 {MASKED}")
    form = driver.find_element(By.ID, "help-form")
    food = form.find_element(By.CSS_SELECTOR, "input[name=category][value=food]")
    form.find_element(By.CSS_SELECTOR, f"label[for={food.get_attribute('id')}]").click()
    normal = form.find_element(By.CSS_SELECTOR, "input[name=urgency][value=normal]")
    form.find_element(By.CSS_SELECTOR, f"label[for={normal.get_attribute('id')}]").click()
    form.find_element(By.NAME, "description").send_keys("独居老人,家里米和蔬菜没有了")
    phone_box = form.find_element(By.NAME, "phone")
    phone_box.clear()
    phone_box.send_keys(MOBILE)
    screenshot(driver, "journey-tickets-07-request")
    driver.find_element(By.ID, "submit-help").click()
    wait_for(driver, "#number")
    number = driver.find_element(By.ID, "number").text
    follow_url = driver.current_url
    assert "/help/t/" in follow_url and steps(driver) == ["已收到您的求助"]
    assert fits_the_phone(driver)
    screenshot(driver, "journey-tickets-08-received")
    # The same link arrives by SMS; later she opens it from there.
    received = sms_to(driver, live_server, MASKED, number)
    sms_link = re.search(r"https?://\S+/help/t/[\w-]+", received)
    assert sms_link is not None and sms_link.group(0).startswith(settings.PUBLIC_BASE_URL), received
    sms_link_here = live_server.url + sms_link.group(0).removeprefix(settings.PUBLIC_BASE_URL)
    assert follow_url == sms_link_here + "/"

    # Committee staff accept it and dispatch it to the department.
    as_desk(driver)
    login(driver, live_server, "juwei")
    open_ticket(driver, live_server, number)
    screenshot(driver, "journey-tickets-09-committee-detail")
    act(driver, "accept")
    wait_text(driver, "#ticket-status", "已受理")
    Select(driver.find_element(By.ID, "dispatch_to")).select_by_visible_text(DEPARTMENT)
    act(driver, "dispatch")
    wait_text(driver, "#ticket-where", DEPARTMENT)
    screenshot(driver, "journey-tickets-10-dispatched")

    # The department starts it and answers the resident.
    login(driver, live_server, "bumen")
    open_ticket(driver, live_server, number)
    act(driver, "start")
    wait_text(driver, "#ticket-status", "办理中")
    driver.find_element(By.ID, "reply_reply").send_keys(REPLY)
    act(driver, "reply")
    wait_text(driver, "#ticket-status", "已答复")
    screenshot(driver, "journey-tickets-11-replied")

    # The committee closes it and calls the resident back.
    login(driver, live_server, "juwei")
    open_ticket(driver, live_server, number)
    act(driver, "close")
    wait_text(driver, "#ticket-status", "已办结")
    call_back = driver.find_element(By.ID, "action-call_back")
    call_back.find_element(By.CSS_SELECTOR, "input[name=satisfaction][value='5']").click()
    act(driver, "call_back")
    wait_text(driver, "#ticket-status", "已回访")
    screenshot(driver, "journey-tickets-12-called-back")

    # The resident's follow-up page shows every step and the answer.
    driver.delete_all_cookies()
    as_phone(driver)
    driver.get(sms_link_here)
    wait_for(driver, "#timeline")
    assert driver.current_url == follow_url
    assert steps(driver) == [
        "已收到您的求助", "已受理", f"已派往{DEPARTMENT}", "正在办理", "已答复", "已办结", "已回访"]
    assert driver.find_element(By.CSS_SELECTOR, "#timeline .reply").text == REPLY
    assert driver.find_element(By.ID, "status").text == "已办结并回访"
    assert "bumen" not in driver.page_source and "juwei" not in driver.page_source
    assert fits_the_phone(driver)
    screenshot(driver, "journey-tickets-13-follow-up")
    screenshot(driver, "journey-tickets-14-follow-up-steps", scroll_to="#timeline")
