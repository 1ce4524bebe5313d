"""Emergency care in a real browser: a resident files a medical request from the door QR on a
phone; staff accept and dispatch it, the department handles and answers it, the committee closes
it; the resident's link shows each step as it happens."""

import pytest
from selenium.webdriver.common.by import By

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.testing import acting, make_user
from xiuhua.tickets import services
from xiuhua.tickets.door import door_path
from xiuhua.tickets.models import Department, Ticket, TicketStatus

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def steps(driver) -> list[str]:
    return [li.find_element(By.TAG_NAME, "b").text for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]


def act(driver, live_server, ticket: Ticket, action: str, fields: dict | None = None) -> None:
    driver.get(f"{live_server.url}/tickets/{ticket.pk}/")
    form = wait_for(driver, f"#action-{action}")
    for name, value in (fields or {}).items():
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".messages")


def test_a_medical_request_from_the_door_to_its_closing(phone, live_server, world):
    w = world
    health = Department.objects.create(street=w.street_a, name="社区卫生服务中心")
    worker = make_user("dept_a", Role.DEPARTMENT_STAFF, w.street_a)
    health.members.add(Membership.objects.get(user=worker))
    services.routing_rule_set(actor=acting(w.street_officer), street=w.street_a, category="dialysis",
                              department=health)

    # The resident scans the QR on the door: the address is already there; no login.
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}{door_path(w.household_a1.pk)}")
    wait_text(phone, "#address", w.household_a1.room)
    assert fits_the_phone(phone)
    form = phone.find_element(By.ID, "help-form")
    form.find_element(By.CSS_SELECTOR, "label[for=id_category_0]").click()  # 透析, the first medical choice
    assert form.find_element(By.ID, "id_category_0").get_attribute("value") == "dialysis"
    form.find_element(By.CSS_SELECTOR, "label[for=id_urgency_0]").click()
    assert form.find_element(By.ID, "id_urgency_0").get_attribute("value") == "urgent"
    form.find_element(By.NAME, "description").send_keys("周三上午透析,小区封控无车,需要接送")
    form.find_element(By.CSS_SELECTOR, "input[name=phone]").send_keys("13812345678")
    form.find_element(By.ID, "submit-help").click()

    wait_for(phone, "#number")
    ticket = Ticket.objects.get()
    assert phone.find_element(By.ID, "number").text == ticket.number
    assert (ticket.category, ticket.urgency, ticket.deadline_class, ticket.household) == (
        "dialysis", "urgent", "emergency", w.household_a1)
    assert steps(phone) == ["已收到您的求助"]
    assert fits_the_phone(phone)
    follow_url = phone.current_url
    assert "/help/t/" in follow_url

    # Committee staff see it on their board, accept it and dispatch it by the street's rule.
    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/tickets/")
    wait_text(phone, f"#ticket-{ticket.pk}", ticket.number)
    assert fits_the_phone(phone)
    act(phone, live_server, ticket, "accept")
    wait_text(phone, "#ticket-status", "已受理")
    act(phone, live_server, ticket, "dispatch")
    wait_text(phone, "#ticket-where", "社区卫生服务中心")
    # The committee follows the order but no longer handles it: no "start" form for it.
    assert not phone.find_elements(By.ID, "action-start")

    phone.delete_all_cookies()
    phone.get(follow_url)
    wait_for(phone, "#timeline")
    assert steps(phone) == ["已收到您的求助", "已受理", "已派往社区卫生服务中心"]

    # The health centre's worker starts and answers it.
    login(phone, live_server, "dept_a")
    phone.get(f"{live_server.url}/tickets/")
    wait_text(phone, f"#ticket-{ticket.pk}", ticket.number)
    act(phone, live_server, ticket, "start")
    wait_text(phone, "#ticket-status", "办理中")
    act(phone, live_server, ticket, "reply", {"reply": "已安排车辆周三7:00在楼下接送"})
    wait_text(phone, "#ticket-status", "已答复")

    phone.delete_all_cookies()
    phone.get(follow_url)
    wait_for(phone, "#timeline")
    assert steps(phone) == ["已收到您的求助", "已受理", "已派往社区卫生服务中心", "正在办理", "已答复"]
    assert phone.find_element(By.CSS_SELECTOR, "#timeline .reply").text == "已安排车辆周三7:00在楼下接送"
    assert worker.display_name == "dept_a" and "dept_a" not in phone.page_source

    # The committee closes it; the resident sees it closed.
    login(phone, live_server, "staff_a1")
    act(phone, live_server, ticket, "close")
    wait_text(phone, "#ticket-status", "已办结")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED

    phone.delete_all_cookies()
    phone.get(follow_url)
    wait_for(phone, "#timeline")
    assert steps(phone)[-1] == "已办结"
    assert len(steps(phone)) == 6
    assert fits_the_phone(phone)


# The first tap's request is sent and, before its answer (and the session cookie it sets) is
# back, the second tap sends the same form again: the browser shows the second answer.
FIRST_TAP = """
const form = document.getElementById('help-form');
const done = arguments[arguments.length - 1];
fetch(form.action || location.href, {method: 'POST', body: new FormData(form), redirect: 'manual',
                                     credentials: 'same-origin'}).then(r => done(r.type));
"""


def test_a_double_tap_on_submit_leads_to_the_request_already_filed(phone, live_server, world):
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}{door_path(world.household_a1.pk)}")
    wait_text(phone, "#address", world.household_a1.room)
    form = phone.find_element(By.ID, "help-form")
    form.find_element(By.CSS_SELECTOR, "label[for=id_category_0]").click()
    form.find_element(By.CSS_SELECTOR, "label[for=id_urgency_0]").click()
    form.find_element(By.NAME, "description").send_keys("母亲透析,需要车辆接送")
    form.find_element(By.CSS_SELECTOR, "input[name=phone]").send_keys("13812345678")
    assert phone.execute_async_script(FIRST_TAP) == "opaqueredirect"
    ticket = Ticket.objects.get()
    phone.delete_cookie("sessionid")  # the second tap left before the first one's answer came
    phone.find_element(By.ID, "submit-help").click()

    wait_text(phone, ".messages", "已经提交过了")
    assert "/help/t/" in phone.current_url
    assert phone.find_element(By.ID, "number").text == ticket.number
    assert steps(phone) == ["已收到您的求助"]
    assert fits_the_phone(phone)
    screenshot(phone, "tickets-double-tap")
    assert Ticket.objects.count() == 1


# A4 at 96 px to the inch, less 10 mm margins: portrait 718 px wide, landscape 1047 px.
A4_PORTRAIT = 718
A4_LANDSCAPE = 1047

OVERFLOW = """
const box = document.querySelector(arguments[0]);
const wide = [box, ...box.querySelectorAll('table')].filter(el => el.scrollWidth > el.clientWidth + 1);
const page = document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;
return {wide: wide.map(el => el.id || el.className), page: page,
        right: Math.max(...[...box.querySelectorAll('th, td')].map(c => c.getBoundingClientRect().right)),
        edge: box.getBoundingClientRect().right};
"""


def overflow(driver, css: str) -> dict:
    return driver.execute_script(OVERFLOW, css)


def printed(driver, width: int):
    """The page as printed on paper `width` px wide (print media, that width)."""
    driver.set_window_size(width, 900)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})


def on_screen(driver):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.set_window_size(1280, 900)


def test_the_daily_reports_category_table_fits_the_screen_and_the_printed_page(desktop, live_server, world):
    w = world
    for category in ("dialysis", "medicine", "food", "elderly_care"):
        services.ticket_create(actor=acting(w.staff_a1), source="call", category=category, urgency="normal",
                               description="需要帮助", committee=w.committee_a1)
    login(desktop, live_server, "street_a")
    desktop.get(f"{live_server.url}/tickets/office/daily/")
    wait_for(desktop, "#by-category #category-total")
    assert desktop.execute_script("return window.innerWidth") == 1280
    fit = overflow(desktop, "#by-category-box")
    assert fit["wide"] == [] and not fit["page"] and fit["right"] <= fit["edge"] + 1, fit
    screenshot(desktop, "tickets-daily-1280", scroll_to="#by-category")
    try:
        printed(desktop, A4_LANDSCAPE)
        fit = overflow(desktop, "#by-category-box")
        assert fit["wide"] == [] and not fit["page"] and fit["right"] <= fit["edge"] + 1, fit
        assert not desktop.find_element(By.ID, "report-filter").is_displayed()
        assert not desktop.find_element(By.CSS_SELECTOR, "header.top").is_displayed()
        screenshot(desktop, "tickets-daily-print", scroll_to="#by-category")
    finally:
        on_screen(desktop)


def test_the_board_prints_on_a4_with_its_numbers_and_filters(desktop, live_server, world):
    w = world
    for category in ("dialysis", "medicine", "food"):
        services.ticket_create(actor=acting(w.staff_a1), source="call", category=category, urgency="normal",
                               description="需要帮助", committee=w.committee_a1)
    login(desktop, live_server, "staff_a1")
    desktop.get(f"{live_server.url}/tickets/?category=food")
    wait_for(desktop, "#board td.seq")
    assert [td.text for td in desktop.find_elements(By.CSS_SELECTOR, "#board td.seq")] == ["1"]
    assert not desktop.find_element(By.ID, "board-printed").is_displayed()
    desktop.get(f"{live_server.url}/tickets/")
    wait_for(desktop, "#board td.seq")
    assert [td.text for td in desktop.find_elements(By.CSS_SELECTOR, "#board td.seq")] == ["1", "2", "3"]
    try:
        for width in (A4_LANDSCAPE, A4_PORTRAIT):
            printed(desktop, width)
            fit = overflow(desktop, "main")
            assert fit["wide"] == [] and not fit["page"] and fit["right"] <= fit["edge"] + 1, (width, fit)
            for hidden in ("board-filters", "counts"):
                assert not desktop.find_element(By.ID, hidden).is_displayed(), hidden
            assert not desktop.find_element(By.CSS_SELECTOR, "header.top").is_displayed()
            wait_text(desktop, "#board-printed", "全部未办结工单")
            screenshot(desktop, f"tickets-board-print-{width}")
    finally:
        on_screen(desktop)
