"""Group buying: an approved leader proves their phone on a 360 px phone, files a buy with two
items (one above the street's reference price, one bundle listing its contents); on a desktop the
committee sees the price flag on the filing and approves it; the leader's phone shows it approved.
Screenshots under var/screenshots/."""

import datetime as dt
import shutil
import tempfile

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from xiuhua.sms.models import OutboundSms
from xiuhua.supply import services
from xiuhua.supply.models import Filing, FilingStatus
from xiuhua.supply.tests.conftest import LEADER_PHONE, add_documents
from xiuhua.testing import acting

from .conftest import launch_chromium, login, screenshot, wait_for, wait_text
from .test_masks_phone_pages import overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office():
    """The committee's desktop, a browser of its own."""
    profile = tempfile.mkdtemp(prefix="xiuhua-chromium-office-")
    driver = launch_chromium(profile)
    driver.set_window_size(1280, 900)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _set(driver, name: str, value: str) -> None:
    element = driver.find_element(By.NAME, name)
    driver.execute_script("arguments[0].value = arguments[1];", element, value)


def test_a_leader_files_on_a_phone_and_the_committee_approves_on_a_desktop(phone, office, live_server, world):
    now = timezone.now()
    applied = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    leader = services.leader_decide(actor=acting(world.staff_a1), leader=applied, action="approve")
    add_documents(leader, now=now)
    services.reference_price_set(actor=acting(world.street_officer), street=world.street_a, name="鸡蛋", unit="枚",
                                 price="1.00", effective_from=timezone.localdate() - dt.timedelta(days=1))

    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/supply/lead/")
    assert overflow(phone) == 0
    screenshot(phone, "supply-01-phone-sign-in")
    phone.find_element(By.ID, "id_phone").send_keys(LEADER_PHONE)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    otp = OutboundSms.objects.filter(phone=LEADER_PHONE, template="XH_OTP").latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(otp)
    phone.find_element(By.ID, "check-code").click()
    wait_text(phone, f"#leader-{leader.pk} h2", "国和一村 · 团长 李**")
    assert overflow(phone) == 0
    screenshot(phone, "supply-02-phone-leader-home")

    phone.find_element(By.ID, "new-filing").click()
    wait_for(phone, "#submit-filing")
    for name, value in (("supplier", "上海鲜达食品有限公司"), ("supplier_licence", "JY131"),
                        ("driver_name", "王师傅"), ("driver_phone", "13900001234"), ("vehicle_plate", "沪A12345"),
                        ("item-0-name", "鸡蛋"), ("item-0-unit", "枚"), ("item-0-pack_quantity", "30"),
                        ("item-0-price", "36"), ("item-1-name", "蔬菜套餐"), ("item-1-unit", "份"),
                        ("item-1-pack_quantity", "1"), ("item-1-price", "88")):
        phone.find_element(By.NAME, name).send_keys(value)
    phone.find_element(By.NAME, "item-1-contents").send_keys("土豆 1kg\n青菜 500g")
    local = timezone.localtime(now)
    _set(phone, "window_start", (local + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    _set(phone, "window_end", (local + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"))
    assert overflow(phone) == 0
    screenshot(phone, "supply-03-phone-new-filing", scroll_to="#item-1")
    phone.find_element(By.ID, "submit-filing").click()
    wait_text(phone, "#filing-status", "待审核")
    filing = Filing.objects.get()
    assert [(i.name, i.flagged) for i in filing.items.all()] == [("鸡蛋", True), ("蔬菜套餐", False)]
    assert overflow(phone) == 0
    screenshot(phone, "supply-04-phone-filed")

    login(office, live_server, "staff_a1")
    office.get(f"{live_server.url}/supply/filings/")
    wait_text(office, f"#filing-{filing.pk}", "价格超参考价")
    screenshot(office, "supply-05-desktop-filings")
    office.find_element(By.CSS_SELECTOR, f"#filing-{filing.pk} a").click()
    wait_text(office, "#items", "高出参考价10%以上")
    screenshot(office, "supply-06-desktop-filing")
    office.find_element(By.ID, "action-approve").click()
    wait_text(office, "#filing-status", "已通过")
    screenshot(office, "supply-07-desktop-approved")
    filing.refresh_from_db()
    assert filing.status == FilingStatus.APPROVED

    phone.refresh()
    wait_text(phone, "#filing-status", "已通过")
    screenshot(phone, "supply-08-phone-approved")
