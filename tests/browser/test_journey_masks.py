"""Masks from an empty street, through the pages only: the administrator builds the street in the
admin; the street officer sets up a designated pharmacy, serves the committee with it, makes the
clerk's account and opens a round; a resident on a 360 px phone reserves with the code read off
the SMS page; the committee verifies the entry; the clerk (after changing the initial password)
records the delivery, which issues the voucher; the resident's text is read on the SMS page; the
clerk redeems the voucher. Every step is screenshotted for a person to look at."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.tests.test_roster_fixtures import new_id, person, xlsx

from .conftest import login, screenshot, wait_for, wait_text
from .journey import empty_street, import_roster, one_time_code, sms_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESIDENT_MOBILE = "13900210088"
RESIDENT_MASKED = "139****0088"
CLERK_PASSWORD = "Yaodian-Kouzhao-2026"


def desk_size(driver):
    driver.set_window_size(1280, 900)


def phone_size(driver):
    driver.set_window_size(360, 740)


def fits(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def local_input(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def test_masks_from_an_empty_street_to_a_redeemed_voucher(phone, live_server, tmp_path):
    driver = phone
    desk_size(driver)
    empty_street(driver, live_server, accounts={
        "jiedao": ("street_officer", "street"),
        "juwei": ("committee_staff", "committee"),
    })
    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx([person(姓名="林晓雯", 性别="女", 楼栋="19号", 室号="1202", 证件号码=new_id(sex="F"))]))
    import_roster(driver, live_server, "juwei", roster)

    # 1. The street officer: no pharmacy yet, the committee is listed as without one.
    login(driver, live_server, "jiedao")
    driver.find_element(By.LINK_TEXT, "口罩预约").click()
    driver.find_element(By.ID, "nav-pharmacies").click()
    wait_text(driver, "#unserved", "国和一村居委会")
    screenshot(driver, "journey-masks-01-no-pharmacy")
    driver.find_element(By.ID, "pharmacy-new").click()
    driver.find_element(By.ID, "id_name").send_keys("国和药房")
    driver.find_element(By.ID, "id_address").send_keys("国和路346号")
    driver.find_element(By.ID, "id_opening_hours").send_keys("每天 8:30-20:30")
    driver.find_element(By.CSS_SELECTOR, "#pharmacy-form button[type=submit]").click()
    wait_for(driver, "#committees-form")
    driver.find_element(By.CSS_SELECTOR, "#committees-form input[type=checkbox]").click()
    driver.find_element(By.CSS_SELECTOR, "#committees-form button[type=submit]").click()
    wait_text(driver, "#served", "国和一村居委会")
    screenshot(driver, "journey-masks-02-pharmacy-serves-the-committee")

    # 2. The clerk's account, made on the spot; the initial password is shown once.
    driver.find_element(By.ID, "id_username").send_keys("yaodian")
    driver.find_element(By.ID, "id_display_name").send_keys("赵丽")
    driver.find_element(By.ID, "id_mobile").send_keys("13900210077")
    driver.find_element(By.CSS_SELECTOR, "#new-clerk button[type=submit]").click()
    initial_password = wait_for(driver, "#initial-password").text
    assert re.fullmatch(r"[A-Za-z0-9]{12}", initial_password)
    assert "赵丽(yaodian)" in driver.find_element(By.ID, "clerks").text
    screenshot(driver, "journey-masks-03-clerk-account", scroll_to="#created-clerk")

    # 3. The street officer opens a round for the street.
    driver.find_element(By.LINK_TEXT, "预约轮次").click()
    driver.find_element(By.LINK_TEXT, "新建轮次").click()
    driver.find_element(By.ID, "id_name").send_keys("殷行街道口罩预约第1轮")
    Select(driver.find_element(By.ID, "id_scope")).select_by_visible_text("殷行街道")
    now = timezone.now()
    for field, when in (("id_opens_at", now - dt.timedelta(hours=1)), ("id_closes_at", now + dt.timedelta(days=3))):
        driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field, local_input(when))
    driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    wait_text(driver, "main h1", "草稿")
    driver.find_element(By.XPATH, "//button[normalize-space()='开始登记']").click()
    wait_text(driver, "main h1", "登记中")
    round_url = driver.current_url
    screenshot(driver, "journey-masks-04-round-open")

    # 4. The clerk signs in with the initial password and must choose a new one first.
    login(driver, live_server, "yaodian", initial_password)
    wait_for(driver, "#must-change")
    screenshot(driver, "journey-masks-05-clerk-changes-password")
    driver.find_element(By.ID, "id_old_password").send_keys(initial_password)
    driver.find_element(By.ID, "id_new_password1").send_keys(CLERK_PASSWORD)
    driver.find_element(By.ID, "id_new_password2").send_keys(CLERK_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#password-change button[type=submit]").click()
    wait_text(driver, ".messages", "密码已修改")

    # 5. A resident on a 360 px phone: the committee's page, a code by SMS, the form.
    driver.delete_all_cookies()
    phone_size(driver)
    driver.get(f"{live_server.url}/masks/c/310110012001/")
    wait_text(driver, "main h1", "口罩预约登记")
    assert "未到货" in driver.find_element(By.ID, "figures").text and fits(driver)
    screenshot(driver, "journey-masks-06-resident-committee-page")
    driver.find_element(By.ID, "id_phone").send_keys(RESIDENT_MOBILE)
    driver.find_element(By.ID, "send-code").click()
    wait_for(driver, "#check-code")
    code = one_time_code(sms_to(driver, live_server, RESIDENT_MASKED, "验证码"))
    driver.find_element(By.ID, "id_code").send_keys(code)
    screenshot(driver, "journey-masks-07-resident-code")
    driver.find_element(By.ID, "check-code").click()
    wait_for(driver, "#submit-reservation")
    driver.find_element(By.ID, "id_name").send_keys("林建国")  # new in the household: not on the roster
    resident_id = new_id(birth=dt.date(1983, 7, 9))
    driver.find_element(By.ID, "id_id_number").send_keys(resident_id)
    driver.find_element(By.ID, "id_building").send_keys("19号")
    driver.find_element(By.ID, "id_room").send_keys("1202")
    assert fits(driver)
    screenshot(driver, "journey-masks-08-resident-form")
    driver.find_element(By.ID, "submit-reservation").click()
    wait_text(driver, ".messages", "需居委会核实后生效")
    assert fits(driver)
    screenshot(driver, "journey-masks-09-resident-waits-for-the-committee")
    resident_cookies = driver.get_cookies()

    # 6. The committee verifies the entry: the household 19号 1202 of its roster.
    desk_size(driver)
    login(driver, live_server, "juwei")
    driver.get(round_url)
    driver.find_element(By.PARTIAL_LINK_TEXT, "核实队列").click()
    wait_text(driver, "#verify-queue", "林建国")
    driver.find_element(By.LINK_TEXT, "核实").click()
    wait_text(driver, "#verify-form", "国和一村19号1202室")
    driver.find_element(By.CSS_SELECTOR, "#verify-form input[name=household]").click()
    screenshot(driver, "journey-masks-10-committee-verifies")
    driver.find_element(By.CSS_SELECTOR, "#verify-form button[type=submit]").click()
    wait_text(driver, ".messages", "已核实")

    # 7. The clerk records the delivery; the voucher is issued at once.
    login(driver, live_server, "yaodian", CLERK_PASSWORD)
    driver.find_element(By.LINK_TEXT, "口罩预约").click()
    driver.find_element(By.LINK_TEXT, "登记到货").click()
    driver.find_element(By.ID, "id_quantity").send_keys("50")
    driver.find_element(By.CSS_SELECTOR, "#delivery-form button[type=submit]").click()
    wait_text(driver, "#issued-count", "本次发放购买凭证 1 张")
    screenshot(driver, "journey-masks-11-delivery-issues-the-voucher")

    # 8. The resident's text, as the SMS page shows what the phone received.
    text = sms_to(driver, live_server, RESIDENT_MASKED, "口罩购买凭证")
    match = re.search(r"口罩购买凭证([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z])已发放,请于(.+)前凭证件到国和药房"
                      r"\(国和路346号\)购买。", text)
    assert match is not None, text
    voucher_number = match.group(1)
    login(driver, live_server, "admin")
    driver.get(f"{live_server.url}/sms/")
    wait_text(driver, "#dev-deliveries", voucher_number)
    screenshot(driver, "journey-masks-12-resident-sms", scroll_to="#dev-deliveries")

    # The resident's own page shows the voucher too.
    driver.delete_all_cookies()
    driver.get(f"{live_server.url}/masks/open/")
    for cookie in resident_cookies:
        cookie.pop("sameSite", None)
        driver.add_cookie(cookie)
    phone_size(driver)
    driver.get(f"{live_server.url}/masks/me/")
    wait_text(driver, ".voucher", voucher_number)
    assert fits(driver)
    screenshot(driver, "journey-masks-13-resident-voucher")

    # 9. The clerk redeems it against the holder's document.
    desk_size(driver)
    login(driver, live_server, "yaodian", CLERK_PASSWORD)
    driver.get(f"{live_server.url}/masks/staff/redeem/")
    driver.find_element(By.ID, "id_number").send_keys(voucher_number)
    driver.find_element(By.ID, "id_id_number").send_keys(resident_id)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_text(driver, "#redeem-result", "核销成功")
    screenshot(driver, "journey-masks-14-clerk-redeems")
