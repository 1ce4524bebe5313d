"""Journey: risk zones from an empty street, through the pages only.

The administrator builds the street in the admin (journey.empty_street). The district officer
publishes the 22 May 2022 rule from its preset; the street officer prints the compound's gate
poster, whose QR the test reads as a phone would; a resident on a 360 px phone opens it: a
precaution zone. The street officer enters a positive in building 2号: under the rule the
building is sealed and the rest of the compound controlled, and the resident's page shows the new
clock (day 1) and the projected release, 10 days on."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from xiuhua.testing import qr_codes_in_png

from .conftest import login, screenshot, wait_for, wait_text
from .journey import empty_street

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def accept_confirm(driver) -> None:
    WebDriverWait(driver, 10).until(ec.alert_is_present())
    driver.switch_to.alert.accept()


def test_a_positive_entered_by_the_street_shows_on_the_compounds_public_page(desktop, live_server):
    street = empty_street(desktop, live_server, buildings=("1号", "2号"), accounts={
        "quban": ("district_officer", "district"),
        "jiedao": ("street_officer", "street"),
    })
    today = timezone.localdate()

    # The district publishes the 22 May 2022 rule, from its preset, effective today.
    login(desktop, live_server, "quban")
    desktop.find_element(By.CSS_SELECTOR, '#my-pages a[data-menu="zones"]').click()
    wait_for(desktop, ".zone-nav")
    desktop.find_element(By.LINK_TEXT, "区域规则").click()
    wait_for(desktop, "#preset-may_22").click()
    wait_for(desktop, "#rule-form")
    assert desktop.find_element(By.ID, "id_sealed_days").get_attribute("value") == "7"
    desktop.find_element(By.CSS_SELECTOR, "#rule-form button[type=submit]").click()
    wait_text(desktop, "#preview-summary", "0 个区域将因此改变")
    screenshot(desktop, "journey-zones-01-rule-preview", scroll_to="#preview-summary")
    desktop.find_element(By.ID, "rule-publish").click()
    accept_confirm(desktop)
    wait_text(desktop, "body", "规则已发布")

    # The street prints the compound's gate poster; a phone reads its QR.
    login(desktop, live_server, "jiedao")
    desktop.get(f"{live_server.url}/zones/compounds/")
    wait_for(desktop, f"#poster-{street.compound}").click()
    qr = wait_for(desktop, "#poster-qr svg")
    found = qr_codes_in_png(qr.screenshot_as_png)
    assert len(found) == 1 and found[0][0] == "QRCode"
    public_url = found[0][1]
    assert public_url.startswith(f"{live_server.url}/zones/p/")
    screenshot(desktop, "journey-zones-02-poster")

    # A resident opens it on a phone, without signing in: a precaution zone, no clock.
    desktop.delete_all_cookies()
    desktop.set_window_size(360, 740)
    desktop.get(public_url)
    wait_text(desktop, "#public-level", "防范区")
    assert not desktop.find_elements(By.ID, "public-day")
    assert desktop.execute_script("return document.documentElement.scrollWidth") <= 360
    screenshot(desktop, "journey-zones-03-public-before")

    # The street enters a positive in 2号 today.
    desktop.set_window_size(1280, 900)
    login(desktop, live_server, "jiedao")
    desktop.get(f"{live_server.url}/zones/")
    wait_for(desktop, "#positive-new").click()
    Select(wait_for(desktop, "#id_compound")).select_by_visible_text("国和一村(国和一村居委会)")
    desktop.find_element(By.CSS_SELECTOR, "#positive-compound button[type=submit]").click()
    Select(wait_for(desktop, "#id_building")).select_by_visible_text("2号")
    desktop.find_element(By.ID, "id_note").send_keys("区疾控通报")
    desktop.find_element(By.CSS_SELECTOR, "#positive-form button[type=submit]").click()
    wait_text(desktop, "body", "已登记阳性,相关区域已更新")
    wait_text(desktop, "h1", "管控区")
    screenshot(desktop, "journey-zones-04-zone")
    desktop.get(f"{live_server.url}/zones/")
    wait_text(desktop, "#zone-counts", "1")
    wait_text(desktop, "#zones", "2号")
    screenshot(desktop, "journey-zones-05-board")

    # The resident's page, reloaded: the compound controlled from today, 2号 sealed, day 1, and
    # the release 10 days on (7 sealed, then 3 controlled).
    desktop.delete_all_cookies()
    desktop.set_window_size(360, 740)
    desktop.get(public_url)
    wait_text(desktop, "#public-level", "管控区")
    wait_text(desktop, "#public-day", "第1天")
    release = (today + dt.timedelta(days=10)).isoformat()
    wait_text(desktop, "#public-buildings", f"2号 封控区 第1天,预计 {release} 解除")
    wait_text(desktop, "#public-last-positive", today.isoformat())
    wait_text(desktop, "#public-rule", "封控区连续7天无新增阳性的,降为管控区")
    assert "区疾控通报" not in desktop.page_source
    assert desktop.execute_script("return document.documentElement.scrollWidth") <= 360
    screenshot(desktop, "journey-zones-06-public-after")
    desktop.set_window_size(1280, 900)
