"""Votes, offers and orders of group buying: exact outcomes of the services."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db.models import F

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household
from xiuhua.supply import services
from xiuhua.supply import services_orders as orders
from xiuhua.supply.models import (
    Ban,
    Channel,
    Offer,
    OfferItem,
    OfferItemStripe,
    OfferStatus,
    Order,
    OrderLine,
    OrderStatus,
    PollStatus,
    PollVote,
    stripe_shares,
)
from xiuhua.testing import acting, make_resident

from .conftest import LEADER_PHONE, NOW, filing_data

pytestmark = pytest.mark.django_db

LATER = NOW + dt.timedelta(hours=8)


def approved(world, leader, **overrides):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(**overrides),
                                    now=NOW)
    return services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve", now=NOW)


@pytest.fixture
def two(world, documented):
    cheap = approved(world, documented, supplier="上海绿源合作社",
                     items=[{"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": "50",
                             "contents": "土豆 1kg"}])
    dear = approved(world, documented, items=[{"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": "60",
                                               "contents": "土豆 1kg"}])
    return dear, cheap


@pytest.fixture
def poll(world, two):
    return orders.poll_open(actor=acting(world.staff_a1), filings=list(two), category="vegetables",
                            title="蔬菜选哪家", closes_at=LATER, now=NOW)


def test_poll_needs_two_approved_filings_of_one_compound(world, documented):
    one = approved(world, documented)
    staff = acting(world.staff_a1)
    with pytest.raises(ValidationError) as exc:
        orders.poll_open(actor=staff, filings=[one], category="vegetables", title="t", closes_at=LATER, now=NOW)
    assert exc.value.message_dict["filings"] == ["请至少选择两个已通过的报备供居民投票"]
    waiting = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=documented, data=filing_data(), now=NOW)
    with pytest.raises(ValidationError) as exc:
        orders.poll_open(actor=staff, filings=[one, waiting], category="vegetables", title="t", closes_at=LATER,
                         now=NOW)
    assert exc.value.messages == [f"报备{waiting.number}尚未通过审核,不能开团"]
    with pytest.raises(PermissionDenied):
        orders.poll_open(actor=acting(world.staff_a2), filings=[one, one, waiting], category="vegetables", title="t",
                         closes_at=LATER, now=NOW)
    assert not AuditEvent.objects.filter(action="groupbuy_poll_open").exists()


def test_one_vote_per_household_whoever_votes(world, poll):
    first, second = poll.options.all()
    vote = orders.poll_vote(actor=None, poll=poll, option_id=first.pk, household=world.household_a1b,
                            phone=LEADER_PHONE, now=NOW)
    assert vote.channel == Channel.SELF and vote.resident == world.resident_a1b
    with pytest.raises(ValidationError) as exc:
        orders.poll_vote(actor=None, poll=poll, option_id=second.pk, household=world.household_a1b,
                         phone=LEADER_PHONE, now=NOW)
    assert exc.value.messages == ["您家已投过票"]
    # The building lead votes for a household of their grid (marked), not for one outside it.
    lead = acting(world.grid_worker)
    marked = orders.poll_vote(actor=lead, poll=poll, option_id=second.pk, household=world.household_a1, now=NOW)
    assert (marked.channel, marked.entered_by) == (Channel.BUILDING_LEAD, world.grid_worker)
    with pytest.raises(PermissionDenied):
        orders.poll_vote(actor=lead, poll=poll, option_id=second.pk, household=world.household_a1b, now=NOW)
    # Another phone is refused.
    with pytest.raises(PermissionDenied):
        orders.poll_vote(actor=None, poll=poll, option_id=first.pk, household=world.household_a1,
                         phone=LEADER_PHONE, now=NOW)
    assert orders.poll_counts(poll) == {first.pk: 1, second.pk: 1}
    assert AuditEvent.objects.filter(action="groupbuy_poll_vote").count() == 2
    with pytest.raises(ValidationError) as exc:
        orders.poll_vote(actor=None, poll=poll, option_id=first.pk, household=world.household_a1,
                         phone="13812345678", now=LATER)
    assert exc.value.messages == ["投票已截止"]


def test_tie_goes_to_the_lower_price_and_the_sweep_closes_on_time(world, poll, two):
    dear, cheap = two
    first, second = poll.options.all()
    assert (first.filing, second.filing) == (dear, cheap)
    orders.poll_vote(actor=None, poll=poll, option_id=first.pk, household=world.household_a1b, phone=LEADER_PHONE,
                     now=NOW)
    orders.poll_vote(actor=acting(world.grid_worker), poll=poll, option_id=second.pk, household=world.household_a1,
                     now=NOW)
    assert orders.sweep_due(now=LATER - dt.timedelta(minutes=1)) == (0, 0)
    assert orders.sweep_due(now=LATER) == (1, 0)
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED and poll.winner == second
    event = AuditEvent.objects.get(action="groupbuy_poll_close_on_time")
    assert event.detail["winner"] == cheap.pk
    assert orders.sweep_due(now=LATER) == (0, 0)


def test_no_votes_no_winner_and_closing_by_hand(world, poll):
    closed = orders.poll_close(actor=acting(world.staff_a1), poll=poll, now=NOW)
    assert closed.status == PollStatus.CLOSED and closed.winner is None


def test_a_poll_is_cancelled_with_a_reason(world, poll):
    staff = acting(world.staff_a1)
    with pytest.raises(ValidationError) as exc:
        orders.poll_cancel(actor=staff, poll=poll, reason=" ")
    assert exc.value.message_dict == {"reason": ["请填写取消的理由"]}
    cancelled = orders.poll_cancel(actor=staff, poll=poll, reason="供货商无法按时送达")
    assert cancelled.status == PollStatus.CANCELLED
    assert AuditEvent.objects.get(action="groupbuy_poll_cancel").reason == "供货商无法按时送达"
    with pytest.raises(PermissionDenied):
        orders.poll_cancel(actor=acting(world.grid_worker), poll=poll, reason="x")


@pytest.fixture
def offer(world, documented):
    filing = approved(world, documented)
    eggs, bundle = filing.items.all()
    return orders.offer_open(actor=acting(world.staff_a1), filing=filing, orders_close_at=LATER, category="meat",
                             terms={eggs.pk: ("10", "2"), bundle.pk: ("3", "1")}, now=NOW)


def test_offer_open_once_only_approved_and_not_banned(world, documented, offer):
    staff = acting(world.staff_a1)
    assert [(i.available, i.per_household, i.ordered) for i in offer.items.all()] == [(10, 2, 0), (3, 1, 0)]
    with pytest.raises(ValidationError) as exc:
        orders.offer_open(actor=staff, filing=offer.filing, terms={}, orders_close_at=LATER, now=NOW)
    assert exc.value.message_dict == {"items": ["请至少为一种商品填写可供份数"]}
    item = offer.filing.items.first()
    with pytest.raises(ValidationError) as exc:
        orders.offer_open(actor=staff, filing=offer.filing, terms={item.pk: (5, 1)}, orders_close_at=LATER, now=NOW)
    assert exc.value.messages == [f"报备{offer.filing.number}已经开过团,一个报备只能开团一次"]
    other = approved(world, documented)
    Ban.objects.create(street=world.street_a, committee=world.committee_a1, kind="supplier",
                       supplier="上海鲜达食品", supplier_key="上海鲜达食品", reason="缺斤少两")
    with pytest.raises(ValidationError) as exc:
        orders.offer_open(actor=staff, filing=other, terms={other.items.first().pk: (5, 1)}, orders_close_at=LATER,
                          now=NOW)
    assert exc.value.messages == [f"报备{other.number}的供货商已被列入禁入名单(缺斤少两)"]
    with pytest.raises(PermissionDenied):
        orders.offer_open(actor=acting(world.staff_a2), filing=other, terms={other.items.first().pk: (5, 1)},
                          orders_close_at=LATER, now=NOW)
    assert Offer.objects.count() == 1


def test_resident_order_takes_packs_and_cancel_gives_them_back(world, offer):
    eggs, bundle = offer.items.all()
    order = orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                               items={str(eggs.pk): "2", str(bundle.pk): "1"}, now=NOW)
    order = Order.objects.get(pk=order.pk)
    assert (order.channel, order.resident, order.building, order.amount) == (
        Channel.SELF, world.resident_a1b, world.building_a1b, Decimal("160.00"))
    assert sorted(OrderLine.objects.filter(order=order).values_list("item_id", "quantity", "price")) == [
        (eggs.pk, 2, Decimal("36.00")), (bundle.pk, 1, Decimal("88.00"))]
    assert [i.ordered for i in OfferItem.objects.with_ordered().order_by("pk")] == [2, 1]
    with pytest.raises(ValidationError) as exc:
        orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                           items={str(eggs.pk): "1"}, now=NOW)
    assert exc.value.messages == ["您家已在这个团购下过单,如需修改请先取消原订单"]
    orders.order_cancel(actor=None, order=order, phone=LEADER_PHONE, now=NOW)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert [i.ordered for i in OfferItem.objects.with_ordered().order_by("pk")] == [0, 0]
    again = orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                               items={str(eggs.pk): "1"}, now=NOW)
    assert again.pk != order.pk
    assert AuditEvent.objects.filter(action="groupbuy_order_place").count() == 2
    assert AuditEvent.objects.filter(action="groupbuy_order_cancel").count() == 1


def test_refusals_change_nothing_and_name_the_item(world, offer):
    eggs, bundle = offer.items.all()
    with pytest.raises(ValidationError) as exc:
        orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                           items={str(eggs.pk): "3"}, now=NOW)
    assert exc.value.messages == ["鸡蛋每户限购2份"]
    OfferItemStripe.objects.filter(item=bundle).update(ordered=F("available"))
    with pytest.raises(ValidationError) as exc:
        orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                           items={str(eggs.pk): "1", str(bundle.pk): "1"}, now=NOW)
    assert exc.value.messages == ["蔬菜套餐已订完,剩余0份"]
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert OfferItem.objects.get(pk=eggs.pk).ordered == 0
    with pytest.raises(ValidationError) as exc:
        orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                           items={str(eggs.pk): "0"}, now=NOW)
    assert exc.value.message_dict == {"items": ["请至少选择一种商品"]}
    with pytest.raises(ValidationError) as exc:
        orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                           items={str(eggs.pk): "1"}, now=LATER)
    assert exc.value.messages == ["该团购已截单,不能再下单或取消"]
    with pytest.raises(PermissionDenied):
        orders.order_place(actor=None, offer=offer, household=world.household_a1, phone=LEADER_PHONE,
                           items={str(eggs.pk): "1"}, now=NOW)
    with pytest.raises(PermissionDenied):
        orders.order_place(actor=None, offer=offer, household=world.household_a2, phone="13700001111",
                           items={str(eggs.pk): "1"}, now=NOW)
    assert not Order.objects.exists() and not AuditEvent.objects.filter(action="groupbuy_order_place").exists()


def test_building_lead_and_staff_order_for_households(world, offer):
    eggs = offer.items.first()
    lead, staff = acting(world.grid_worker), acting(world.staff_a1)
    household = orders.household_at(lead, building_id=world.building_a1.pk, room="302室")
    by_lead = orders.order_place(actor=lead, offer=offer, household=household, items={str(eggs.pk): 1}, now=NOW)
    # Named by default for the head of the household (test_lead_label.py has the choice).
    assert (by_lead.channel, by_lead.placed_by, by_lead.resident) == (Channel.BUILDING_LEAD, world.grid_worker,
                                                                      world.resident_a1)
    with pytest.raises(ValidationError) as exc:
        orders.household_at(lead, building_id=world.building_a1b.pk, room="101")
    assert exc.value.message_dict == {"room": ["在您负责的范围内找不到这一户,请核对楼号和室号"]}
    by_staff = orders.order_place(actor=staff, offer=offer, household=world.household_a1b, items={str(eggs.pk): 2},
                                  now=NOW)
    assert (by_staff.channel, by_staff.placed_by) == (Channel.STAFF_PHONE, world.staff_a1)
    assert OfferItem.objects.get(pk=eggs.pk).ordered == 3
    orders.order_cancel(actor=lead, order=by_lead, now=NOW)
    assert OfferItem.objects.get(pk=eggs.pk).ordered == 2
    assert AuditEvent.objects.filter(action="groupbuy_order_cancel_for").count() == 1
    with pytest.raises(PermissionDenied):
        orders.order_place(actor=acting(world.staff_a2), offer=offer, household=world.household_a1b,
                           items={str(eggs.pk): 1}, now=NOW)


def test_offer_closes_on_time_by_the_command(world, offer, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: LATER + dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("groupbuy_orders_sweep", stdout=out)
    assert out.getvalue() == "group-buy polls closed: 0; offers closed: 1\n"
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CLOSED
    assert AuditEvent.objects.filter(action="groupbuy_offer_close_on_time").count() == 1


def test_a_mobile_on_two_households(world, offer):
    other = Household.objects.create(building=world.building_a1, room="303", grid=world.grid_a1)
    make_resident(other, "李小明", mobile=LEADER_PHONE)
    assert list(orders.phone_households(LEADER_PHONE)) == [world.household_a1b, other] or \
        set(orders.phone_households(LEADER_PHONE)) == {world.household_a1b, other}
    eggs = offer.items.first()
    for household in (world.household_a1b, other):
        orders.order_place(actor=None, offer=offer, household=household, phone=LEADER_PHONE,
                           items={str(eggs.pk): 1}, now=NOW)
    assert Order.objects.filter(offer=offer).count() == 2 and PollVote.objects.count() == 0


def test_packs_are_split_over_stripes_and_an_order_takes_the_last_ones_wherever_they_are(world, documented):
    assert [len(stripe_shares(n)) for n in (1, 31, 64, 100, 512, 100_000)] == [1, 1, 2, 3, 16, 16]
    assert stripe_shares(100) == [34, 33, 33] and sum(stripe_shares(100_000)) == 100_000
    filing = approved(world, documented)
    eggs, bundle = filing.items.all()
    offer = orders.offer_open(actor=acting(world.staff_a1), filing=filing, orders_close_at=LATER, category="meat",
                              terms={eggs.pk: ("100", "2")}, now=NOW)
    item = offer.items.get()
    stripes = OfferItemStripe.objects.filter(item=item).order_by("stripe")
    assert (item.stripes, list(stripes.values_list("available", flat=True))) == (3, [34, 33, 33])
    # One pack left in stripes 0 and 2 only: a household ordering 2 gets both, whatever its own stripe.
    stripes.update(ordered=F("available"))
    stripes.exclude(stripe=1).update(ordered=F("available") - 1)
    household = world.household_a1b
    assert household.pk % 3 in (0, 1, 2)
    order = orders.order_place(actor=None, offer=offer, household=household, phone=LEADER_PHONE,
                               items={str(item.pk): "2"}, now=NOW)
    assert list(stripes.values_list("ordered", flat=True)) == [34, 33, 33]
    assert OfferItem.objects.with_ordered().get(pk=item.pk).ordered == 100
    orders.order_cancel(actor=None, order=order, phone=LEADER_PHONE, now=NOW)
    assert sum(stripes.values_list("ordered", flat=True)) == 98 and item.ordered == 98
