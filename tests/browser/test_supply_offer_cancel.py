"""Through the pages: a building lead, on a 360 px phone, looks a household up and orders for the
resident chosen (not the head); the committee, on a desktop, reads the leader's permits by their
printed date on the filing page, then cancels the offer with a reason, and every order goes with
it. The leader, documents, approved filing, offer and one resident's own order are made by the
services (the journey in test_journey_supply.py does those on the pages). Screenshots under
var/screenshots/supply-offer-cancel-*."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.residents.models import Household, Relation
from xiuhua.sms.models import OutboundSms
from xiuhua.supply import services
from xiuhua.supply import services_orders as orders
from xiuhua.supply.models import Offer, OfferItem, OfferStatus, Order, OrderStatus
from xiuhua.supply.tests.conftest import LEADER_PHONE, add_documents, filing_data
from xiuhua.testing import acting, make_resident

from .conftest import login, screenshot, wait_for, wait_text
from .test_masks_phone_pages import overflow
from .test_supply_filings import office  # noqa: F401 - the committee's desktop browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOT = "supply-offer-cancel"
REASON = "供货商车辆被拦,无法送达"


def test_a_lead_orders_for_a_chosen_resident_and_the_committee_cancels_the_offer(
        phone, office, live_server, world):  # noqa: F811
    now = timezone.now()
    staff = acting(world.staff_a1)
    leader = services.leader_decide(actor=staff, leader=services.leader_apply(
        actor=None, resident=world.resident_a1b, phone=LEADER_PHONE), action="approve")
    add_documents(leader, now=now)
    filing = services.filing_decide(actor=staff, action="approve", filing=services.filing_submit(
        actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(now=now), now=now))
    eggs, bundle = filing.items.all()
    offer = orders.offer_open(actor=staff, filing=filing, terms={eggs.pk: (50, 2), bundle.pk: (10, 1)},
                              orders_close_at=now + dt.timedelta(hours=5))
    item = OfferItem.objects.get(offer=offer, filing_item=eggs)
    orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                       items={str(item.pk): 2})
    # 5号 1501 in the lead's grid: the head 王建华 and his son 王小明, neither with a phone.
    family = Household.objects.create(building=world.building_a1, room="1501", grid=world.grid_a1)
    make_resident(family, "王建华")
    son = make_resident(family, "王小明", relation=Relation.CHILD)

    # The building lead finds the household and orders for the son.
    login(phone, live_server, "grid_a1")
    phone.get(f"{live_server.url}/supply/for-residents/")
    Select(wait_for(phone, "#find-building")).select_by_value(str(world.building_a1.pk))
    phone.find_element(By.ID, "find-room").send_keys("1501")
    phone.find_element(By.ID, "find-submit").click()
    wait_text(phone, "#found-household", "5号1501室 · 王**(户主)、王**")
    choice = Select(phone.find_element(By.ID, f"for-resident-{offer.pk}"))
    assert choice.first_selected_option.text == "王**(户主)"
    choice.select_by_value(str(son.pk))
    box = phone.find_element(By.ID, f"for-qty-{item.pk}")
    box.clear()
    box.send_keys("1")
    assert overflow(phone) == 0
    screenshot(phone, f"{SHOT}-01-phone-lead-chooses", scroll_to=f"#for-offer-{offer.pk}")
    phone.find_element(By.ID, f"for-order-{offer.pk}").click()
    wait_text(phone, "#mine", "5号1501室 王**")
    lead_order = Order.objects.get(household=family)
    assert (lead_order.resident, lead_order.channel) == (son, "building_lead")

    # The committee reads the permits by their printed date on the filing page.
    login(office, live_server, "staff_a1")
    office.get(f"{live_server.url}/supply/filings/{filing.pk}/")
    printed = (now + dt.timedelta(days=200)).date().isoformat()  # as add_documents prints it
    wait_text(office, "#documents", f"食品经营许可证:JY131 · 上海鲜达食品有限公司 · 有效期至 {printed}")
    assert "00:00" not in office.find_element(By.ID, "documents").text

    # ... and cancels the offer with a reason.
    office.get(f"{live_server.url}/supply/offers/{offer.pk}/")
    wait_text(office, "#order-counts", "订单 2 户")
    office.find_element(By.ID, "cancel-reason").send_keys(REASON)
    screenshot(office, f"{SHOT}-02-desktop-cancel", scroll_to="#cancel-offer-form")
    office.find_element(By.ID, "cancel-offer").click()
    wait_text(office, "#offer-cancelled", f"理由:{REASON}")
    wait_text(office, ".messages", "接龙已取消:2户的订单随之取消,份数已退回。已给1户发短信。")
    assert "已取消" in office.find_element(By.ID, "offer-status").text
    assert not office.find_elements(By.ID, "cancel-offer-form")
    screenshot(office, f"{SHOT}-03-desktop-cancelled")
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.CANCELLED
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert [i.ordered for i in OfferItem.objects.with_ordered().filter(offer=offer)] == [0, 0]
    assert list(OutboundSms.objects.filter(purpose="groupbuy_offer_cancelled").values_list("phone", flat=True)) == [
        LEADER_PHONE]

    # The lead's page no longer offers it.
    phone.get(f"{live_server.url}/supply/for-residents/")
    wait_for(phone, "h1")
    assert not phone.find_elements(By.ID, f"for-offer-{offer.pk}")
