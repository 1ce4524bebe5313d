"""Every staff role's first page on small phones: nothing wider than the screen, a header that
leaves the page its room, and the home table's figures labelled when its header row is hidden."""

import pytest
from selenium.webdriver.common.by import By

from xiuhua.accounts.roles import Role
from xiuhua.testing import ROLE_UNITS as UNITS
from xiuhua.testing import make_user

from .conftest import login, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 320)
# The header's three rows (brand and language; role, user and sign-out; the menu) on a phone.
HEADER_MAX_PX = 120

MEASURE = """
const header = document.querySelector('header.top').getBoundingClientRect();
return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, header: header.height};
"""


def test_every_roles_first_page_fits_a_small_phone(browser, live_server, world):
    users = {}
    for role, unit in UNITS.items():
        grid = world.grid_a1 if role == Role.GRID_WORKER else None
        users[role] = make_user(f"layout_{role}", role, getattr(world, unit), grid=grid)
    problems = []
    try:
        for role, user in users.items():
            browser.set_window_size(360, 740)
            login(browser, live_server, user.username)
            for width in WIDTHS:
                browser.set_window_size(width, 740)
                browser.get(f"{live_server.url}/")
                wait_for(browser, "header .who")
                m = browser.execute_script(MEASURE)
                if m["scroll"] > m["inner"] or m["header"] > HEADER_MAX_PX:
                    problems.append((role.value, width, m))
                screenshot(browser, f"layout-home-{role.value}-{width}")
    finally:
        browser.set_window_size(1280, 900)
    assert problems == [], "\n".join(map(str, problems))


def test_the_grid_workers_home_table_labels_every_figure_on_a_phone(phone, live_server, world):
    user = make_user("layout_grid", Role.GRID_WORKER, world.committee_a1, grid=world.grid_a1)
    login(phone, live_server, user.username)
    phone.get(f"{live_server.url}/")
    wait_for(phone, "#overview")
    # What a phone shows before each figure (the header row is hidden there).
    shown = phone.execute_script(
        "return [...document.querySelectorAll('#overview tbody tr:first-child td')]"
        ".map(td => getComputedStyle(td, '::before').content);"
    )
    assert shown == ['"单位: "', '"户: "', '"居民: "', '"独居老人: "', '"透析: "', '"化疗: "', '"孕妇: "',
                     '"残疾: "', '"无智能手机: "']
    assert phone.execute_script("return getComputedStyle(document.querySelector('#overview thead')).display") == "none"
    screenshot(phone, "layout-grid-home-table-360", scroll_to="#overview")


def test_error_pages_have_the_sites_look_on_a_phone(phone, live_server, world):
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/help/t/{'x' * 24}/")
    wait_for(phone, ".error-page h1")
    assert phone.find_element(By.CSS_SELECTOR, ".error-page h1").text == "页面不存在"
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "error-404-resident-phone")
    login(phone, live_server, "pharmacy")
    phone.get(f"{live_server.url}/places/")
    wait_for(phone, ".error-page h1")
    assert phone.find_element(By.CSS_SELECTOR, ".error-page h1").text == "没有权限打开这个页面"
    screenshot(phone, "error-403-phone")


def test_the_street_offices_first_page_on_a_desktop(desktop, live_server, world):
    login(desktop, live_server, "street_a")
    desktop.get(f"{live_server.url}/")
    wait_for(desktop, "#waiting-work.urgent")
    header = desktop.execute_script(MEASURE)["header"]
    assert header <= 80, header  # one row on a desktop
    screenshot(desktop, "layout-home-street_officer-desktop")
