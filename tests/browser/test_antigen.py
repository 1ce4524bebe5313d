"""Antigen on phones: a resident proves the household's mobile on a 360 px phone and reports for
three household members with one tap each; on another phone the grid worker watches the
building's not-yet-reported list fall from 3 to 0 (and prints it on A4 first). Screenshots under
var/screenshots/."""

import datetime as dt
import shutil
import tempfile

import pytest
from selenium.webdriver.common.by import By

from xiuhua.antigen.models import AntigenReport
from xiuhua.residents.models import Relation
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import make_resident

from .conftest import launch_chromium, login, screenshot, wait_for, wait_text
from .test_lists_print import A4_PORTRAIT, assert_fits, on_screen, printed
from .test_masks_phone_pages import overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def grid_phone():
    """A second phone (the grid worker's), a browser of its own."""
    profile = tempfile.mkdtemp(prefix="xiuhua-chromium-grid-")
    driver = launch_chromium(profile)
    driver.set_window_size(360, 740)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_a_household_reports_three_members_and_the_grid_worker_sees_the_list_fall(phone, grid_phone, live_server,
                                                                                 world):
    make_resident(world.household_a1, "张三", relation=Relation.CHILD, mobile="13912340001", birth=dt.date(1975, 1, 2))
    make_resident(world.household_a1, "张小明", relation=Relation.GRANDCHILD, birth=dt.date(2010, 6, 1))
    not_reported = f"{live_server.url}/antigen/not-reported/?building={world.building_a1.pk}"

    login(grid_phone, live_server, "grid_a1")
    grid_phone.get(not_reported)
    wait_text(grid_phone, "#not-reported-count", "3 人未上报")
    assert overflow(grid_phone) == 0
    screenshot(grid_phone, "antigen-01-grid-not-reported-3")
    # The same list on A4: its printed line, numbered rows, no menu, form or button.
    assert_fits(printed(grid_phone, A4_PORTRAIT), A4_PORTRAIT, world.committee_a1.name)
    screenshot(grid_phone, "antigen-01b-grid-not-reported-printed")
    on_screen(grid_phone)
    grid_phone.set_window_size(360, 740)

    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/antigen/my/")
    assert overflow(phone) == 0
    phone.find_element(By.ID, "id_phone").send_keys(world.resident_a1.mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    otp = OutboundSms.objects.filter(phone=world.resident_a1.mobile, template="XH_OTP").latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(otp)
    phone.find_element(By.ID, "check-code").click()
    wait_text(phone, "#report-progress", "已上报 0 / 3 人")
    assert overflow(phone) == 0
    screenshot(phone, "antigen-02-household-before")

    sections = phone.find_elements(By.CSS_SELECTOR, "section[data-member]")
    assert [s.find_element(By.CSS_SELECTOR, ".who").text.split()[0] for s in sections] == ["张**", "张*", "张**"]
    for done, section in enumerate(sections, start=1):
        member = section.get_attribute("id")
        section.find_element(By.CSS_SELECTOR, "button[data-result=negative]").click()
        wait_text(phone, f"#{member} .result", "阴性")
        wait_text(phone, "#report-progress", f"已上报 {done} / 3 人")
        wait_text(phone, "#report-note", "已上报")  # the page's script answered from the JSON endpoint
        grid_phone.get(not_reported)
        if done < 3:
            wait_text(grid_phone, "#not-reported-count", f"{3 - done} 人未上报")
        else:
            wait_text(grid_phone, "#not-reported", "没有未上报的人员")
    assert overflow(phone) == 0
    screenshot(phone, "antigen-03-household-all-reported")
    screenshot(grid_phone, "antigen-04-grid-not-reported-0")
    assert sorted(AntigenReport.objects.values_list("result", "channel")) == [("negative", "phone")] * 3

    # The page after a reload shows what was stored (not only what the script drew).
    phone.get(f"{live_server.url}/antigen/my/report/")
    wait_text(phone, "#report-progress", "已上报 3 / 3 人")
    grid_phone.get(f"{live_server.url}/antigen/")
    wait_text(grid_phone, "#antigen-total", "已上报 3 人")
    assert overflow(grid_phone) == 0
    screenshot(grid_phone, "antigen-05-grid-coverage")
