"""Journey: the micro-grid passport from an empty street to a resident reading the household's
stamps from the card on the door, through the pages only.

The administrator builds the street in the admin (journey.empty_street), draws a grid and a
micro-grid over it, and gives the grid worker an account on that grid. The committee imports its
roster of four households with the grid, the micro-grid and each person's vaccination. The grid
worker, on a 360 px phone, finds on the first page how many households have all four stamps,
opens the coverage (vaccination already counted from the roster), goes down to the micro-grid's
map and one household, and stamps volunteer service there; the committee prints the micro-grid's
A6 cards, whose QR codes the test reads as a phone would; a resident of that household scans
the card, proves the mobile on the roster with the code the SMS page shows, and sees the
household's vaccination and volunteer stamps."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.tests.test_roster_fixtures import person, xlsx
from xiuhua.testing import PASSWORD, qr_codes_in_pdf

from .conftest import login, screenshot, wait_for, wait_text
from .journey import (
    _save_and_continue,
    _saved_id,
    _type,
    admin_login,
    download,
    empty_street,
    import_roster,
    one_time_code,
    sms_to,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360
RESIDENT = "13900000101"


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def admin_grid(driver, live_server, *, committee: int, kind: str, name: str, parent: int | None = None) -> int:
    driver.get(f"{live_server.url}/admin/places/grid/add/")
    _type(driver, "id_committee", str(committee))
    Select(driver.find_element(By.ID, "id_kind")).select_by_value(kind)
    _type(driver, "id_name", name)
    if parent is not None:
        _type(driver, "id_parent", str(parent))
    _save_and_continue(driver)
    return _saved_id(driver)


def admin_grid_worker(driver, live_server, *, username: str, committee: int, grid: int) -> None:
    driver.get(f"{live_server.url}/admin/accounts/user/add/")
    _type(driver, "id_username", username)
    _type(driver, "id_password1", PASSWORD)
    _type(driver, "id_password2", PASSWORD)
    _save_and_continue(driver)
    _saved_id(driver)
    _type(driver, "id_display_name", "王建国")
    Select(driver.find_element(By.ID, "id_memberships-0-role")).select_by_value("grid_worker")
    _type(driver, "id_memberships-0-org_unit", str(committee))
    _type(driver, "id_memberships-0-grid", str(grid))
    _save_and_continue(driver)
    wait_for(driver, "ul.messagelist li.success")


def coverage_cell(driver, kind: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"#coverage-total .count-{kind}").text


def test_a_passport_from_an_empty_street_to_the_residents_phone(desktop, live_server, tmp_path):
    driver = desktop
    street = empty_street(driver, live_server, buildings=("1号",), accounts={"juwei": ("committee_staff", "committee")})
    admin_login(driver, live_server)
    grid = admin_grid(driver, live_server, committee=street.committee, kind="grid", name="第一网格")
    admin_grid(driver, live_server, committee=street.committee, kind="micro", name="1号楼微网格", parent=grid)
    admin_grid_worker(driver, live_server, username="wangge", committee=street.committee, grid=grid)

    # The roster: four households of 1号 in the micro-grid; 101 and 104 fully vaccinated.
    rows = [
        person(姓名="陈国华", 楼栋="1号", 室号="101", 手机号=RESIDENT, 网格="第一网格", 微网格="1号楼微网格",
               疫苗接种剂次="3", 末次接种日期="2022-04-20"),
        person(姓名="陈小梅", 楼栋="1号", 室号="101", 手机号="", 与户主关系="子女", 疫苗接种剂次="2",
               末次接种日期="2021-10-08"),
        person(姓名="李建平", 楼栋="1号", 室号="102", 手机号="13900000102", 网格="第一网格", 微网格="1号楼微网格",
               疫苗接种剂次="2"),
        person(姓名="李桂英", 楼栋="1号", 室号="102", 手机号="", 与户主关系="配偶", 疫苗接种剂次="0"),
        person(姓名="王德明", 楼栋="1号", 室号="103", 手机号="13900000103", 网格="第一网格", 微网格="1号楼微网格"),
        person(姓名="赵秀兰", 楼栋="1号", 室号="104", 手机号="13900000104", 网格="第一网格", 微网格="1号楼微网格",
               疫苗接种剂次="1", 末次接种日期="2022-05-02"),
    ]
    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx(rows))
    import_roster(driver, live_server, "juwei", roster)

    # The grid worker, on a phone: the first page's count, then coverage, the map, one household.
    driver.set_window_size(PHONE_WIDTH, 740)
    try:
        login(driver, live_server, "wangge")
        wait_text(driver, "#work-passport", "家园护照:本周四章齐全 0 / 4 户")
        driver.find_element(By.CSS_SELECTOR, "#my-pages a[data-menu=passport]").click()
        wait_for(driver, "#coverage")
        assert coverage_cell(driver, "vaccine") == "2 (50%)" and coverage_cell(driver, "volunteer") == "0 (0%)"
        assert fits_the_phone(driver)
        screenshot(driver, "journey-passport-01-coverage")
        driver.find_element(By.LINK_TEXT, "第一网格").click()
        wait_for(driver, "#household-map")
        driver.find_element(By.LINK_TEXT, "1号楼微网格").click()
        wait_text(driver, "h1", "1号楼微网格")
        cells = driver.find_elements(By.CSS_SELECTOR, "#household-map .pp-cell")
        assert [(c.find_element(By.TAG_NAME, "b").text, c.get_attribute("data-stamps")) for c in cells] == [
            ("101", "1"), ("102", "0"), ("103", "0"), ("104", "1")]
        assert "陈国华" not in driver.find_element(By.TAG_NAME, "main").text  # rooms, no names
        assert fits_the_phone(driver)
        screenshot(driver, "journey-passport-02-map", scroll_to="#household-map")
        cells[0].click()
        form = wait_for(driver, "#stamp-form")
        form.find_element(By.CSS_SELECTOR, "label[for=id_kind_0]").click()
        form.find_element(By.NAME, "note").send_keys("协助测温登记")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_text(driver, ".messages", "已盖志愿服务章")
        wait_text(driver, "#this-week [data-kind=vaccine]", "04-20")  # the household's last dose
        assert fits_the_phone(driver)
        screenshot(driver, "journey-passport-03-stamped")
        driver.find_element(By.CSS_SELECTOR, ".crumbs a").click()
        wait_for(driver, "#coverage")
        assert coverage_cell(driver, "volunteer") == "1 (25%)"
    finally:
        driver.set_window_size(1280, 900)

    # The committee prints the micro-grid's cards: one A6 page per household, in room order.
    login(driver, live_server, "juwei")
    driver.find_element(By.CSS_SELECTOR, "#my-pages a[data-menu=passport]").click()
    driver.find_element(By.LINK_TEXT, "第一网格").click()
    driver.find_element(By.LINK_TEXT, "1号楼微网格").click()
    wait_text(driver, "h1", "1号楼微网格")
    pdf = download(driver, driver.find_element(By.ID, "print-cards").get_attribute("href"))
    pages = qr_codes_in_pdf(pdf)
    assert len(pages) == 4 and all(len(page) == 1 and page[0][0] == "QRCode" for page in pages)
    first_card = pages[0][0][1]
    assert "/passport/d/" in first_card

    # A resident of 101 scans the card on the door with a phone: no account, the roster's mobile.
    driver.delete_all_cookies()
    driver.set_window_size(PHONE_WIDTH, 740)
    try:
        driver.get(live_server.url + first_card[first_card.index("/passport/d/"):])
        wait_text(driver, "#address", "1号 101室")
        _type(driver, "id_phone", RESIDENT)
        driver.find_element(By.ID, "send-code").click()
        wait_for(driver, "#check-code")
        code = one_time_code(sms_to(driver, live_server, f"{RESIDENT[:3]}****{RESIDENT[-4:]}", "验证码"))
        _type(driver, "id_code", code)
        driver.find_element(By.ID, "check-code").click()
        wait_for(driver, ".stamp.on[data-kind=volunteer]")
        on = [e.get_attribute("data-kind") for e in driver.find_elements(
            By.CSS_SELECTOR, ".week:first-of-type .stamp.on")]
        assert on == ["vaccine", "volunteer"]
        text = driver.find_element(By.TAG_NAME, "main").text
        assert "协助测温登记" not in text and "王建国" not in text and "陈国华" not in text
        assert fits_the_phone(driver)
        screenshot(driver, "journey-passport-04-resident")
    finally:
        driver.set_window_size(1280, 900)
