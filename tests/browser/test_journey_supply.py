"""Group buying from the leader's application to the door, through the pages, in one go.

A resident of 6号 applies on a 360 px phone to be the compound's group-buy leader; on a desktop
the committee approves him. On the phone he registers the four documents (the driver's test with a
photo) and files a buy of eggs and a vegetable bundle. The committee approves the filing and opens
orders on it, setting the packs and the cap per household. Residents of 5号 and 6号 order on their
phones; the building lead (a grid worker account) orders for an old man of 7号 who has no phone.
The committee closes orders, checks the delivery at the gate with eggs short, previews the sharing
rule and confirms it, records the disinfection, sorts, and downloads the per-building pick lists
and the labels (pages saved as PNG beside the screenshots, every QR decoded). A volunteer on a
360 px phone opens one label's URL and confirms delivery; the committee's delivery page shows it.

The world (units, households with their mobiles, staff, grid and volunteer accounts) is the shared
`world` fixture plus one household without a phone; everything after that is done on the pages.
Two steps are not: SMS codes are read off the SMS page by the system administrator (as the other
journeys do), and the disinfectant's ten minutes pass by moving the record's time in the database.
Screenshots and PDF pages under var/screenshots/journey-supply-*.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.places.models import Kind
from xiuhua.residents.models import Household
from xiuhua.supply.models import DocKind, Filing, FilingStatus, Leader, LeaderStatus
from xiuhua.supply.models_orders import Delivery, Offer, OfferStatus, Order, OrderStatus
from xiuhua.testing import make_resident, qr_codes_in_pdf, unit

from .conftest import login, screenshot, wait_for, wait_text
from .journey import download, one_time_code, sms_to
from .test_masks_phone_pages import overflow
from .test_supply_delivery import save_pages
from .test_supply_filings import _set, office  # noqa: F401 - the committee's desktop browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEADER_PHONE, LEADER_MASKED = "13812340000", "138****0000"  # 李建国, 6号 101
NEIGHBOUR_PHONE, NEIGHBOUR_MASKED = "13812345678", "138****5678"  # 张秀英, 5号 302
SHOT = "journey-supply"


def _sign_in(phone, live_server, start: str, mobile: str, masked: str, done: str) -> None:
    """A resident proves a phone on a phone page (`start`), with the code the SMS page shows."""
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}{start}")
    phone.find_element(By.ID, "id_phone").send_keys(mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    code = one_time_code(sms_to(phone, live_server, masked, "验证码", username="sysadmin"))
    wait_for(phone, "#id_code").send_keys(code)
    phone.find_element(By.ID, "check-code").click()
    wait_for(phone, done)


def _fill(driver, values: dict[str, str]) -> None:
    for name, value in values.items():
        box = driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)


def _document(phone, leader_pk: int, kind: str, number: str, holder: str, *, taken_at: str = "",
              valid_until: str = "", photo: str = "") -> None:
    phone.find_element(By.ID, "add-document").click()
    wait_for(phone, "#save-document")
    Select(phone.find_element(By.ID, "id_kind")).select_by_value(kind)
    _fill(phone, {"number": number, "holder": holder})
    if taken_at:
        _set(phone, "taken_at", taken_at)
    if valid_until:
        _set(phone, "valid_until", valid_until)
    if photo:
        phone.find_element(By.ID, "id_photo").send_keys(photo)
    phone.find_element(By.ID, "save-document").click()
    wait_text(phone, ".messages", "证件已登记")
    wait_for(phone, f"#leader-{leader_pk}")


def _order_on_phone(phone, offer: Offer, packs: dict[int, int]) -> None:
    wait_text(phone, f"#offer-{offer.pk}", "剩余")
    for item_pk, n in packs.items():
        Select(phone.find_element(By.ID, f"qty-{item_pk}")).select_by_value(str(n))
    phone.find_element(By.ID, f"order-{offer.pk}").click()
    wait_text(phone, f"#my-order-{offer.pk}", "您家已下单")


def _lines(order: Order) -> list[tuple[str, int, int]]:
    return [(line.item.filing_item.name, line.quantity, line.allotted)
            for line in order.lines.select_related("item__filing_item").order_by("item__position")]


def test_group_buying_from_the_leaders_application_to_the_door(phone, office, live_server, world):  # noqa: F811
    # The roster's old man of 7号 401, in the building lead's grid, without a phone.
    building_7 = unit(Kind.BUILDING, "7号", world.compound_a1)
    no_phone = Household.objects.create(building=building_7, room="401", grid=world.grid_a1)
    make_resident(no_phone, "钱老伯", mobile="", birth=dt.date(1938, 5, 1))
    now = timezone.localtime()

    # 1. 李建国 applies on his phone to lead group buys for 国和一村.
    _sign_in(phone, live_server, "/supply/lead/", LEADER_PHONE, LEADER_MASKED,
             f"#apply-{world.resident_a1b.pk}")
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-01-phone-apply")
    phone.find_element(By.ID, f"apply-{world.resident_a1b.pk}").click()
    wait_text(phone, ".messages", "申请已提交")
    leader = Leader.objects.get()
    assert (leader.resident, leader.status) == (world.resident_a1b, LeaderStatus.APPLIED)

    # 2. The committee approves him on the desktop.
    login(office, live_server, "staff_a1")
    office.get(f"{live_server.url}/supply/leaders/")
    wait_text(office, f"#leader-{leader.pk}", "国和一村")
    screenshot(office, f"{SHOT}-02-desktop-leaders")
    office.find_element(By.ID, f"approve-leader-{leader.pk}").click()
    wait_text(office, "#leaders", "李**")
    leader.refresh_from_db()
    assert leader.status == LeaderStatus.APPROVED

    # 3. On the phone: his documents, then the filing.
    phone.get(f"{live_server.url}/supply/lead/home/")
    wait_text(phone, f"#leader-{leader.pk} h2", "国和一村 · 团长 李**")
    assert phone.find_element(By.CSS_SELECTOR, f"#leader-{leader.pk} ul").text.count("未登记") == 4
    photo = screenshot(phone, f"{SHOT}-03-phone-leader-approved")  # stands in for the photo of the test
    taken = now - dt.timedelta(hours=6)  # the driver's test sample, valid 48 hours from then
    _document(phone, leader.pk, DocKind.DRIVER_TEST, "HS001", "王师傅",
              taken_at=taken.strftime("%Y-%m-%dT%H:%M"), photo=photo)
    valid = (now + dt.timedelta(days=200)).strftime("%Y-%m-%d")
    _document(phone, leader.pk, DocKind.FOOD_PERMIT, "JY131", "上海鲜达食品有限公司", valid_until=valid)
    _document(phone, leader.pk, DocKind.EPIDEMIC_PERMIT, "BG002", "上海鲜达食品有限公司", valid_until=valid)
    _document(phone, leader.pk, DocKind.VEHICLE_PASS, "TX-88", "沪A12345", valid_until=valid)
    assert "未登记" not in phone.find_element(By.CSS_SELECTOR, f"#leader-{leader.pk} ul").text
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-04-phone-documents")

    phone.find_element(By.ID, "new-filing").click()
    wait_for(phone, "#submit-filing")
    _fill(phone, {"supplier": "上海鲜达食品有限公司", "supplier_licence": "JY131", "driver_name": "王师傅",
                  "driver_phone": "13900001234", "vehicle_plate": "沪A12345",
                  "item-0-name": "鸡蛋", "item-0-unit": "枚", "item-0-pack_quantity": "30", "item-0-price": "36",
                  "item-1-name": "蔬菜套餐", "item-1-unit": "份", "item-1-pack_quantity": "1",
                  "item-1-price": "88", "item-1-contents": "土豆 1kg\n青菜 500g\n胡萝卜 1kg"})
    _set(phone, "window_start", (now + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    _set(phone, "window_end", (now + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"))
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-05-phone-filing", scroll_to="#item-1")
    phone.find_element(By.ID, "submit-filing").click()
    wait_text(phone, "#filing-status", "待审核")
    filing = Filing.objects.get()
    assert (filing.leader, filing.status) == (leader, FilingStatus.SUBMITTED)
    assert [(i.name, i.pack_quantity, i.price) for i in filing.items.order_by("position")] == [
        ("鸡蛋", 30, 36), ("蔬菜套餐", 1, 88)]
    screenshot(phone, f"{SHOT}-06-phone-filed")

    # 4. The committee approves the filing and opens orders: 20 boxes of eggs, 3 a household;
    # 10 bundles, 1 a household.
    office.get(f"{live_server.url}/supply/filings/")
    wait_for(office, f"#filing-{filing.pk}").find_element(By.TAG_NAME, "a").click()
    wait_text(office, "#documents", "司机核酸阴性证明:HS001 · 王师傅 · 有效至 "
              + (taken + dt.timedelta(hours=48)).strftime("%Y-%m-%d %H:%M"))
    assert "照片" in office.find_element(By.ID, "documents").text
    screenshot(office, f"{SHOT}-07-desktop-filing")
    office.find_element(By.ID, "action-approve").click()
    wait_text(office, "#filing-status", "已通过")
    filing.refresh_from_db()
    assert filing.status == FilingStatus.APPROVED
    office.find_element(By.ID, "open-offer").click()
    wait_for(office, "#open-submit")
    eggs_f, veg_f = filing.items.order_by("position")
    _fill(office, {"title": "鸡蛋蔬菜团购", f"available-{eggs_f.pk}": "20", f"cap-{eggs_f.pk}": "3",
                   f"available-{veg_f.pk}": "10", f"cap-{veg_f.pk}": "1"})
    Select(office.find_element(By.ID, "offer-category")).select_by_value("vegetables")
    screenshot(office, f"{SHOT}-08-desktop-open-offer")
    office.find_element(By.ID, "open-submit").click()
    wait_text(office, "#offer-status", "接龙中")
    offer = Offer.objects.get()
    eggs, veg = offer.items.order_by("position")
    assert [(i.available, i.per_household) for i in (eggs, veg)] == [(20, 3), (10, 1)]
    screenshot(office, f"{SHOT}-09-desktop-offer-open")

    # 5. Residents of two buildings order on their phones: 6号 101 (the leader's household, its
    # phone still proven) and 5号 302.
    phone.get(f"{live_server.url}/supply/buy/home/")
    _order_on_phone(phone, offer, {eggs.pk: 2, veg.pk: 1})
    _sign_in(phone, live_server, "/supply/buy/", NEIGHBOUR_PHONE, NEIGHBOUR_MASKED, "#address")
    assert phone.find_element(By.ID, f"qty-{eggs.pk}").text.split() == ["0", "份", "1", "份", "2", "份", "3", "份"]
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-10-phone-offer", scroll_to=f"#offer-{offer.pk}")
    _order_on_phone(phone, offer, {eggs.pk: 3, veg.pk: 1})
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-11-phone-ordered", scroll_to=f"#offer-{offer.pk}")

    # 6. The building lead, on a phone, orders for 7号 401 (no phone).
    login(phone, live_server, "grid_a1")
    phone.get(f"{live_server.url}/supply/for-residents/")
    wait_for(phone, f"#for-offer-{offer.pk}")
    Select(phone.find_element(By.ID, f"for-building-{offer.pk}")).select_by_value(str(building_7.pk))
    _fill(phone, {"room": "401", f"qty-{eggs.pk}": "1", f"qty-{veg.pk}": "1"})
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-12-phone-building-lead", scroll_to=f"#for-offer-{offer.pk}")
    phone.find_element(By.ID, f"for-order-{offer.pk}").click()
    wait_text(phone, "#mine", "7号401室")
    screenshot(phone, f"{SHOT}-13-phone-building-lead-ordered", scroll_to="#mine")
    assert sorted(Order.objects.values_list("building__name", "household__room", "channel")) == [
        ("5号", "302", "self"), ("6号", "101", "self"), ("7号", "401", "building_lead")]

    # 7. The committee sees the counts and closes orders.
    office.get(f"{live_server.url}/supply/offers/{offer.pk}/")
    wait_text(office, "#order-counts", "订单 3 户 · 本人手机 2 · 楼组长代下单 1")
    assert office.find_element(By.CSS_SELECTOR, f"#item-{eggs.pk} .ordered").text == "6"
    assert office.find_element(By.CSS_SELECTOR, f"#item-{veg.pk} .ordered").text == "3"
    screenshot(office, f"{SHOT}-14-desktop-offer-counts")
    office.find_element(By.ID, "close-offer").click()
    wait_text(office, "#offer-status", "已截单")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CLOSED

    # 8. At the gate: plate, driver and goods match, but 4 boxes of eggs came for 6 ordered.
    office.get(f"{live_server.url}/supply/deliveries/")
    wait_for(office, f"#offer-{offer.pk}").find_element(By.LINK_TEXT, "鸡蛋蔬菜团购").click()
    form = wait_for(office, "#gate-form")
    for name in ("plate_matches", "driver_matches", "goods_match"):
        form.find_element(By.NAME, name).click()
    assert form.find_element(By.ID, f"received-{veg.pk}").get_attribute("value") == "3"
    _fill(office, {f"received_{eggs.pk}": "4"})
    Select(form.find_element(By.ID, "rule")).select_by_value("first_ordered")
    form.find_element(By.ID, "preview-button").click()
    wait_text(office, "#preview", "配货预览")
    # Whole orders in the order placed: 6号101 gets its 2, 5号302 the 2 left of 3, 7号401 none.
    plans = {el.find_element(By.TAG_NAME, "caption").text.split(" · ")[0]: el.text
             for el in office.find_elements(By.CSS_SELECTOR, "#preview .plan-building")}
    assert set(plans) == {"5号", "6号", "7号"}
    assert "鸡蛋 3→2" in plans["5号"] and "鸡蛋 1→0" in plans["7号"] and "鸡蛋 2;" in plans["6号"]
    assert office.find_element(By.ID, "unfilled").text == "无"
    assert Delivery.objects.count() == 0
    screenshot(office, f"{SHOT}-15-desktop-gate-preview", scroll_to="#preview")
    office.find_element(By.ID, "confirm-button").click()
    wait_text(office, ".messages", "已登记到货:3 户配货")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ARRIVED
    allotted = {o.household.room: _lines(o) for o in Order.objects.filter(offer=offer).select_related("household")}
    assert allotted == {"101": [("鸡蛋", 2, 2), ("蔬菜套餐", 1, 1)], "302": [("鸡蛋", 3, 2), ("蔬菜套餐", 1, 1)],
                        "401": [("鸡蛋", 1, 0), ("蔬菜套餐", 1, 1)]}

    # 9. Disinfection recorded; sorting waits for the ten minutes (passed by moving the record's time).
    form = wait_for(office, "#disinfect-form")
    _fill(office, {"chlorine": "300", "wait": "10"})
    form.find_element(By.ID, "disinfect-button").click()
    wait_text(office, ".messages", "已登记消杀")
    wait_text(office, "#disinfection", "含氯 300 mg/L · 作用 10 分钟")
    wait_text(office, "#release", "作用时间未到,不能分拣")
    screenshot(office, f"{SHOT}-16-desktop-disinfected", scroll_to="#delivery-record")
    Delivery.objects.filter(offer=offer).update(disinfected_at=timezone.now() - dt.timedelta(minutes=11))
    office.refresh()
    wait_for(office, "#sort-button").click()
    wait_text(office, ".messages", "已分拣完成")
    wait_text(office, "#offer-status", "已分拣")

    # 10. Pick lists per building and labels per household, printed (PNG) and their QR decoded.
    picklist = download(office, office.find_element(By.ID, "picklist-all").get_attribute("href"))
    assert len(save_pages(picklist, f"{SHOT}-17-picklist")) == 4  # the totals, 5号, 6号, 7号
    for name, building in (("5", world.building_a1), ("6", world.building_a1b), ("7", building_7)):
        link = office.find_element(By.CSS_SELECTOR, f"#building-{building.pk} a")
        assert len(save_pages(download(office, link.get_attribute("href")), f"{SHOT}-18-picklist-{name}")) == 1
    labels = download(office, office.find_element(By.ID, "labels-all").get_attribute("href"))
    save_pages(labels, f"{SHOT}-19-labels")
    texts = [text for page in qr_codes_in_pdf(labels) for fmt, text in page if fmt == "QRCode"]
    orders = {o.household.room: o for o in Order.objects.filter(offer=offer).select_related("household")}
    found = {room: [t for t in texts if re.search(rf"/supply/o/{o.pk}-", t)] for room, o in orders.items()}
    assert len(texts) == 3 and all(len(urls) == 1 for urls in found.values()), texts
    screenshot(office, f"{SHOT}-20-desktop-sorted", scroll_to="#progress")

    # 11. A volunteer at the door of 5号 302 scans the label on a 360 px phone.
    url = found["302"][0]
    login(phone, live_server, "volunteer")
    phone.get(live_server.url + url[url.index("/supply/o/"):])
    wait_text(phone, "#door-order", "5号 302")
    assert phone.find_element(By.ID, "door-items").text.splitlines() == ["鸡蛋 × 2", "蔬菜套餐 × 1"]
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-21-phone-door")
    phone.find_element(By.ID, "deliver-button").click()
    wait_text(phone, "#delivered", "已送达(")
    screenshot(phone, f"{SHOT}-22-phone-delivered")
    order = orders["302"]
    order.refresh_from_db()
    assert (order.status, order.delivered_by_id) == (OrderStatus.DELIVERED, world.volunteer.pk)

    # 12. The committee's delivery page shows it delivered.
    office.refresh()
    row = wait_for(office, f"#building-{world.building_a1.pk}")
    assert [c.text for c in row.find_elements(By.TAG_NAME, "td")][:4] == ["5号", "0", "1", "0"]
    assert [c.text for c in office.find_elements(By.CSS_SELECTOR, f"#building-{building_7.pk} td")][:4] == [
        "7号", "1", "0", "0"]
    screenshot(office, f"{SHOT}-23-desktop-delivered", scroll_to="#progress")
    office.get(f"{live_server.url}/supply/deliveries/")
    row = wait_for(office, f"#offer-{offer.pk}")
    assert [c.text for c in row.find_elements(By.TAG_NAME, "td")] == [
        "鸡蛋蔬菜团购", "国和一村", "上海鲜达食品有限公司", "已分拣", "2", "1"]
    assert sorted(Order.objects.filter(offer=offer).values_list("household__room", "status")) == [
        ("101", OrderStatus.PLACED), ("302", OrderStatus.DELIVERED), ("401", OrderStatus.PLACED)]
