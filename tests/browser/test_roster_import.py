import datetime as dt
import io
import signal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from selenium.webdriver.common.by import By

from xiuhua.residents.models import RosterImport
from xiuhua.residents.tests.test_roster_fixtures import new_id, person, row_for, xlsx

from .conftest import login, screenshot, search_residents, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login_in_chinese(driver, live_server, username: str) -> None:
    """Log in and ask for Simplified Chinese (headless Chromium may not send zh in Accept-Language)."""
    login(driver, live_server, username)
    driver.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "path": "/"})


def upload_on_the_page(driver, live_server, path) -> None:
    driver.get(f"{live_server.url}/residents/roster/")
    driver.find_element(By.ID, "id_file").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()


def test_upload_preview_commit_and_find_the_resident_on_a_phone(phone, live_server, world, tmp_path):
    number = new_id(sex="F")
    path = tmp_path / "国和一村花名册.xlsx"
    path.write_bytes(xlsx([
        person(姓名="林晓雯", 性别="女", 证件号码=number, 室号="1202", 标签="孕妇"),
        person(姓名="林父", 室号="1202", 与户主关系="父母", 证件号码=new_id(birth=dt.date(1950, 1, 1)),
               出生日期="1950-01-01"),
        row_for(world.resident_a1, 手机号="13900000009"),
        person(姓名="林表妹", 室号="1203", 与户主关系="其他"),
    ]))
    login_in_chinese(phone, live_server, "staff_a1")

    # A file with a problem first: the preview shows it and offers no commit.
    bad = tmp_path / "有问题.xlsx"
    bad.write_bytes(xlsx([person(姓名="", 室号="1203")]))
    upload_on_the_page(phone, live_server, bad)
    wait_text(phone, "#problem-table", "请填写姓名")
    assert phone.find_elements(By.ID, "commit-button") == []
    assert phone.find_element(By.CSS_SELECTOR, "#problem-table tbody tr td").text == "2"

    upload_on_the_page(phone, live_server, path)
    wait_for(phone, "#import-counts")
    assert phone.find_element(By.ID, "count-new").text == "3"
    assert phone.find_element(By.ID, "count-updated").text == "1"
    assert phone.find_element(By.ID, "count-problems").text == "0"
    # The preview: who is added, what changes (old → new), and a household without a head.
    wait_text(phone, "#preview-new", "林晓雯")
    wait_text(phone, "#preview-changed", "手机号:13812345678 → 13900000009")
    wait_text(phone, "#head-warnings", "国和一村5号1203室:没有户主")
    assert number not in phone.page_source
    screenshot(phone, "roster_import_preview", scroll_to="#head-warnings")
    screenshot(phone, "roster_import_preview_changes", scroll_to="#preview-changed")
    phone.find_element(By.ID, "commit-button").click()
    wait_for(phone, "#import-done")
    assert RosterImport.objects.latest("pk").status == RosterImport.Status.COMMITTED

    search_residents(phone, live_server, "林晓雯")
    wait_text(phone, "#result-table", "林晓雯")
    row = phone.find_element(By.CSS_SELECTOR, "#result-table tbody tr")
    assert "国和一村5号1202室" in row.text
    assert number[:3] + "*" in row.text and number not in phone.page_source


@override_settings(ROSTER_INLINE_MAX_ROWS=0)
def test_the_page_follows_the_workers_progress(desktop, live_server, world, tmp_path):
    path = tmp_path / "后台.xlsx"
    path.write_bytes(xlsx([person(姓名=f"后台{n}", 室号=str(700 + n), 证件号码=new_id()) for n in range(5)]))
    login_in_chinese(desktop, live_server, "staff_a1")
    upload_on_the_page(desktop, live_server, path)
    wait_for(desktop, "#import-progress")
    assert desktop.find_element(By.ID, "import-status").get_attribute("data-status") == "uploaded"

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO())
        # No reload: htmx polls the progress every second and swaps in the preview.
        wait_text(desktop, "#count-new", "5")
        desktop.find_element(By.ID, "commit-button").click()
        wait_for(desktop, "#import-progress")
        call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO())
        wait_for(desktop, "#import-done")
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert RosterImport.objects.get().status == RosterImport.Status.COMMITTED
