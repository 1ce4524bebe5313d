"""Volunteers and duty tables in a real browser, through the pages only: committee staff on a
desktop create a post and a shift and print the post's A4 sheet; a person on a 360 px phone opens
the committee's sign-up link, proves the phone by SMS code, signs up as a nurse, takes a place on
the shift, then opens the URL of the QR code decoded from the printed sheet, ticks the health
statement, checks in and out; staff see the hours and the day's duty table as a PDF (rendered to
PNG for a person to look at)."""

import base64
import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.sms.models import OutboundSms
from xiuhua.testing import qr_codes_in_pdf
from xiuhua.volunteers.models import Duty, DutyStatus, Post, Shift, Volunteer
from xiuhua.volunteers.services import post_url

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360
VOLUNTEER_PHONE = "13900009999"


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def fetch_pdf(driver, url: str) -> bytes:
    """The PDF behind a link, fetched by the page itself (with its session), as bytes."""
    script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: "same-origin"}).then(r => r.arrayBuffer()).then(buffer => {
            let text = ""; const bytes = new Uint8Array(buffer);
            for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
            done(btoa(text));
        });
    """
    driver.set_script_timeout(20)
    return base64.b64decode(driver.execute_async_script(script, url))


def set_value(driver, css: str, value: str) -> None:
    """Date and time inputs take their value as the picker would give it (typing into them
    depends on the browser's locale)."""
    element = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].value = arguments[1];", element, value)


def pdf_as_png(pdf: bytes, name: str) -> tuple[str, str]:
    """The first page as var/screenshots/<name>.png, and the page's text (pdftotext)."""
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("needs poppler-utils")
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", str(source), str(folder / name)], check=True)
        text = subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True,
                              text=True).stdout
    return str(folder / f"{name}.png"), text


def test_a_post_a_shift_a_phone_sign_up_and_a_qr_check_in(browser, live_server, world):
    w = world
    driver = browser
    driver.set_window_size(1280, 900)
    now = timezone.localtime()
    today = now.date()

    # Committee staff on a desktop: a post with a health statement, and a shift running now.
    login(driver, live_server, "staff_a1")
    driver.find_element(By.CSS_SELECTOR, "#my-pages a[data-menu=volunteer_duty]").click()
    wait_for(driver, "#day-form")
    driver.find_element(By.LINK_TEXT, "岗位与排班").click()
    form = wait_for(driver, "#post-form")
    Select(form.find_element(By.NAME, "compound")).select_by_visible_text("国和一村")
    Select(form.find_element(By.NAME, "kind")).select_by_visible_text("门岗")
    form.find_element(By.NAME, "name").send_keys("东门门岗")
    form.find_element(By.NAME, "duties").send_keys("问询、登记、测温")
    form.find_element(By.NAME, "health_statement").click()
    screenshot(driver, "volunteers_desktop_1_new_post")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(driver, ".messages", "已新增岗位")
    post = Post.objects.get()
    set_value(driver, "#id_day", today.isoformat())
    set_value(driver, "#id_start", f"{now.hour:02d}:00")
    set_value(driver, "#id_end", "23:59")
    driver.find_element(By.ID, "id_needed").send_keys("3")
    driver.find_element(By.CSS_SELECTOR, "#shift-form button[type=submit]").click()
    wait_text(driver, ".messages", "已新增班次")
    shift = Shift.objects.get()
    wait_text(driver, f"#shift-{shift.pk}", "0/3")
    wait_text(driver, f"#shift-{shift.pk}", "缺3人")
    screenshot(driver, "volunteers_desktop_2_post_with_shift")

    # The post's A4 sheet: its QR code is what the volunteer's camera will read.
    sheet = fetch_pdf(driver, driver.find_element(By.ID, "post-sheet").get_attribute("href"))
    codes = qr_codes_in_pdf(sheet)
    assert codes == [[("QRCode", post_url(post.pk))]]
    pdf_as_png(sheet, "volunteers_post_sheet")

    # The committee's sign-up link, as the directory shows it for the building chat groups.
    driver.get(f"{live_server.url}/volunteers/")
    join = wait_for(driver, "#join-link code").text
    assert join == f"{settings.PUBLIC_BASE_URL}/volunteers/my/?c={w.committee_a1.pk}"

    # A person on a 360 px phone opens the link and proves the phone.
    driver.delete_all_cookies()
    driver.set_window_size(PHONE_WIDTH, 740)
    driver.get(f"{live_server.url}/volunteers/my/?c={w.committee_a1.pk}")
    driver.find_element(By.ID, "id_phone").send_keys(VOLUNTEER_PHONE)
    screenshot(driver, "volunteers_phone_1_start")
    driver.find_element(By.ID, "send-code").click()
    wait_for(driver, "#check-code")
    otp = OutboundSms.objects.filter(phone=VOLUNTEER_PHONE, template="XH_OTP").latest("pk").params["code"]
    driver.find_element(By.ID, "id_code").send_keys(otp)
    driver.find_element(By.ID, "check-code").click()

    # Signs up as a nurse, available at weekends.
    form = wait_for(driver, "#signup-form")
    assert fits_the_phone(driver)
    form.find_element(By.CSS_SELECTOR, f"input[name=compound][value='{w.compound_a1.pk}']").click()
    form.find_element(By.NAME, "name").send_keys("周志强")
    form.find_element(By.CSS_SELECTOR, "input[name=skills][value=nurse]").click()
    form.find_element(By.NAME, "nurse_detail").send_keys("外科")
    for day in ("6", "7"):
        form.find_element(By.CSS_SELECTOR, f"input[name=days][value='{day}']").click()
    screenshot(driver, "volunteers_phone_2_signup_form", scroll_to="#signup-form")
    form.find_element(By.ID, "signup").click()
    wait_text(driver, ".messages", "报名成功")
    volunteer = Volunteer.objects.get()
    assert (volunteer.name, volunteer.mobile, volunteer.resident) == ("周志强", VOLUNTEER_PHONE, None)
    wait_text(driver, ".volunteer", "护士·外科 待确认")
    assert fits_the_phone(driver)

    # Takes a place on the shift.
    driver.find_element(By.ID, f"join-{shift.pk}").click()
    wait_text(driver, ".messages", "已报名")
    wait_text(driver, "#my-duties", "东门门岗")
    assert fits_the_phone(driver)
    screenshot(driver, "volunteers_phone_3_my_shifts")
    shift.refresh_from_db()
    assert shift.filled == 1

    # At the post: the camera reads the printed QR code and opens its URL.
    scanned = codes[0][0][1].replace(settings.PUBLIC_BASE_URL, live_server.url)
    driver.get(scanned)
    form = wait_for(driver, "#health-form")
    assert not driver.find_elements(By.ID, "check-in")
    assert fits_the_phone(driver)
    screenshot(driver, "volunteers_phone_4_post_health")
    form.find_element(By.ID, "healthy").click()
    form.find_element(By.ID, "health-submit").click()
    wait_text(driver, ".messages", "已填写今天的健康承诺")
    driver.find_element(By.ID, "check-in").click()
    wait_text(driver, ".messages", "签到成功")
    wait_text(driver, ".status", "在岗")
    screenshot(driver, "volunteers_phone_5_checked_in")
    duty = Duty.objects.get()
    assert duty.status == DutyStatus.ON_DUTY and duty.health_declared_at is not None
    # Two hours on duty pass (the clock, not a page, moves).
    Duty.objects.filter(pk=duty.pk).update(checked_in_at=timezone.now() - dt.timedelta(hours=2))
    driver.find_element(By.ID, "check-out").click()
    wait_text(driver, ".messages", "签退成功,本班服务2小时")
    assert fits_the_phone(driver)
    screenshot(driver, "volunteers_phone_6_checked_out")
    duty.refresh_from_db()
    assert (duty.status, duty.minutes) == (DutyStatus.DONE, 120)

    # Staff see the hours and print the day's duty table.
    driver.set_window_size(1280, 900)
    login(driver, live_server, "staff_a1")
    driver.get(f"{live_server.url}/volunteers/")
    wait_text(driver, f"#volunteer-{volunteer.pk}", "2小时")
    wait_text(driver, f"#volunteer-{volunteer.pk}", "周**(尾号9999)")
    screenshot(driver, "volunteers_desktop_3_directory")
    driver.get(f"{live_server.url}/volunteers/day/?day={today.isoformat()}&compound={w.compound_a1.pk}")
    wait_text(driver, f"#day-duty-{duty.pk}", "已完成 · 120分钟")
    wait_text(driver, f"#day-shift-{shift.pk}", "缺2人")
    screenshot(driver, "volunteers_desktop_4_day")
    table = fetch_pdf(driver, driver.find_element(By.ID, "day-pdf").get_attribute("href"))
    _png, text = pdf_as_png(table, "volunteers_duty_table")
    assert "国和一村 志愿者值班表" in text and "东门门岗" in text and "周**(尾号9999)" in text
    assert "周志强" not in text and VOLUNTEER_PHONE not in text and "缺2" in text
