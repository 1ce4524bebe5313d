"""Tracing lists in a real browser: the street imports on a desktop, a committee reports on a phone."""

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.tracing.models import EntryStatus, ListEntry, TracingBatch

from .conftest import login, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_street_imports_a_list_and_a_committee_reports_on_a_phone(desktop, live_server, world, tmp_path):
    w = world
    listing = tmp_path / "list.csv"
    listing.write_text(
        "姓名,身份证号,手机号码,现住址,抵沪日期\n"
        f"张秀英,{w.resident_a1.plain_id},,,\n"  # A1, by identity number
        f"李建国,,{w.resident_a1b.mobile},,\n"  # A1, by mobile
        "陌生人,,13900009999,外省某地,\n",  # nobody in the roster: the street's triage queue
        encoding="utf-8",
    )

    # The street officer imports the list on a desktop.
    login(desktop, live_server, "street_a")
    desktop.get(f"{live_server.url}/tracing/")
    form = wait_for(desktop, "#import-form")
    received = form.find_element(By.ID, "id_received_at").get_attribute("value")
    assert received.startswith(timezone.localdate().isoformat())  # defaults to now, in Shanghai
    form.find_element(By.ID, "id_file").send_keys(str(listing))
    Select(form.find_element(By.ID, "id_source")).select_by_value("telecom")
    form.find_element(By.ID, "id_reference").send_keys("通信大数据 第1批")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(desktop, "#same-day", "0/3")
    batch = TracingBatch.objects.get()
    assert desktop.current_url == f"{live_server.url}/tracing/batches/{batch.pk}/"
    assert "国和一村居委会" in desktop.find_element(By.ID, "committees").text
    assert "长海路街道" in desktop.find_element(By.ID, "streets").text
    entry = ListEntry.objects.get(batch=batch, name="张秀英")

    try:
        desktop.set_window_size(PHONE_WIDTH, 740)
        # The officer's pages fit a phone too.
        desktop.refresh()
        wait_text(desktop, "#same-day", "0/3")
        assert fits_the_phone(desktop)
        desktop.get(f"{live_server.url}/tracing/triage/")
        wait_text(desktop, "#triage", "陌生人")
        assert fits_the_phone(desktop)
        desktop.get(f"{live_server.url}/tracing/")
        wait_for(desktop, "#import-form")
        assert fits_the_phone(desktop)

        # Committee A1's staff open the worklist on a phone and report one person controlled.
        login(desktop, live_server, "staff_a1")
        desktop.get(f"{live_server.url}/tracing/")
        wait_text(desktop, "#worklist", "张秀英")
        assert "李建国" in desktop.find_element(By.ID, "worklist").text
        assert "陌生人" not in desktop.page_source
        assert fits_the_phone(desktop)
        desktop.find_element(By.CSS_SELECTOR, f"#work-{entry.pk} a.button").click()
        form = wait_for(desktop, "#report-form")
        assert w.resident_a1.plain_id not in desktop.page_source
        assert fits_the_phone(desktop)
        form.find_element(By.CSS_SELECTOR, "input[name=status][value=controlled]").click()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_text(desktop, ".messages", "已反馈")
        assert "张秀英" not in desktop.find_element(By.ID, "worklist").text
        assert fits_the_phone(desktop)
    finally:
        desktop.set_window_size(1280, 900)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CONTROLLED

    # The street officer's batch page shows the same-day figure.
    login(desktop, live_server, "street_a")
    desktop.get(f"{live_server.url}/tracing/batches/{batch.pk}/")
    wait_text(desktop, "#same-day", "1/3")
