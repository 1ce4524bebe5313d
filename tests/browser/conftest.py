"""Headless Debian Chromium driven by Selenium against pytest-django's live server."""

import shutil
import tempfile

import pytest

from xiuhua.testing import PASSWORD


def launch_chromium(profile: str, *extra_flags: str):
    """Debian's Chromium, headless, under ChromeDriver, with its profile in `profile`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--lang=zh-CN",
        *extra_flags,
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(0)
    return driver


def needs_chromium() -> None:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs Debian chromium and chromium-driver")


@pytest.fixture(scope="session")
def browser():
    needs_chromium()
    profile = tempfile.mkdtemp(prefix="xiuhua-chromium-")
    driver = launch_chromium(profile)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def phone(browser):
    """A phone-sized window (360x740, as a common Android phone)."""
    browser.set_window_size(360, 740)
    yield browser
    browser.set_window_size(1280, 900)


@pytest.fixture
def desktop(browser):
    browser.set_window_size(1280, 900)
    browser.delete_all_cookies()
    return browser


def wait_for(driver, css: str, timeout: float = 10):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(driver, css: str, text: str, timeout: float = 10):
    """Wait until the element's visible text contains `text`.

    The check runs inside the page in one script call: reading a node found by an earlier call
    races with the page swapping that node out (a form answer replacing its result box), which
    Chromium reports as "Node with given id does not belong to the document".
    """
    from selenium.webdriver.support.ui import WebDriverWait

    script = (
        "const el = document.querySelector(arguments[0]);"
        "return el !== null && el.innerText.includes(arguments[1]);"
    )
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script, css, text))


def login(driver, live_server, username: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{live_server.url}/accounts/login/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, "header .who")


def search_residents(driver, live_server, query: str) -> None:
    """Type a query into the resident search (a POSTed form: queries never go into a URL)."""
    from selenium.webdriver.common.by import By

    driver.get(f"{live_server.url}/residents/")
    box = driver.find_element(By.ID, "id_q")
    box.send_keys(query)
    box.submit()


def screenshot(driver, name: str, scroll_to: str = "") -> str:
    """Save the window as var/screenshots/<name>.png (under XIUHUA_VAR_DIR) for a person to look
    at, scrolled first to the element `scroll_to` (a CSS selector) when one is named."""
    from pathlib import Path

    from django.conf import settings

    if scroll_to:
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", scroll_to)

    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return str(path)
