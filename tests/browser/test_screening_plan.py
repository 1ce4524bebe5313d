"""The screening round and its plan in a real browser: a street officer opens a round, adds a
site with its lines, makes the plan and reads the simulated queue chart; the chart's styles apply
under the page's CSP, and the plan page fits a phone."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.screening.models import CallSlot, ScreeningRound

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_street_officer_plans_a_round_through_the_pages(desktop, live_server, world):
    login(desktop, live_server, "street_a")
    desktop.get(f"{live_server.url}/screening/")
    wait_for(desktop, "#round-new").click()
    wait_for(desktop, "#round-form")
    desktop.find_element(By.ID, "id_name").send_keys("第一轮全员筛查")
    screenshot(desktop, "screening-round-new")
    desktop.find_element(By.CSS_SELECTOR, "#round-form button[type=submit]").click()
    wait_text(desktop, "h1", "第一轮全员筛查")
    screening_round = ScreeningRound.objects.get()
    assert screening_round.compounds.count() == 2  # none ticked: the whole street

    desktop.find_element(By.ID, "site-new").click()
    wait_for(desktop, "#site-form")
    Select(desktop.find_element(By.ID, "id_committee")).select_by_visible_text("国和一村居委会")
    desktop.find_element(By.ID, "id_name").send_keys("国和一村广场")
    count = desktop.find_element(By.ID, "id_line_count")
    count.clear()
    count.send_keys("4")
    desktop.find_element(By.CSS_SELECTOR, "#site-form button[type=submit]").click()
    wait_text(desktop, "body", "已新增采样点")
    assert len(desktop.find_elements(By.CSS_SELECTOR, ".lines form")) == 4
    screenshot(desktop, "screening-round-with-site")

    desktop.find_element(By.ID, "plan-link").click()
    wait_for(desktop, "#plan-form")
    desktop.find_element(By.ID, "id_phase_order").send_keys("2-1")
    desktop.find_element(By.ID, "plan-make").click()
    wait_for(desktop, "#plan-figures")
    assert CallSlot.objects.filter(round=screening_round).count() == 3
    chart = wait_for(desktop, "figure.chart svg")
    # pygal's stylesheet applied under the CSP (its nonce): the queue lines are strokes, not
    # filled black shapes as an SVG path is without it.
    fill = desktop.execute_script(
        "return getComputedStyle(document.querySelector('figure.chart svg .series path.nofill')).fill")
    assert fill == "none"
    assert "1号台" in chart.text and "上下限 30" in chart.text
    assert "国和二村12号" in desktop.find_element(By.TAG_NAME, "main").text or "12号" in desktop.page_source
    screenshot(desktop, "screening-plan", scroll_to="#plan-figures")

    desktop.set_window_size(360, 740)
    try:
        desktop.refresh()
        wait_for(desktop, "#plan-figures")
        assert desktop.execute_script("return document.documentElement.scrollWidth") <= 360
        screenshot(desktop, "screening-plan-phone", scroll_to="figure.chart")
    finally:
        desktop.set_window_size(1280, 900)
