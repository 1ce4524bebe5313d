"""Staff pages of the mask module in a real browser: redemption on a phone, desk entry."""

import uuid

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from xiuhua.masks import services
from xiuhua.masks.codes import format_voucher_number
from xiuhua.masks.models import Channel, Reservation, Voucher, VoucherStatus
from xiuhua.masks.tests.fixtures import build_masks, new_household, reserve
from xiuhua.testing import acting

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_redeems_on_a_phone_and_a_second_attempt_is_refused(phone, live_server, world):
    m = build_masks(world)
    reservation = reserve(m, world.resident_a1)
    services.stock_delivery_record(
        actor=acting(m.clerk_a),
        round=m.round,
        pharmacy=m.pharmacy_a,
        quantity=5,
        delivered_at=timezone.now(),
        idempotency_key=uuid.uuid4().hex,
    )
    voucher = Voucher.objects.get(reservation=reservation)

    login(phone, live_server, "pharmacy")
    phone.get(f"{live_server.url}/masks/staff/")  # the clerk's home is the redemption page
    box = wait_for(phone, "#id_number")
    assert phone.switch_to.active_element == box  # autofocus: a scanner can type straight in
    # The last four characters of the number, which anyone holding the voucher may know, are not
    # enough: the clerk reads the whole number from the document shown.
    box.send_keys(voucher.number)
    phone.find_element(By.ID, "id_id_number").send_keys(world.resident_a1.plain_id[-4:])
    phone.find_element(By.CSS_SELECTOR, "#redeem-form button[type=submit]").click()
    wait_text(phone, "body", "不能只输后四位")
    screenshot(phone, "masks-redeem-last-four-refused-phone", scroll_to="#redeem-form")
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED
    # Typed as read from paper: lower case, groups with spaces and a hyphen.
    box = phone.find_element(By.ID, "id_number")
    box.clear()
    box.send_keys(format_voucher_number(voucher.number).lower().replace("-", " ", 1))
    phone.find_element(By.ID, "id_id_number").clear()
    phone.find_element(By.ID, "id_id_number").send_keys(world.resident_a1.plain_id)
    phone.find_element(By.CSS_SELECTOR, "#redeem-form button[type=submit]").click()
    wait_text(phone, "#redeem-result", "核销成功")
    screenshot(phone, "masks-redeemed-phone", scroll_to="#redeem-result")
    assert "请交付口罩 5 只" in phone.find_element(By.ID, "redeem-result").text
    # Fits the phone: no sideways scrolling.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 360
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.REDEEMED

    phone.find_element(By.ID, "id_number").send_keys(voucher.number)
    phone.find_element(By.ID, "id_id_number").send_keys(world.resident_a1.plain_id)
    phone.find_element(By.CSS_SELECTOR, "#redeem-form button[type=submit]").click()
    wait_text(phone, "#redeem-result", "不能核销")
    text = phone.find_element(By.ID, "redeem-result").text
    when = timezone.localtime(voucher.redeemed_at).strftime("%Y-%m-%d %H:%M")
    assert f"该凭证已于{when}在国和药房使用" in text

    # The pharmacy's public page shows the sale at once (no login, no names).
    phone.get(f"{live_server.url}/masks/p/{m.pharmacy_a.pk}/")
    wait_text(phone, "#fig-redeemed", "1")
    assert phone.find_element(By.ID, "fig-issued").text == "1"
    assert phone.find_element(By.ID, "fig-registered").text == "1"
    assert world.resident_a1.name not in phone.page_source


def test_staff_register_a_desk_reservation_and_see_the_number(phone, live_server, world):
    m = build_masks(world)
    resident = new_household(world, name="孙丽")
    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/masks/staff/rounds/{m.round.pk}/reserve/")
    wait_for(phone, "#reserve-form")
    phone.find_element(By.ID, "id_name").send_keys(resident.name)
    phone.find_element(By.ID, "id_id_number").send_keys(resident.plain_id)
    phone.find_element(By.ID, "id_phone").send_keys("13900005555")
    phone.find_element(By.CSS_SELECTOR, "#reserve-form button[type=submit]").click()
    wait_for(phone, "#reservation-number")
    reservation = Reservation.objects.get()
    assert phone.find_element(By.ID, "reservation-number").text == reservation.number
    assert (reservation.channel, reservation.household_id) == (Channel.DESK, resident.household_id)
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 360

    # The same person again (a second click, or a phone call later): the same number.
    phone.get(f"{live_server.url}/masks/staff/rounds/{m.round.pk}/reserve/")
    wait_for(phone, "#reserve-form")
    phone.find_element(By.CSS_SELECTOR, "input[name=channel][value=phone]").click()
    phone.find_element(By.ID, "id_name").send_keys(resident.name)
    phone.find_element(By.ID, "id_id_number").send_keys(resident.plain_id)
    phone.find_element(By.CSS_SELECTOR, "#reserve-form button[type=submit]").click()
    wait_text(phone, "#reservation-number", reservation.number)
    assert Reservation.objects.count() == 1


def test_desk_entry_household_is_found_by_typing_and_picked_with_the_keyboard(desktop, live_server, world):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    m = build_masks(world)
    login(desktop, live_server, "staff_a1")
    desktop.get(f"{live_server.url}/masks/staff/rounds/{m.round.pk}/reserve/")
    field = wait_for(desktop, "#id_household")
    assert field.tag_name == "input" and field.get_attribute("list") == "household-options"
    field.send_keys("6号")
    WebDriverWait(desktop, 10).until(
        lambda d: d.execute_script("return document.querySelectorAll('#household-options option').length") == 1)
    options = desktop.execute_script(
        "return [...document.querySelectorAll('#household-options option')].map(o => [o.value, o.label])")
    assert options == [["国和一村 6号 101室", "国和一村 6号 101室 · 户主 李**"]]
    screenshot(desktop, "masks-desk-household-suggestions")
    # Typed to the end (as a keyboard user picking the suggestion gets), then the rest of the form.
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("国和一村 6号 101室")
    desktop.find_element(By.ID, "id_name").send_keys("来访人")
    from xiuhua.masks.tests.fixtures import unknown_id

    desktop.find_element(By.ID, "id_id_number").send_keys(unknown_id())
    desktop.find_element(By.CSS_SELECTOR, "#reserve-form button[type=submit]").click()
    wait_for(desktop, "#reservation-number")
    assert Reservation.objects.get().household == world.household_a1b
