"""Committee staff at a desk (1280 px) find a resident by the last four digits of a phone, open
the person page and follow it to a work order."""

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By

from xiuhua.residents.tests.test_person_page import person_with_everything

from .conftest import login, screenshot, search_residents, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_by_phone_tail_open_the_person_page_and_follow_a_link(desktop, live_server, world):
    about = person_with_everything(world)
    login(desktop, live_server, "staff_a1")
    desktop.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "path": "/"})

    search_residents(desktop, live_server, "5678")  # the end of 张秀英's mobile 13812345678
    wait_text(desktop, "#result-table", "张秀英")
    row = desktop.find_element(By.CSS_SELECTOR, "#result-table tbody tr")
    assert "独居老人" in row.text and "国和一村5号302室" in row.text
    screenshot(desktop, "person_search_by_phone_tail")

    desktop.find_element(By.LINK_TEXT, "张秀英").click()
    wait_for(desktop, "#part-tickets")
    for part, text in (("household", "国和一村5号302室"), ("masks", "第1轮"), ("isolation", "隔离中"),
                       ("tracing", "通信大数据 第1批"), ("tickets", about["ticket"].number)):
        wait_text(desktop, f"#part-{part}", text)
    assert world.resident_a1.plain_id not in desktop.page_source
    width = desktop.execute_script("return document.documentElement.scrollWidth")
    assert width <= 1280, width
    screenshot(desktop, "person_page")
    screenshot(desktop, "person_page_parts", scroll_to="#part-tracing")

    desktop.find_element(By.CSS_SELECTOR, "#part-tickets a").click()
    wait_text(desktop, "h1", about["ticket"].number)
    assert desktop.current_url.endswith(f"/tickets/{about['ticket'].pk}/")
    screenshot(desktop, "person_page_followed_to_the_work_order")
