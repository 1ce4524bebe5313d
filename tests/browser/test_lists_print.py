"""Working lists printed on A4 (print media at the width the sheet prints on, 96 dpi): the list alone, with
its printed line (单位 · 打印于 时间), numbered, no menu, form or button, and nothing wider than the
sheet. Portrait for the committee's worklist and the resident search results, landscape for the
street's triage queue (its wide table is .print-wide)."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.testing import acting
from xiuhua.tracing import services

from .conftest import login, screenshot, search_residents, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What an A4 sheet prints on, at 96 dpi: 210 mm less the 10 mm side margins of site.css's @page
# (190 mm), and 297 mm less 10 mm each side across (277 mm). The page must fit inside that,
# scrollbar aside (the emulated page keeps one; paper does not).
A4_PORTRAIT = 718
A4_LANDSCAPE = 1047

# Everything wider than the viewport, and what must not show on paper.
FIT = """
const edge = document.documentElement.clientWidth;
const wide = [...document.querySelectorAll('main *')].filter(el => {
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.right > edge + 1;
}).map(el => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className);
const shown = sel => [...document.querySelectorAll(sel)].filter(el => el.getClientRects().length > 0).length;
return {edge, inner: window.innerWidth, page: document.documentElement.scrollWidth, wide: wide.slice(0, 5),
        menus: shown('header.top, header nav'), forms: shown('main form'),
        buttons: shown('main button, main a.button'), note: (document.querySelector('.print-note') || {}).innerText};
"""


def printed(driver, width: int) -> dict:
    driver.set_window_size(width, 1000)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    return driver.execute_script(FIT)


def on_screen(driver) -> None:
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.set_window_size(1280, 900)


def assert_fits(fit: dict, width: int, unit: str) -> None:
    assert fit["inner"] == width and fit["page"] <= fit["edge"] and fit["wide"] == [], fit
    assert (fit["menus"], fit["forms"], fit["buttons"]) == (0, 0, 0), fit
    assert fit["note"].startswith(f"{unit} · 打印于 "), fit


def long_list(w, n: int, *, committee=None):
    """A list of `n` people nobody could match, with long addresses and the list's other columns;
    assigned to `committee` if one is given."""
    header = "姓名,身份证号,手机号码,现住址,途经地,备注\n"
    lines = "".join(
        f"外来人员{i},{make_resident_id('420102', dt.date(1980, 1, 1) + dt.timedelta(days=i), 301)},"
        f"1390000{i:04d},湖北省武汉市江岸区某某街道某某小区{i}号楼{i}单元{i}0{i}室,武汉—上海虹桥—G1722次,"
        f"自述住国和一村附近；请核实是否已返回原籍\n"
        for i in range(1, n + 1)
    )
    batch = services.batch_import(
        actor=acting(w.street_officer), street=w.street_a, source="telecom", reference="通信大数据 第1批",
        received_at=timezone.now() - dt.timedelta(hours=2), data=(header + lines).encode(), filename="list.csv",
    )
    if committee is not None:
        services.entries_assign(actor=acting(w.street_officer), entry_ids=[e.pk for e in batch.entries.all()],
                                to=committee)
    return batch


def test_the_worklist_and_the_triage_queue_print_on_a4(desktop, live_server, world):
    w = world
    long_list(w, 25, committee=w.committee_a1)
    login(desktop, live_server, "staff_a1")
    desktop.get(f"{live_server.url}/tracing/")
    wait_for(desktop, "#worklist td.seq")
    assert desktop.find_element(By.ID, "worklist-xlsx").is_displayed()
    assert not desktop.find_element(By.CSS_SELECTOR, ".print-note").is_displayed()
    try:
        fit = printed(desktop, A4_PORTRAIT)
        assert_fits(fit, A4_PORTRAIT, w.committee_a1.name)
        assert not desktop.find_element(By.ID, "batches").is_displayed()
        seq = [td.text for td in desktop.find_elements(By.CSS_SELECTOR, "#worklist td.seq")]
        assert seq == [str(i) for i in range(1, 26)]
        # The header repeats on every sheet and no row is split across two.
        styles = desktop.execute_script(
            "const t = document.querySelector('#worklist');"
            "return [getComputedStyle(t.tHead).display, getComputedStyle(t.tBodies[0].rows[0]).breakInside];")
        assert styles == ["table-header-group", "avoid"]
        screenshot(desktop, "lists-print-worklist-a4")
    finally:
        on_screen(desktop)

    long_list(w, 6)
    login(desktop, live_server, "street_a")
    desktop.get(f"{live_server.url}/tracing/triage/")
    wait_for(desktop, "#triage td.seq")
    try:
        fit = printed(desktop, A4_LANDSCAPE)
        assert_fits(fit, A4_LANDSCAPE, w.street_a.name)
        assert [td.text for td in desktop.find_elements(By.CSS_SELECTOR, "#triage td.seq")] == [
            str(i) for i in range(1, 7)]
        assert not any(el.is_displayed() for el in desktop.find_elements(By.CSS_SELECTOR, "#triage .pick, .assign"))
        screenshot(desktop, "lists-print-triage-a4-landscape")
    finally:
        on_screen(desktop)
    screenshot(desktop, "lists-triage-screen")


def test_the_resident_search_results_print_on_a4(desktop, live_server, world):
    w = world
    login(desktop, live_server, "staff_a1")
    search_residents(desktop, live_server, "国和一村5号302")
    wait_text(desktop, "#result-table", "张秀英")
    assert desktop.find_element(By.CSS_SELECTOR, "#search-xlsx button").is_displayed()
    try:
        fit = printed(desktop, A4_PORTRAIT)
        assert_fits(fit, A4_PORTRAIT, w.committee_a1.name)
        assert fit["note"].endswith("筛选:查询:按地址查询"), fit
        assert desktop.find_element(By.CSS_SELECTOR, "#result-table td.seq").text == "1"
        screenshot(desktop, "lists-print-search-a4")
    finally:
        on_screen(desktop)
