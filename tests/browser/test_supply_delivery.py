"""Group-buy delivery in a real browser, pages only from a closed offer (its orders, of two
buildings, written with the ORM in the setup): the committee worker checks the delivery at the
gate with one item short, previews the sharing rule and confirms it, records the disinfection,
is refused sorting before the wait is over, sorts, and downloads the pick lists and labels (looked
at as PNG, the QR codes decoded); a volunteer on a 360 px phone opens a label's URL and marks the
order delivered."""

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.models import Household
from xiuhua.supply import services
from xiuhua.supply.demo_delivery import closed_offer
from xiuhua.supply.models_orders import Delivery, Offer, OfferStatus, Order, OrderStatus
from xiuhua.supply.tests.conftest import LEADER_PHONE, add_documents, filing_data
from xiuhua.testing import acting, qr_codes_in_pdf

from .conftest import login, screenshot, wait_for, wait_text
from .journey import download

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def save_pages(pdf: bytes, name: str) -> list[Path]:
    """The PDF's pages as PNG beside the screenshots, for a person to look at."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "80", "-png", str(source), str(folder / name)], check=True)
    return sorted(folder.glob(f"{name}-*.png"))


def closed_offer_of_two_buildings(world) -> Offer:
    now = timezone.now()
    leader = services.leader_decide(actor=acting(world.staff_a1), action="approve", leader=services.leader_apply(
        actor=None, resident=world.resident_a1b, phone=LEADER_PHONE))
    add_documents(leader, now=now)
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(now=now), now=now)
    services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve")
    h1201 = Household.objects.create(building=world.building_a1, room="1201")
    h101 = Household.objects.create(building=world.building_a1, room="101")
    h201 = Household.objects.create(building=world.building_a1b, room="201")
    orders = [(world.household_a1, (3, 1)), (h1201, (1, 1)), (h101, (2, 0)), (world.household_a1b, (2, 1)),
              (h201, (0, 1))]
    return closed_offer(filing=filing, actor=acting(world.staff_a1), orders=orders,
                        start=now - dt.timedelta(hours=3), title="鸡蛋蔬菜团购")


def test_gate_check_shortage_disinfection_sorting_labels_and_the_door(desktop, live_server, world):
    offer = closed_offer_of_two_buildings(world)
    d = desktop
    login(d, live_server, "staff_a1")
    d.get(f"{live_server.url}/supply/deliveries/")
    wait_for(d, f"#offer-{offer.pk}").find_element(By.LINK_TEXT, "鸡蛋蔬菜团购").click()
    form = wait_for(d, "#gate-form")
    assert "沪A12345" in d.find_element(By.ID, "plate").text and "王师傅" in d.find_element(By.ID, "driver").text

    # Gate check: plate, driver and goods match; 4 boxes of eggs came for 8 ordered.
    for name in ("plate_matches", "driver_matches", "goods_match"):
        form.find_element(By.NAME, name).click()
    eggs, veg = offer.items.order_by("position")
    box = form.find_element(By.ID, f"received-{eggs.pk}")
    box.clear()
    box.send_keys("4")
    assert form.find_element(By.ID, f"received-{veg.pk}").get_attribute("value") == "4"
    Select(form.find_element(By.ID, "rule")).select_by_value("first_ordered")
    form.find_element(By.ID, "preview-button").click()

    # The preview: who gets what, per building; 5号101 ordered eggs only and gets none.
    wait_text(d, "#preview", "配货预览")
    assert d.find_element(By.ID, "unfilled").text == "5号 101"
    assert "鸡蛋 2→0" in d.find_element(By.ID, "plan-building-2").text  # 6号101: vegetables only
    assert Delivery.objects.count() == 0
    screenshot(d, "supply_delivery_preview", scroll_to="#preview")
    d.find_element(By.ID, "confirm-button").click()
    wait_text(d, ".messages", "已登记到货:4 户配货,1 户缺货未配")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ARRIVED
    screenshot(d, "supply_delivery_arrived")

    # Disinfection: a strength out of range is refused, then recorded.
    form = wait_for(d, "#disinfect-form")
    form.find_element(By.NAME, "chlorine").send_keys("600")
    form.find_element(By.NAME, "wait").send_keys("10")
    form.find_element(By.ID, "disinfect-button").click()
    wait_text(d, ".messages", "含氯消毒液浓度须在 250-500 mg/L 之间")
    form = wait_for(d, "#disinfect-form")
    form.find_element(By.NAME, "chlorine").send_keys("300")
    form.find_element(By.NAME, "wait").send_keys("10")
    form.find_element(By.ID, "disinfect-button").click()
    wait_text(d, ".messages", "已登记消杀")
    wait_text(d, "#release", "作用时间未到,不能分拣")
    d.find_element(By.ID, "sort-button").click()
    wait_text(d, ".messages", "消杀作用时间未到")
    screenshot(d, "supply_delivery_disinfected")

    # Ten minutes later (the clock moved in the database) sorting is accepted.
    Delivery.objects.filter(offer=offer).update(disinfected_at=timezone.now() - dt.timedelta(minutes=11))
    d.refresh()
    wait_for(d, "#sort-button").click()
    wait_text(d, ".messages", "已分拣完成")
    wait_text(d, "#offer-status", "已分拣")

    # Pick lists and labels, as downloaded by the worker.
    picklist = download(d, d.find_element(By.ID, "picklist-all").get_attribute("href"))
    pages = save_pages(picklist, "supply_delivery_picklist")
    assert len(pages) == 3  # totals, 5号, 6号
    labels = download(d, d.find_element(By.ID, "labels-all").get_attribute("href"))
    save_pages(labels, "supply_delivery_labels")
    codes = qr_codes_in_pdf(labels)
    assert len(codes) == 1 and len(codes[0]) == 4 and {fmt for fmt, _t in codes[0]} == {"QRCode"}
    order = Order.objects.get(offer=offer, household=world.household_a1)
    url = next(text for _fmt, text in codes[0] if f"/supply/o/{order.pk}-" in text)
    one = download(d, d.find_element(By.CSS_SELECTOR, f"#building-{world.building_a1b.pk} a").get_attribute("href"))
    save_pages(one, "supply_delivery_picklist_6")
    screenshot(d, "supply_delivery_sorted", scroll_to="#progress")

    # The volunteer at the door of 5号302, on a phone.
    d.set_window_size(360, 740)
    try:
        login(d, live_server, "volunteer")
        d.get(live_server.url + url[url.index("/supply/o/"):])
        wait_text(d, "#door-order", "5号 302")
        assert d.find_element(By.ID, "door-items").text.splitlines() == ["鸡蛋 × 3", "蔬菜套餐 × 1"]
        assert d.execute_script("return document.documentElement.scrollWidth") <= 360
        screenshot(d, "supply_delivery_door")
        d.find_element(By.ID, "deliver-button").click()
        wait_text(d, "#delivered", "已送达(")
        order.refresh_from_db()
        assert (order.status, order.delivered_by_id) == (OrderStatus.DELIVERED, world.volunteer.pk)
        screenshot(d, "supply_delivery_door_delivered")
        # Scanned again: it says so and changes nothing.
        d.get(live_server.url + url[url.index("/supply/o/"):])
        wait_text(d, "#delivered", "volunteer")
        assert not d.find_elements(By.ID, "deliver-button")
        d.find_element(By.LINK_TEXT, "本楼待送清单").click()
        wait_text(d, "h1", "待送货清单")
        assert len(d.find_elements(By.CSS_SELECTOR, "[id^=todo-]")) == 1  # 5号1201 is left
        screenshot(d, "supply_delivery_todo")
    finally:
        d.set_window_size(1280, 900)
