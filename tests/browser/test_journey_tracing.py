"""Journey: a tracing list from an empty street to the same-day figure, through the pages only.

The administrator builds the street in the admin (journey.empty_street) and the committee
imports its roster; then a street officer uploads the day's list (a real .xlsx with an ID written
with spaces and a 备注 column), assigns the people nobody could match, ticked together, to the
committee; the committee reports each person; the street reads the same-day control figure."""

import datetime as dt

import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.tests.test_roster_fixtures import new_id, person, xlsx

from .conftest import login, screenshot, wait_for, wait_text
from .journey import empty_street, import_roster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def spaced(number: str) -> str:
    return f"{number[:6]} {number[6:14]} {number[14:]}"


def tracing_list(path, *, lin_id: str) -> None:
    """The list as a port sends it: a title row, its own serial column, a 途经地 and a 备注."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["虹桥站抵沪人员清单"])
    sheet.append(["序号", "姓名", "身份证号", "手机号码", "现住址", "抵沪日期", "途经地", "备注"])
    today = dt.date.today()
    sheet.append([1, "林晓雯", spaced(lin_id), None, None, today, "武汉", "同车厢有发热旅客"])
    sheet.append([2, "陈新", None, None, "杨浦区国和一村1号101室", today, "孝感", None])
    sheet.append([3, "周航", None, "13700001111", "外省某地", today, None, "自述住国和一村"])
    sheet.append([4, "吴越", None, "13700002222", None, today, None, "电话核实中"])
    book.save(path)


def report(driver, live_server, name: str, outcome: str, note: str = "") -> None:
    driver.get(f"{live_server.url}/tracing/")
    wait_text(driver, "#worklist", name)
    row = next(r for r in driver.find_elements(By.CSS_SELECTOR, "#worklist tbody tr") if name in r.text)
    row.find_element(By.CSS_SELECTOR, "a.button").click()
    form = wait_for(driver, "#report-form")
    form.find_element(By.CSS_SELECTOR, f"input[name=status][value={outcome}]").click()
    if note:
        form.find_element(By.ID, "id_note").send_keys(note)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(driver, ".messages", "已反馈")


def test_a_street_takes_a_list_from_upload_to_same_day_control(desktop, live_server, tmp_path):
    empty_street(desktop, live_server, accounts={
        "jiedao": ("street_officer", "street"),
        "juwei": ("committee_staff", "committee"),
    })
    lin_id = new_id(sex="F")
    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx([
        person(姓名="林晓雯", 性别="女", 楼栋="19号", 室号="1202", 证件号码=lin_id),
        person(姓名="陈新", 楼栋="1号", 室号="101", 证件号码=new_id()),
    ]))
    import_roster(desktop, live_server, "juwei", roster)
    screenshot(desktop, "journey-tracing-01-roster")

    # The street officer uploads the day's list.
    listing = tmp_path / "虹桥站清单.xlsx"
    tracing_list(listing, lin_id=lin_id)
    login(desktop, live_server, "jiedao")
    desktop.get(f"{live_server.url}/tracing/")
    form = wait_for(desktop, "#import-form")
    form.find_element(By.ID, "id_file").send_keys(str(listing))
    Select(form.find_element(By.ID, "id_source")).select_by_value("port")
    form.find_element(By.ID, "id_reference").send_keys("虹桥站 第1批")
    screenshot(desktop, "journey-tracing-02-upload")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, "#same-day", "0/4")
    batch_url = desktop.current_url
    main = desktop.find_element(By.TAG_NAME, "main").text
    # The spaced ID was read as the roster reads it: no problem rows, matched by its number.
    assert "没有问题" in desktop.find_element(By.ID, "problems").text, main
    assert "2证件号码" not in main and "1\n证件号码" in desktop.find_element(By.ID, "methods").text
    assert "国和一村居委会" in desktop.find_element(By.ID, "committees").text
    screenshot(desktop, "journey-tracing-03-batch")

    # Two people nobody could match: ticked together and assigned to the committee at once.
    desktop.get(f"{live_server.url}/tracing/triage/")
    wait_text(desktop, "#triage", "周航")
    assert "自述住国和一村" in desktop.find_element(By.ID, "triage").text  # the list's 备注
    for card in desktop.find_elements(By.CSS_SELECTOR, "#triage .card"):
        card.find_element(By.CSS_SELECTOR, "input[name=entries]").click()
    bulk = desktop.find_element(By.ID, "bulk-assign")
    Select(bulk.find_element(By.ID, "id_bulk-to")).select_by_visible_text("国和一村居委会")
    bulk.find_element(By.ID, "id_bulk-note").send_keys("电话核实住国和一村")
    screenshot(desktop, "journey-tracing-04-triage-ticked", scroll_to="#bulk-assign")
    bulk.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, ".messages", "已将2人分派给国和一村居委会")
    wait_text(desktop, "#triage-count", "0")
    screenshot(desktop, "journey-tracing-05-triage-done")

    # The committee's worklist: numbered, with the list's own columns.
    login(desktop, live_server, "juwei")
    desktop.get(f"{live_server.url}/tracing/")
    wait_text(desktop, "#worklist-count", "4")
    worklist = desktop.find_element(By.ID, "worklist")
    numbers = [td.text for td in worklist.find_elements(By.CSS_SELECTOR, "tbody td.seq")]
    assert numbers == ["1", "2", "3", "4"]
    assert "备注:同车厢有发热旅客" in worklist.text and "途经地:武汉" in worklist.text
    assert lin_id not in desktop.page_source
    screenshot(desktop, "journey-tracing-06-worklist")
    # Printed on A4 (the print stylesheet, as Chromium's print preview applies it): the list alone,
    # numbered, without the menu, the buttons or the other sections.
    desktop.set_window_size(794, 1123)  # A4 at 96 dpi
    desktop.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not desktop.find_element(By.CSS_SELECTOR, "header.top").is_displayed()
        assert not desktop.find_element(By.ID, "batches").is_displayed()
        assert not any(a.is_displayed() for a in desktop.find_elements(By.CSS_SELECTOR, "#worklist a.button"))
        assert desktop.find_element(By.ID, "worklist").is_displayed()
        assert desktop.find_element(By.CSS_SELECTOR, ".print-note").text.startswith("国和一村居委会 · 打印于 ")
        assert desktop.execute_script("return document.documentElement.scrollWidth") <= 794
        screenshot(desktop, "journey-tracing-06b-worklist-printed")
    finally:
        desktop.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        desktop.set_window_size(1280, 900)
    desktop.find_element(By.XPATH, "//table[@id='worklist']//a[b[text()='林晓雯']]").click()
    wait_for(desktop, "#report-form")
    details = desktop.find_element(By.ID, "entry-details").text
    assert "同车厢有发热旅客" in details and "武汉" in details
    screenshot(desktop, "journey-tracing-07-entry")

    # Each person reported: three found and controlled, one living elsewhere now.
    report(desktop, live_server, "林晓雯", "controlled")
    report(desktop, live_server, "陈新", "controlled")
    report(desktop, live_server, "周航", "controlled")
    report(desktop, live_server, "吴越", "not_here", "已搬至闵行区")
    wait_text(desktop, "#worklist-count", "0")
    screenshot(desktop, "journey-tracing-08-worklist-done")

    # The street sees the same-day figure of the list.
    login(desktop, live_server, "jiedao")
    desktop.get(batch_url)
    wait_text(desktop, "#same-day", "3/4")
    assert "75%" in desktop.find_element(By.ID, "same-day").text
    screenshot(desktop, "journey-tracing-09-same-day")
    desktop.get(f"{live_server.url}/tracing/triage/")
    wait_text(desktop, "#triage", "已搬至闵行区")  # back with the street, to be sent on
    screenshot(desktop, "journey-tracing-10-back-in-triage")
