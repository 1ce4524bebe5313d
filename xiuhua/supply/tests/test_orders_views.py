"""The pages of votes, offers and orders: the authorisation matrix, the resident's phone pages and
JSON endpoint, the building lead's page, the committee's pages and the Excel export."""

import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.models import AuditEvent
from xiuhua.supply import services
from xiuhua.supply import services_orders as orders
from xiuhua.supply.models import Offer, OfferItem, Order, OrderStatus, Poll, PollStatus, PollVote
from xiuhua.testing import acting, as_user

from .conftest import LEADER_PHONE, add_documents, filing_data
from .test_views import verified

pytestmark = pytest.mark.django_db

# URL name -> (args, the capability that opens it)
OFFICE = {
    "polls": ([], "view"), "poll": ([1], "view"), "poll_act": ([1], "run"), "offers": ([], "view"),
    "offer_open": ([1], "run"), "offer": ([1], "view"), "offer_act": ([1], "run"), "offer_orders": ([1], "view"),
    "offer_orders_xlsx": ([1], "view"),
}
FOR_RESIDENTS = {"poll_vote_for": [1], "order_for": [1], "order_cancel_for": [1], "for_residents": []}
BUY = {"buy_home": [], "buy_vote": [], "buy_order": [], "buy_cancel": [1]}
PUBLIC = {"buy_start", "buy_otp_send", "buy_verify", "buy_logout"}


def snapshot():
    return [m.objects.count() for m in (Poll, PollVote, Offer, Order, AuditEvent)]


def test_every_url_is_in_the_matrix():
    from xiuhua.supply.urls_orders import urlpatterns

    names = {p.name for p in urlpatterns}
    assert names == set(OFFICE) | set(FOR_RESIDENTS) | set(BUY) | PUBLIC | {"buy_order_json"}


@pytest.mark.parametrize("name", sorted(OFFICE))
def test_roles_without_the_capability_are_refused_and_nothing_written(client, world, name):
    args, need = OFFICE[name]
    url = reverse(f"supply:{name}", args=args)
    before = snapshot()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    lacking = [world.grid_worker, world.volunteer, world.pharmacy_clerk, world.no_role]
    if need == "run":
        lacking.append(world.street_officer)
    for user in lacking:
        as_user(client, user)
        assert client.get(url).status_code in (403, 405)
        assert client.post(url, {"action": "close"}).status_code in (403, 405)
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(FOR_RESIDENTS))
def test_acting_for_residents_needs_order_for_resident(client, world, name):
    url = reverse(f"supply:{name}", args=FOR_RESIDENTS[name])
    before = snapshot()
    for user in (world.volunteer, world.pharmacy_clerk, world.no_role, world.street_officer):
        as_user(client, user)
        assert client.get(url).status_code in (403, 405)
        assert client.post(url, {"building": "1", "room": "101"}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(BUY))
def test_the_resident_pages_need_a_proven_phone(client, world, name):
    before = snapshot()
    url = reverse(f"supply:{name}", args=BUY[name])
    assert client.get(url).status_code in (403, 405)
    assert client.post(url, {"offer": 1, "household": 1}).status_code == 403
    response = client.post(reverse("supply:buy_order_json"), "{}", content_type="application/json")
    assert response.status_code == 403 and response.json() == {"detail": "请先验证手机号码"}
    assert snapshot() == before


@pytest.fixture
def filings(world, documented):
    staff = acting(world.staff_a1)
    made = []
    for supplier, price in (("上海鲜达食品有限公司", "60"), ("上海绿源合作社", "50")):
        filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(
            now=timezone.now(), supplier=supplier,
            items=[{"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": price, "contents": "土豆 1kg"}]))
        made.append(services.filing_decide(actor=staff, filing=filing, action="approve"))
    return made


@pytest.fixture
def documented(leader):
    add_documents(leader, now=timezone.now())
    return leader


def _later(hours):
    return timezone.localtime(timezone.now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_a_poll_from_the_pages_to_the_offer(client, world, filings):
    staff = as_user(client, world.staff_a1)
    response = staff.post(reverse("supply:polls"), {"title": "蔬菜选哪家", "category": "vegetables",
                                                    "closes_at": _later(5), "filing": [f.pk for f in filings]})
    poll = Poll.objects.get()
    assert response["Location"] == reverse("supply:poll", args=[poll.pk])
    first, second = poll.options.all()
    # A resident votes on the phone; a second vote says so and counts once.
    phone = verified(client.__class__())
    home = phone.get(reverse("supply:buy_home")).content.decode()
    assert f'id="vote-{first.pk}"' in home
    phone.post(reverse("supply:buy_vote"), {"poll": poll.pk, "option": second.pk})
    again = phone.post(reverse("supply:buy_vote"), {"poll": poll.pk, "option": first.pk}, follow=True)
    assert "您家已投过票" in again.content.decode()
    assert list(PollVote.objects.values_list("option_id", flat=True)) == [second.pk]
    # The building lead votes for a household of the grid, by building and room.
    lead = as_user(client.__class__(), world.grid_worker)
    lead.post(reverse("supply:poll_vote_for", args=[poll.pk]),
              {"building": world.building_a1.pk, "room": "302", "option": first.pk, "next": "for"})
    assert sorted(PollVote.objects.values_list("channel", flat=True)) == ["building_lead", "self"]
    # A tie: closed by hand, the lower price wins; one click opens orders on it.
    staff.post(reverse("supply:poll_act", args=[poll.pk]), {"action": "close"})
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED and poll.winner == second
    page = staff.get(reverse("supply:poll", args=[poll.pk])).content.decode()
    assert 'id="open-winner"' in page and "1(50%)" in page
    item = filings[1].items.get()
    response = staff.post(reverse("supply:offer_open", args=[filings[1].pk]), {
        "poll": poll.pk, f"available-{item.pk}": "5", f"cap-{item.pk}": "2", "orders_close_at": _later(8)})
    offer = Offer.objects.get()
    assert response["Location"] == reverse("supply:offer", args=[offer.pk])
    assert (offer.poll, offer.category) == (poll, "vegetables")
    # The losing filing may not open from the poll.
    loser = filings[0].items.get()
    staff.post(reverse("supply:offer_open", args=[filings[0].pk]), {
        "poll": poll.pk, f"available-{loser.pk}": "5", f"cap-{loser.pk}": "2", "orders_close_at": _later(8)})
    assert Offer.objects.count() == 1


@pytest.fixture
def offer(world, filings):
    filing = filings[0]
    item = filing.items.get()
    return orders.offer_open(actor=acting(world.staff_a1), filing=filing, terms={item.pk: (3, 2)},
                             orders_close_at=timezone.now() + dt.timedelta(hours=5))


def test_the_resident_orders_sees_and_cancels_on_the_phone(client, world, offer):
    item = offer.items.get()
    verified(client)
    home = client.get(reverse("supply:buy_home")).content.decode()
    assert "剩余 3 份,每户限 2 份" in home
    client.post(reverse("supply:buy_order"), {"offer": offer.pk, f"qty-{item.pk}": "2"})
    order = Order.objects.get()
    assert (order.household, order.channel, order.amount) == (world.household_a1b, "self", 120)
    home = client.get(reverse("supply:buy_home")).content.decode()
    assert f'id="my-order-{offer.pk}"' in home and "蔬菜套餐×2" in home
    client.post(reverse("supply:buy_cancel", args=[order.pk]))
    assert Order.objects.get().status == OrderStatus.CANCELLED and OfferItem.objects.get().ordered == 0
    # Another household's order is a 404.
    other = orders.order_place(actor=acting(world.grid_worker), offer=offer, household=world.household_a1,
                               items={str(item.pk): 1})
    assert client.post(reverse("supply:buy_cancel", args=[other.pk])).status_code == 404


def test_the_json_endpoint_orders_and_refuses_with_the_reason(client, world, offer):
    item = offer.items.get()
    verified(client)
    url = reverse("supply:buy_order_json")

    def post(body):
        return client.post(url, json.dumps(body), content_type="application/json")

    body = {"offer": offer.pk, "household": world.household_a1b.pk, "items": {str(item.pk): 2}}
    created = post(body)
    assert created.status_code == 201 and created.json() == {"order": Order.objects.get().pk}
    repeat = post(body)
    assert repeat.status_code == 409
    assert repeat.json() == {"detail": "您家已在这个团购下过单,如需修改请先取消原订单"}
    assert post({**body, "household": world.household_a1.pk}).status_code == 404
    assert post({"offer": offer.pk}).status_code == 422
    assert Order.objects.count() == 1 and OfferItem.objects.get().ordered == 2


def test_the_json_endpoint_leaves_the_session_row_alone(client, world, offer):
    from django.contrib.sessions.models import Session

    item = offer.items.get()
    verified(client)
    key = client.cookies["sessionid"].value
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(hours=1))
    before = Session.objects.get(pk=key).expire_date
    response = client.post(reverse("supply:buy_order_json"), json.dumps(
        {"offer": offer.pk, "household": world.household_a1b.pk, "items": {str(item.pk): 1}}),
        content_type="application/json")
    assert response.status_code == 201
    assert Session.objects.get(pk=key).expire_date == before
    client.get(reverse("supply:buy_home"))  # the pages still slide it
    assert Session.objects.get(pk=key).expire_date > before


def test_the_building_lead_orders_for_a_household_of_the_grid(client, world, offer):
    item = offer.items.get()
    lead = as_user(client, world.grid_worker)
    page = lead.get(reverse("supply:for_residents")).content.decode()
    assert f'id="for-offer-{offer.pk}"' in page
    lead.post(reverse("supply:order_for", args=[offer.pk]),
              {"building": world.building_a1.pk, "room": "302", f"qty-{item.pk}": "1", "next": "for"})
    order = Order.objects.get()
    assert (order.channel, order.placed_by, order.household) == ("building_lead", world.grid_worker,
                                                                 world.household_a1)
    # Outside the grid: refused with the reason, nothing written.
    response = lead.post(reverse("supply:order_for", args=[offer.pk]),
                         {"building": world.building_a1b.pk, "room": "101", f"qty-{item.pk}": "1", "next": "for"},
                         follow=True)
    assert "在您负责的范围内找不到这一户" in response.content.decode()
    assert Order.objects.count() == 1
    # Another committee's lead or staff: 404.
    other = as_user(client.__class__(), world.staff_a2)
    assert other.post(reverse("supply:order_for", args=[offer.pk]), {"building": 1, "room": "1"}).status_code == 404
    assert other.get(reverse("supply:offer", args=[offer.pk])).status_code == 404


def test_the_offer_pages_and_the_export(client, world, offer):
    item = offer.items.get()
    orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                       items={str(item.pk): 2})
    orders.order_place(actor=acting(world.grid_worker), offer=offer, household=world.household_a1,
                       items={str(item.pk): 1})
    staff = as_user(client, world.staff_a1)
    page = staff.get(reverse("supply:offer", args=[offer.pk])).content.decode()
    assert "订单 2 户" in page and "本人手机 1" in page and "楼组长代下单 1" in page
    assert '<td data-label="已订" class="ordered">3</td>' in page
    listing = staff.get(reverse("supply:offer_orders", args=[offer.pk])).content.decode()
    assert "李**" in listing and "李建国" not in listing and "楼组长代下单" in listing
    response = staff.get(reverse("supply:offer_orders_xlsx", args=[offer.pk]))
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=4, values_only=True))
    assert [(r[1], r[2], r[4]) for r in rows] == [("5号", "302", "蔬菜套餐×1"), ("6号", "101", "蔬菜套餐×2")]
    event = AuditEvent.objects.get(action="groupbuy_orders_export")
    assert (event.detail["rows"], event.personal) == (2, True)
    # Closed by hand: the phone page no longer offers it.
    staff.post(reverse("supply:offer_act", args=[offer.pk]), {"action": "close"})
    assert Offer.objects.get().status == "closed"
    assert f'id="offer-{offer.pk}"' not in verified(client.__class__()).get(reverse("supply:buy_home")).content.decode()


def test_the_filing_page_opens_orders_once_and_the_leader_sees_totals(client, world, offer, filings):
    staff = as_user(client, world.staff_a1)
    page = staff.get(reverse("supply:filing", args=[filings[1].pk])).content.decode()
    assert reverse("supply:offer_open", args=[filings[1].pk]) in page
    page = staff.get(reverse("supply:filing", args=[filings[0].pk])).content.decode()
    assert 'id="filing-offer"' in page
    item = offer.items.get()
    orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                       items={str(item.pk): 2})
    lead = verified(client.__class__())
    home = lead.get(reverse("supply:lead_home")).content.decode()
    assert f'id="lead-offer-{offer.pk}"' in home and "蔬菜套餐 <b>2</b>/3" in home
