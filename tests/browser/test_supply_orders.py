"""Group buying's votes and orders, driven through the pages only: on a desktop the committee files
two vegetable buys for its approved leader (the behalf pages) and approves them, and puts them to
a vote; a resident votes on a 360 px phone; the committee closes the vote and opens orders on the
winner in one click; residents of two buildings order on their phones; a building lead, signed in
on a phone, orders for a household of a third building that has no phone; the committee sees the
counts per item, building and channel. Screenshots under var/screenshots/."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from xiuhua.places.models import Kind
from xiuhua.residents.models import Household
from xiuhua.sms.models import OutboundSms
from xiuhua.supply import services
from xiuhua.supply.models import Filing, FilingStatus, Offer, OfferItem, Order, Poll, PollStatus, PollVote
from xiuhua.supply.tests.conftest import LEADER_PHONE, add_documents
from xiuhua.testing import acting, make_resident, unit

from .conftest import login, screenshot, wait_for, wait_text
from .test_masks_phone_pages import overflow
from .test_supply_filings import _set, office  # noqa: F401 - the desktop browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECOND_PHONE = "13812345678"  # 张秀英, 5号 302


def _sign_in(phone, live_server, mobile):
    phone.delete_all_cookies()
    phone.get(f"{live_server.url}/supply/buy/")
    phone.find_element(By.ID, "id_phone").send_keys(mobile)
    phone.find_element(By.ID, "send-code").click()
    wait_for(phone, "#check-code")
    otp = OutboundSms.objects.filter(phone=mobile, template="XH_OTP").latest("pk").params["code"]
    phone.find_element(By.ID, "id_code").send_keys(otp)
    phone.find_element(By.ID, "check-code").click()
    wait_for(phone, "#address")


def _file_for_leader(office, live_server, leader, supplier, price, contents):  # noqa: F811
    office.get(f"{live_server.url}/supply/leaders/{leader.pk}/file/")
    wait_for(office, "#submit-filing")
    for name, value in (("supplier", supplier), ("supplier_licence", "JY131"), ("driver_name", "王师傅"),
                        ("driver_phone", "13900001234"), ("vehicle_plate", "沪A12345"), ("item-0-name", "蔬菜套餐"),
                        ("item-0-unit", "份"), ("item-0-pack_quantity", "1"), ("item-0-price", price)):
        office.find_element(By.NAME, name).send_keys(value)
    office.find_element(By.NAME, "item-0-contents").send_keys(contents)
    local = timezone.localtime()
    _set(office, "window_start", (local + dt.timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M"))
    _set(office, "window_end", (local + dt.timedelta(hours=22)).strftime("%Y-%m-%dT%H:%M"))
    office.find_element(By.ID, "submit-filing").click()
    wait_text(office, "#filing-status", "待审核")
    office.find_element(By.ID, "action-approve").click()
    wait_text(office, "#filing-status", "已通过")
    return Filing.objects.order_by("-pk").first()


def test_a_vote_then_orders_from_phones_a_building_lead_and_the_committees_counts(
        phone, office, live_server, world):  # noqa: F811
    applied = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    leader = services.leader_decide(actor=acting(world.staff_a1), leader=applied, action="approve")
    add_documents(leader, now=timezone.now())
    # On the roster: 7号 401 of the lead's grid, an old man without a phone.
    building = unit(Kind.BUILDING, "7号", world.compound_a1)
    no_phone = Household.objects.create(building=building, room="401", grid=world.grid_a1)
    make_resident(no_phone, "钱老伯", mobile="", birth=dt.date(1938, 5, 1))

    # The committee files two buys for the leader and approves them (desktop).
    login(office, live_server, "staff_a1")
    fresh = _file_for_leader(office, live_server, leader, "上海鲜达食品有限公司", "68", "土豆 1kg\n青菜 500g")
    green = _file_for_leader(office, live_server, leader, "上海绿源农产品合作社", "59", "土豆 1kg\n番茄 500g")
    assert [f.status for f in (fresh, green)] == [FilingStatus.APPROVED] * 2

    # ... and puts them to a vote.
    office.get(f"{live_server.url}/supply/polls/")
    office.find_element(By.ID, "poll-title").send_keys("本周蔬菜套餐选哪家")
    office.find_element(By.CSS_SELECTOR, "#poll-category option[value=vegetables]").click()
    office.find_element(By.ID, f"poll-filing-{fresh.pk}").click()
    office.find_element(By.ID, f"poll-filing-{green.pk}").click()
    screenshot(office, "supply-orders-01-desktop-new-poll")
    office.find_element(By.ID, "open-poll").click()
    wait_text(office, "#poll-status", "投票中")
    poll = Poll.objects.get()
    green_option = poll.options.get(filing=green)

    # A resident votes on the phone; the page then says the household has voted, with the counts.
    _sign_in(phone, live_server, LEADER_PHONE)
    assert overflow(phone) == 0
    screenshot(phone, "supply-orders-02-phone-poll")
    phone.find_element(By.ID, f"vote-{green_option.pk}").click()
    wait_text(phone, f"#voted-{poll.pk}", "您家已投过票")
    wait_text(phone, f"#poll-option-{green_option.pk}", "1 票")
    assert overflow(phone) == 0
    screenshot(phone, "supply-orders-03-phone-voted")
    assert list(PollVote.objects.values_list("option_id", "channel")) == [(green_option.pk, "self")]

    # The committee closes the vote; the winner opens orders in one click (10 packs, 2 a household).
    office.get(f"{live_server.url}/supply/polls/{poll.pk}/")
    office.find_element(By.ID, "close-poll").click()
    wait_text(office, "#poll-status", "已截止")
    wait_text(office, f"#option-{green_option.pk}", "得票最多")
    item = green.items.get()
    _set(office, f"available-{item.pk}", "10")
    screenshot(office, "supply-orders-04-desktop-poll-closed")
    office.find_element(By.ID, "open-winner").click()
    wait_text(office, "#offer-status", "接龙中")
    offer = Offer.objects.get()
    assert (offer.filing, offer.poll, Poll.objects.get().status) == (green, poll, PollStatus.CLOSED)
    offer_item = offer.items.get()

    # Residents of two buildings order on their phones.
    # (the first phone is still proven from its vote: a second code so soon would wait a minute)
    for mobile, packs in ((LEADER_PHONE, "2"), (SECOND_PHONE, "1")):
        if mobile == LEADER_PHONE:
            phone.get(f"{live_server.url}/supply/buy/home/")
        else:
            _sign_in(phone, live_server, mobile)
        wait_text(phone, f"#offer-{offer.pk}", "剩余")
        phone.find_element(By.CSS_SELECTOR, f"#qty-{offer_item.pk} option[value='{packs}']").click()
        if mobile == SECOND_PHONE:
            assert overflow(phone) == 0
            screenshot(phone, "supply-orders-05-phone-offer", scroll_to=f"#offer-{offer.pk}")
        phone.find_element(By.ID, f"order-{offer.pk}").click()
        wait_text(phone, f"#my-order-{offer.pk}", "您家已下单")
    assert overflow(phone) == 0
    screenshot(phone, "supply-orders-06-phone-ordered", scroll_to=f"#offer-{offer.pk}")

    # The building lead, on a phone, orders for 7号 401 (no phone).
    login(phone, live_server, "grid_a1")
    phone.get(f"{live_server.url}/supply/for-residents/")
    wait_for(phone, f"#for-offer-{offer.pk}")
    phone.find_element(By.CSS_SELECTOR, f"#for-building-{offer.pk} option[value='{building.pk}']").click()
    phone.find_element(By.ID, f"for-room-{offer.pk}").send_keys("401")
    field = phone.find_element(By.ID, f"for-qty-{offer_item.pk}")
    field.clear()
    field.send_keys("1")
    assert overflow(phone) == 0
    screenshot(phone, "supply-orders-07-phone-lead", scroll_to=f"#for-offer-{offer.pk}")
    phone.find_element(By.ID, f"for-order-{offer.pk}").click()
    wait_text(phone, "#mine", "7号401室")
    assert overflow(phone) == 0
    screenshot(phone, "supply-orders-08-phone-lead-ordered", scroll_to="#mine")

    # The committee sees the counts.
    office.get(f"{live_server.url}/supply/offers/{offer.pk}/")
    wait_text(office, "#order-counts", "订单 3 户")
    wait_text(office, "#order-counts", "本人手机 2")
    wait_text(office, "#order-counts", "楼组长代下单 1")
    wait_text(office, f"#item-{offer_item.pk} .ordered", "4")
    wait_text(office, "#buildings", "7号")
    screenshot(office, "supply-orders-09-desktop-offer")
    office.find_element(By.ID, "orders-link").click()
    wait_text(office, "#orders", "楼组长代下单(grid_a1)")
    screenshot(office, "supply-orders-10-desktop-orders")
    assert sorted(Order.objects.values_list("building__name", "channel")) == [
        ("5号", "self"), ("6号", "self"), ("7号", "building_lead")]
    assert OfferItem.objects.get().ordered == 4
