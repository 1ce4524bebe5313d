"""Journey: a screening round from an empty street to a positive pool's people under review,
through the pages only.

The administrator builds the street and the accounts in the admin (journey.empty_street, a testing
lab among them) and the committee imports its roster of twelve. The street officer opens a round,
adds a site of three lines, plans it and opens it; the committee makes the codes and prints the
building's A4 sheet, whose QR codes the test reads as a scanner would; a volunteer on a 360 px
phone scans ten people into one tube and two into another, boxes them and hands the box over; the
lab scans the box in and uploads its file, in which the first tube is positive; its ten people are
under review, each phone has the stay-home text, the committee takes one single tube at the door,
and the coverage page counts all twelve sampled."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from xiuhua.residents.tests.test_roster_fixtures import person, xlsx
from xiuhua.testing import qr_codes_in_pdf

from .conftest import login, screenshot, wait_for, wait_text
from .journey import download, empty_street, import_roster, sms_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = 12


def mobile(n: int) -> str:
    return f"1390000{n:04d}"


def scan(driver, text: str) -> None:
    driver.find_element(By.ID, "station-input").send_keys(text + Keys.ENTER)


def pending(driver) -> int:
    return int(driver.find_element(By.ID, "station-pending").get_attribute("data-count") or -1)


def test_a_round_goes_from_an_empty_street_to_the_people_of_a_positive_pool(desktop, live_server, tmp_path):
    street = empty_street(desktop, live_server, buildings=("1号",), accounts={
        "jiedao": ("street_officer", "street"),
        "juwei": ("committee_staff", "committee"),
        "zhiyuan": ("volunteer", "committee"),
        "jiance": ("lab", "street"),
    })
    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx([
        person(姓名=f"居民{n:02d}", 楼栋="1号", 室号=f"{100 + n}", 手机号=mobile(n)) for n in range(1, PEOPLE + 1)
    ]))
    import_roster(desktop, live_server, "juwei", roster)

    # The street officer opens a round over the street, with a site of three lines, and plans it.
    login(desktop, live_server, "jiedao")
    desktop.get(f"{live_server.url}/screening/")
    wait_for(desktop, "#round-new").click()
    wait_for(desktop, "#round-form")
    desktop.find_element(By.ID, "id_name").send_keys("殷行街道第1轮核酸筛查")
    desktop.find_element(By.CSS_SELECTOR, "#round-form button[type=submit]").click()
    wait_text(desktop, "h1", "殷行街道第1轮核酸筛查")
    round_url = desktop.current_url
    desktop.find_element(By.ID, "site-new").click()
    wait_for(desktop, "#site-form")
    Select(desktop.find_element(By.ID, "id_committee")).select_by_visible_text("国和一村居委会")
    desktop.find_element(By.ID, "id_name").send_keys("国和一村广场")
    count = desktop.find_element(By.ID, "id_line_count")
    count.clear()
    count.send_keys("3")
    desktop.find_element(By.CSS_SELECTOR, "#site-form button[type=submit]").click()
    wait_text(desktop, "body", "已新增采样点")
    desktop.find_element(By.ID, "plan-link").click()
    wait_for(desktop, "#plan-form")
    desktop.find_element(By.ID, "plan-make").click()
    wait_for(desktop, "#plan-figures")
    screenshot(desktop, "journey-screening-01-plan", scroll_to="#plan-figures")
    desktop.get(round_url)
    wait_for(desktop, "#round-open").click()
    wait_text(desktop, "body", "采样中")
    screenshot(desktop, "journey-screening-02-round-open")

    # The committee makes the codes and prints the building's A4 sheet.
    login(desktop, live_server, "juwei")
    desktop.get(f"{live_server.url}/screening/codes/")
    wait_for(desktop, "#rounds tbody a").click()
    wait_for(desktop, "#generate").click()
    wait_text(desktop, "#summary", f"已生成采样码 {PEOPLE} 个")
    sheet_link = desktop.find_element(By.CSS_SELECTOR, f"#building-{street.buildings['1号']} a[href$='/a4.pdf']")
    screenshot(desktop, "journey-screening-03-codes")
    pdf = download(desktop, sheet_link.get_attribute("href"))
    assert pdf.startswith(b"%PDF")
    references = [text for page in qr_codes_in_pdf(pdf) for kind, text in page if kind == "QRCode"]
    assert len(references) == PEOPLE == len(set(references))

    # A volunteer on a phone: ten people into the first tube (it closes itself), two into the
    # second, closed by hand; both into a box, handed over.
    login(desktop, live_server, "zhiyuan")
    desktop.set_window_size(360, 740)
    try:
        desktop.execute_script("localStorage.clear(); indexedDB.deleteDatabase('xiuhua-station');")
        desktop.get(f"{live_server.url}/screening/station/")
        wait_for(desktop, "#station-sites a").click()
        wait_for(desktop, "#station[data-ready='1']")
        scan(desktop, "T0001")
        for reference in references[:10]:
            scan(desktop, reference)
        scan(desktop, "T0002")
        for reference in references[10:]:
            scan(desktop, reference)
        WebDriverWait(desktop, 30).until(lambda d: pending(d) == 0)
        desktop.find_element(By.ID, "station-close").click()
        WebDriverWait(desktop, 30).until(lambda d: pending(d) == 0)
        screenshot(desktop, "journey-screening-04-station", scroll_to="#station-tube")
        assert desktop.execute_script("return document.documentElement.scrollWidth") <= 360
        desktop.find_element(By.ID, "station-box").click()
        wait_text(desktop, "#station-mode", "请扫描转运箱编号")
        scan(desktop, "BOX-01")
        scan(desktop, "T0001")
        scan(desktop, "T0002")
        desktop.find_element(By.ID, "station-hand-over").click()
        wait_text(desktop, "#station-log", "转运箱 BOX-01 已交接(2 管)", timeout=30)
        screenshot(desktop, "journey-screening-05-handed-over", scroll_to="#station-log")
    finally:
        desktop.set_window_size(1280, 900)

    # The lab scans the box in and uploads its file: the first tube is positive.
    login(desktop, live_server, "jiance")
    desktop.get(f"{live_server.url}/screening/results/")
    wait_for(desktop, "#rounds tbody a").click()
    box = wait_for(desktop, "#box-receive")
    box.find_element(By.ID, "box-barcode").send_keys("box-01 ")
    box.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, "body", "转运箱 BOX-01 已接收")
    results = tmp_path / "检测结果.csv"
    results.write_text("试管条码,检测结果\nT0001,阳性\nT0002,阴性\n", encoding="utf-8")
    form = wait_for(desktop, "#lab-file-form")
    form.find_element(By.ID, "id_file").send_keys(str(results))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, "#import-summary", "共 2 行:录入 2 管,重复 0 行,未能录入 0 行。")
    screenshot(desktop, "journey-screening-06-lab-file")
    assert "居民" not in desktop.find_element(By.TAG_NAME, "main").text  # the lab sees no person

    # The ten people of the positive tube are told to stay home, and are under review.
    text = sms_to(desktop, live_server, "139****0003", "单管复核")
    assert "留在家中" in text
    login(desktop, live_server, "juwei")
    desktop.get(f"{live_server.url}/screening/reviews/")
    wait_text(desktop, "#review-summary", "待上门单管采样 10 人,已采样待结果 0 人。")
    screenshot(desktop, "journey-screening-07-reviews")
    first = desktop.find_element(By.CSS_SELECTOR, "#reviews tbody tr")
    first.find_element(By.NAME, "barcode").send_keys("R0001")
    first.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, "#review-summary", "待上门单管采样 9 人,已采样待结果 1 人。")
    wait_text(desktop, "body", "已登记单管采样 R0001,等待结果")

    # Coverage: all twelve sampled.
    desktop.get(round_url)
    wait_for(desktop, "#coverage-link").click()
    wait_text(desktop, "#coverage-total", f"应检 {PEOPLE} 人,已采样 {PEOPLE} 人,未采样 0 人")
    screenshot(desktop, "journey-screening-08-coverage")
