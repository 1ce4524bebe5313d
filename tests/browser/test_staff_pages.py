import pytest
from selenium.webdriver.common.by import By

from .conftest import login, screenshot, search_residents, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_search_and_resident_detail(desktop, live_server, world):
    login(desktop, live_server, "staff_a1")
    desktop.get(f"{live_server.url}/residents/")
    box = desktop.find_element(By.ID, "id_q")
    box.send_keys("张秀英")
    box.submit()
    wait_text(desktop, "#result-table", "张秀英")
    rows = desktop.find_elements(By.CSS_SELECTOR, "#result-table tbody tr")
    assert len(rows) == 1
    assert world.resident_a1.id_masked in rows[0].text
    rows[0].find_element(By.LINK_TEXT, "张秀英").click()
    wait_for(desktop, "#id-number")
    assert desktop.find_element(By.ID, "id-number").text == world.resident_a1.id_masked
    assert world.resident_a1.plain_id not in desktop.page_source


def test_search_does_not_find_another_committees_resident(desktop, live_server, world):
    login(desktop, live_server, "staff_a1")
    search_residents(desktop, live_server, "赵强")
    wait_text(desktop, "#result-table", "没有找到")


def test_reveal_full_id_with_reason_on_a_phone(phone, live_server, world):
    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/residents/{world.resident_a1.pk}/")
    phone.find_element(By.ID, "id_reason").send_keys("核对身份")
    phone.find_element(By.CSS_SELECTOR, "#reveal button").click()
    wait_text(phone, "#full-id", world.resident_a1.plain_id)


def test_search_on_a_phone_keeps_the_query_out_of_the_address_and_says_when_paused(phone, live_server, world):
    """The grid worker searches by a full number: the answer comes, the address bar never holds
    the number; past the lookup limit the page says why and for how long."""
    from xiuhua.testing import use_up_lookups

    login(phone, live_server, "grid_a1")
    search_residents(phone, live_server, world.resident_a1.plain_id)
    wait_text(phone, "#result-table", "张秀英")
    assert world.resident_a1.plain_id not in phone.current_url
    assert world.resident_a1.plain_id not in phone.page_source  # only the masked form is shown
    screenshot(phone, "residents-search-phone")
    use_up_lookups(world.grid_worker)
    search_residents(phone, live_server, "13812345678")
    wait_text(phone, "#q-error", "查询过于频繁")
    screenshot(phone, "residents-search-paused-phone")
