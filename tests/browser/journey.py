"""A street built from nothing through the pages, for journey tests.

A real deployment starts with one command (`manage.py createsuperuser`); everything after that is
done by people in the browser. `empty_street` does exactly that: the system administrator creates
the city and district, the street, a committee with its compound and buildings, and the staff accounts in
the admin, typing into the same forms a person would. Journey tests then go on through the
product's own pages only.
"""

from __future__ import annotations

import io
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from xiuhua.testing import PASSWORD

from .conftest import login, wait_for, wait_text

ADMIN_USER = "admin"


@dataclass
class Street:
    """The ids the admin gave the units (read from the admin's own URLs), and the accounts."""

    district: int
    street: int
    committee: int
    compound: int
    buildings: dict[str, int]
    accounts: dict[str, str] = field(default_factory=dict)  # username -> role
    committee_name: str = "国和一村居委会"
    compound_name: str = "国和一村"


def first_administrator(username: str = ADMIN_USER) -> None:
    """What the deployer runs once on a new server (README: how to deploy for real)."""
    call_command("createsuperuser", "--noinput", username=username, email="", stdout=io.StringIO())
    from xiuhua.accounts.models import User

    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])


def run_worker() -> str:
    """One pass of the task worker that `make demo` runs beside the web server (SMS, imports)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    out = io.StringIO()
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", stdout=out, stderr=io.StringIO())
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return out.getvalue()


def _saved_id(driver) -> int:
    """The admin answers "save and continue editing" with the new row's change page."""
    WebDriverWait(driver, 10).until(lambda d: re.search(r"/(\d+)/change/", d.current_url))
    match = re.search(r"/(\d+)/change/", driver.current_url)
    assert match is not None
    return int(match.group(1))


def _type(driver, element_id: str, text: str) -> None:
    # Found when it is there: the admin's forms may still be coming in (the user form's password
    # fields were once missing at the first look, on a loaded machine).
    box = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, element_id))
    box.clear()
    box.send_keys(text)


def _save_and_continue(driver) -> None:
    """Submit, and wait for the answer page: saving an existing row answers at the same URL, so
    only the old page going stale tells the answer has come (a message of the old page, or a
    navigation started before it, would otherwise race with the next step)."""
    from selenium.webdriver.support import expected_conditions as ec

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "input[name=_continue]").click()
    WebDriverWait(driver, 30).until(ec.staleness_of(page))


def admin_unit(driver, live_server, *, kind: str, name: str, code: str = "", parent: int | None = None,
               compound_type: str = "") -> int:
    driver.get(f"{live_server.url}/admin/places/orgunit/add/")
    Select(driver.find_element(By.ID, "id_kind")).select_by_value(kind)
    _type(driver, "id_name", name)
    if code:
        _type(driver, "id_code", code)
    if compound_type:
        Select(driver.find_element(By.ID, "id_compound_type")).select_by_value(compound_type)
    if parent is not None:
        _type(driver, "id_parent", str(parent))
    _save_and_continue(driver)
    return _saved_id(driver)


def admin_account(driver, live_server, *, username: str, display_name: str, role: str, unit: int) -> int:
    """An account with one membership, as the system administrator makes it in the admin."""
    driver.get(f"{live_server.url}/admin/accounts/user/add/")
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/admin/accounts/user/add/"))
    _type(driver, "id_username", username)
    _type(driver, "id_password1", PASSWORD)
    _type(driver, "id_password2", PASSWORD)
    _save_and_continue(driver)
    user_id = _saved_id(driver)
    _type(driver, "id_display_name", display_name)
    Select(driver.find_element(By.ID, "id_memberships-0-role")).select_by_value(role)
    _type(driver, "id_memberships-0-org_unit", str(unit))
    _save_and_continue(driver)
    wait_for(driver, "ul.messagelist li.success")
    return user_id


def admin_login(driver, live_server, username: str = ADMIN_USER) -> None:
    driver.delete_all_cookies()
    driver.get(f"{live_server.url}/admin/login/")
    _type(driver, "id_username", username)
    _type(driver, "id_password", PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form input[type=submit], #login-form button[type=submit]").click()
    wait_for(driver, "#user-tools")


def empty_street(driver, live_server, *, accounts: dict[str, tuple[str, str]] | None = None,
                 buildings: tuple[str, ...] = ("1号", "2号", "19号")) -> Street:
    """The administrator's first hour: units and accounts typed into the admin.

    `accounts` maps username -> (role, level) with level one of "street", "committee",
    "district"; the administrator also gets the system-administrator membership (the SMS page
    and the simulated inbox need it)."""
    first_administrator()
    admin_login(driver, live_server)
    city = admin_unit(driver, live_server, kind="city", name="上海市")
    district = admin_unit(driver, live_server, kind="district", name="杨浦区", parent=city)
    street = admin_unit(driver, live_server, kind="street", name="殷行街道", code="310110012000", parent=district)
    committee = admin_unit(driver, live_server, kind="committee", name="国和一村居委会", code="310110012001",
                           parent=street)
    compound = admin_unit(driver, live_server, kind="compound", name="国和一村", parent=committee,
                          compound_type="enclosed")
    building_ids = {
        name: admin_unit(driver, live_server, kind="building", name=name, parent=compound) for name in buildings
    }
    units = {"district": district, "street": street, "committee": committee}
    made = Street(district=district, street=street, committee=committee, compound=compound, buildings=building_ids)
    # The administrator's own membership, on the account the deployer created.
    driver.get(f"{live_server.url}/admin/accounts/user/?q={ADMIN_USER}")
    driver.find_element(By.LINK_TEXT, ADMIN_USER).click()
    Select(driver.find_element(By.ID, "id_memberships-0-role")).select_by_value("sysadmin")
    _type(driver, "id_memberships-0-org_unit", str(district))
    _save_and_continue(driver)
    wait_for(driver, "ul.messagelist li.success")
    for username, (role, level) in (accounts or {}).items():
        admin_account(driver, live_server, username=username, display_name=username, role=role, unit=units[level])
        made.accounts[username] = role
    return made


@contextmanager
def signed_in_elsewhere(driver, live_server, username: str) -> Iterator[None]:
    """Another person at another screen: the same browser steps out of the current session and
    comes back to it afterwards (cookies saved and restored), so a resident's phone session
    survives a staff member's look at the outbox."""
    page = driver.current_url
    cookies = driver.get_cookies()
    login(driver, live_server, username)
    try:
        yield
    finally:
        driver.delete_all_cookies()
        driver.get(f"{live_server.url}/accounts/login/")  # cookies are set on the site's own origin
        for cookie in cookies:
            cookie.pop("sameSite", None)
            driver.add_cookie(cookie)
        driver.get(page)


def sms_to(driver, live_server, masked_phone: str, contains: str, *, username: str = ADMIN_USER) -> str:
    """The newest text the dev SMS backend delivered to `masked_phone` (as 138****5678) that
    contains `contains`, read by the system administrator on the SMS page. Runs the task worker
    first, as the worker of `make demo` would have by then."""
    run_worker()
    with signed_in_elsewhere(driver, live_server, username):
        driver.get(f"{live_server.url}/sms/")
        wait_for(driver, "#dev-deliveries")
        wait_text(driver, "#dev-deliveries", contains)
        for row in driver.find_elements(By.CSS_SELECTOR, "#dev-deliveries tbody tr"):
            cells = row.find_elements(By.TAG_NAME, "td")
            if len(cells) == 3 and cells[1].text == masked_phone and contains in cells[2].text:
                return cells[2].text
    raise AssertionError(f"no SMS to {masked_phone} containing {contains!r}")


def one_time_code(text: str) -> str:
    match = re.search(r"验证码(\d{6})", text)
    assert match is not None, text
    return match.group(1)


def import_roster(driver, live_server, username: str, path) -> None:
    """Committee staff upload a filled-in roster (.xlsx) on the roster page and commit it."""
    login(driver, live_server, username)
    driver.get(f"{live_server.url}/residents/roster/")
    driver.find_element(By.ID, "id_file").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    wait_for(driver, "#import-counts")
    assert driver.find_element(By.ID, "count-problems").text == "0", driver.find_element(By.TAG_NAME, "main").text
    driver.find_element(By.ID, "commit-button").click()
    wait_for(driver, "#import-done")


DOWNLOAD = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.arrayBuffer()).then(buffer => {
  const bytes = new Uint8Array(buffer);
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  done(btoa(text));
});
"""


def download(driver, url: str) -> bytes:
    """What the signed-in browser gets from a link (a PDF to print), as the person's own click."""
    import base64

    driver.set_script_timeout(60)
    return base64.b64decode(driver.execute_async_script(DOWNLOAD, url))
