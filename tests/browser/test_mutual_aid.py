"""Mutual aid through the pages: the street pairs two committees and forms a pool; a committee
posts a request on a phone; two secretaries on 360 px phones claim it at the same moment, one wins
and the other sees "已被认领"; the street marks a committee unable to act, its partner's staff
switch to the temporary membership, change a resident's living status there, and the audit page
shows the change as done through the temporary membership."""

import datetime as dt
import shutil
import tempfile
import threading

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.places.models import Kind
from xiuhua.residents.models import Resident
from xiuhua.testing import make_user, unit
from xiuhua.volunteers.models_aid import AidRequest, AidRequestStatus

from .conftest import launch_chromium, login, screenshot, search_residents, wait_for, wait_text
from .test_masks_phone_pages import overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_phone():
    """A second secretary's phone: a browser of its own, 360 px wide."""
    profile = tempfile.mkdtemp(prefix="xiuhua-chromium-phone2-")
    driver = launch_chromium(profile)
    driver.set_window_size(360, 740)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def office():
    profile = tempfile.mkdtemp(prefix="xiuhua-chromium-office-")
    driver = launch_chromium(profile)
    driver.set_window_size(1280, 900)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _set(driver, name: str, value: str) -> None:
    element = driver.find_element(By.NAME, name)
    driver.execute_script("arguments[0].value = arguments[1];", element, value)


def _check(driver, label: str) -> None:
    box = driver.find_element(By.XPATH, f"//form[@id='pool-new']//label[contains(., '{label}')]/input")
    driver.execute_script("arguments[0].click()", box)


def test_claim_race_on_two_phones_and_a_b_cover_through_the_pages(phone, second_phone, office, live_server, world):
    world.committee_a3 = unit(Kind.COMMITTEE, "国和三村居委会", world.street_a, code="310110012003")
    make_user("staff_a3", Role.COMMITTEE_STAFF, world.committee_a3)

    # The street pairs A1 and A2 and forms a pool of its three committees.
    login(office, live_server, "street_a")
    office.get(f"{live_server.url}/volunteers/aid/pairing/")
    Select(office.find_element(By.ID, "id_a")).select_by_visible_text("国和一村居委会")
    Select(office.find_element(By.ID, "id_b")).select_by_visible_text("国和二村居委会")
    office.find_element(By.ID, "pair-submit").click()
    wait_text(office, "#pairs", "国和二村居委会")
    office.find_element(By.ID, "id_pool_name").send_keys("头雁合作")
    for name in ("国和一村居委会", "国和二村居委会", "国和三村居委会"):
        _check(office, name)
    office.find_element(By.ID, "pool-submit").click()
    wait_for(office, "form.pool")
    screenshot(office, "aid-pairing-1280")

    # A third secretary watches the open list before anything is posted: the poll brings it in.
    login(second_phone, live_server, "staff_a3")
    second_phone.get(f"{live_server.url}/volunteers/aid/")
    wait_for(second_phone, "#aid-open-empty")

    # Committee A1 posts a request to its whole pool, on a phone.
    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/volunteers/aid/")
    phone.find_element(By.ID, "post-request").click()
    phone.find_element(By.NAME, "what").send_keys("5号楼上门核酸采样,缺两名扫码员")
    Select(phone.find_element(By.NAME, "compound")).select_by_visible_text("国和一村")
    phone.find_element(By.NAME, "people_needed").clear()
    phone.find_element(By.NAME, "people_needed").send_keys("2")
    _set(phone, "needed_by", (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    phone.find_element(By.NAME, "contact_name").clear()
    phone.find_element(By.NAME, "contact_name").send_keys("李慧敏")
    phone.find_element(By.NAME, "contact_phone").send_keys("13900001111")
    phone.find_element(By.CSS_SELECTOR, "input[name=ring][value=pool]").click()
    screenshot(phone, "aid-post-360")
    assert overflow(phone) == 0
    phone.find_element(By.ID, "post-submit").click()
    wait_text(phone, "#aid-status", "待认领")
    request = AidRequest.objects.get()

    # Secretary A2 opens the list on the first phone; A3's list has refreshed by itself.
    login(phone, live_server, "staff_a2")
    phone.get(f"{live_server.url}/volunteers/aid/")
    claim = f"#claim-{request.pk}"
    wait_for(phone, claim)
    wait_for(second_phone, claim, timeout=15)
    screenshot(second_phone, "aid-open-360")
    assert overflow(second_phone) == 0

    # Both tap 认领 at the same moment.
    barrier = threading.Barrier(2)

    def tap(driver):
        button = driver.find_element(By.CSS_SELECTOR, claim)
        barrier.wait()
        button.click()

    threads = [threading.Thread(target=tap, args=(d,)) for d in (phone, second_phone)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for driver in (phone, second_phone):
        WebDriverWait(driver, 10).until(lambda d: "认领成功" in d.page_source or "已被认领" in d.page_source)
    outcomes = {name: ("已被认领" in d.page_source) for name, d in (("a2", phone), ("a3", second_phone))}
    assert sorted(outcomes.values()) == [False, True], outcomes
    screenshot(phone, "aid-claim-a2-360")
    screenshot(second_phone, "aid-claim-a3-360")
    request.refresh_from_db()
    loser = phone if outcomes["a2"] else second_phone
    winner_name = request.claimed_by.username
    assert request.status == AidRequestStatus.CLAIMED
    assert f"已被认领:{winner_name}" in loser.find_element(By.CSS_SELECTOR, ".messages").text
    assert AuditEvent.objects.filter(action="aid_request_claim").count() == 1

    # The street marks committee A1 unable to act until the day after tomorrow.
    office.get(f"{live_server.url}/volunteers/aid/covers/")
    Select(office.find_element(By.NAME, "cover-committee")).select_by_value(str(world.committee_a1.pk))
    office.find_element(By.NAME, "cover-reason").send_keys("班子成员所在小区封控")
    _set(office, "cover-ends_on", (timezone.localdate() + dt.timedelta(days=2)).isoformat())
    office.find_element(By.ID, "cover-submit").click()
    wait_text(office, "#covers", "班子成员所在小区封控")
    screenshot(office, "aid-covers-1280")

    # A2's staff switch to the temporary membership and mark A1's resident as moved out.
    login(phone, live_server, "staff_a2")
    phone.get(f"{live_server.url}/volunteers/aid/")
    wait_text(phone, ".banner", "本居委会正在临时代管国和一村居委会")
    switch = Select(phone.find_element(By.ID, "membership-switch"))
    label = next(o.text for o in switch.options if o.text.startswith("AB角临时代管: 国和一村居委会, 至"))
    switch.select_by_visible_text(label)
    wait_text(phone, "#temporary-membership", "AB角临时代管")
    screenshot(phone, "aid-temporary-360")
    search_residents(phone, live_server, "张秀英")
    WebDriverWait(phone, 10).until(lambda d: d.find_elements(By.LINK_TEXT, "张秀英"))[0].click()
    WebDriverWait(phone, 10).until(lambda d: d.find_elements(By.LINK_TEXT, "编辑"))[0].click()
    wait_for(phone, "select[name=living_status]")
    Select(phone.find_element(By.NAME, "living_status")).select_by_value("moved_out")
    phone.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    WebDriverWait(phone, 10).until(
        lambda d: Resident.objects.get(pk=world.resident_a1.pk).living_status == "moved_out")

    # The street's audit page shows the change as done through the temporary membership.
    office.get(f"{live_server.url}/accounts/audit/")
    wait_text(office, "table", "AB角临时代管")
    row = office.find_element(By.XPATH, "//tr[td[contains(., '修改居民信息')]]")
    assert "staff_a2" in row.text and "AB角临时代管" in row.text and "国和一村居委会" in row.text
    screenshot(office, "aid-audit-1280")
