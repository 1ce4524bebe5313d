"""Cancelling an offer (取消接龙): a reason or nothing changes; the offer, every live order, the
packs and one text per household in one transaction; once only; a cancelled offer takes no order
by any path; and the same under real parallel transactions (PostgreSQL)."""

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household
from xiuhua.sms.models import OutboundSms
from xiuhua.supply import services
from xiuhua.supply import services_orders as orders
from xiuhua.supply.models import Offer, OfferItem, OfferItemStripe, OfferStatus, Order, OrderLine, OrderStatus
from xiuhua.testing import acting, as_user, build_world, make_resident, run_parallel

from .conftest import LEADER_PHONE, add_documents, filing_data
from .test_views import verified

REASON = "供货商车辆被拦,无法送达"
TEXT = ("【绣花针】您在国和一村的团购“上海鲜达食品有限公司 鸡蛋”已取消,原因:供货商车辆被拦,无法送达。"
        "您的订单已随之取消,不会送货。")


def _approved(world, leader, **overrides):
    now = timezone.now()
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader,
                                    data=filing_data(now=now, **overrides), now=now)
    return services.filing_decide(actor=acting(world.staff_a1), filing=filing, action="approve", now=now)


def _offer(world, leader, eggs_packs=100):
    """Eggs (100 packs: three stripes) and the vegetable bundle (3 packs: one stripe), open for 5 hours."""
    filing = _approved(world, leader)
    eggs, bundle = filing.items.all()
    return orders.offer_open(actor=acting(world.staff_a1), filing=filing,
                             terms={eggs.pk: (eggs_packs, 3), bundle.pk: (3, 1)},
                             orders_close_at=timezone.now() + dt.timedelta(hours=5))


def _stripes(offer):
    return list(OfferItemStripe.objects.filter(item__offer=offer).order_by("item_id", "stripe")
                .values_list("ordered", "available"))


def _live_packs(offer):
    """Packs of the live lines per item: what the stripes must count."""
    counts = {item.pk: 0 for item in offer.items.all()}
    for item_id, quantity in OrderLine.objects.filter(order__offer=offer).exclude(
            order__status=OrderStatus.CANCELLED).values_list("item_id", "quantity"):
        counts[item_id] += quantity
    return counts


def _counted(offer):
    return {item.pk: item.ordered for item in OfferItem.objects.filter(offer=offer).with_ordered()}


@pytest.mark.django_db
class TestServices:
    @pytest.fixture
    def placed(self, world, leader):
        """Four orders: 6号101 from its own phone (李建国), 5号302 by the building lead (named for
        its head 张秀英, who has a mobile), 5号1201 by staff on a call (its only resident has no
        mobile), and 5号1202 from its phone, then cancelled by the resident (not live)."""
        add_documents(leader, now=timezone.now())
        offer = _offer(world, leader)
        eggs, bundle = offer.items.all()
        no_mobile = Household.objects.create(building=world.building_a1, room="1201", grid=world.grid_a1)
        make_resident(no_mobile, "陈阿婆", sex="F")
        gone = Household.objects.create(building=world.building_a1, room="1202", grid=world.grid_a1)
        make_resident(gone, "周明", mobile="13911112222")
        own = orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                                 items={str(eggs.pk): 2, str(bundle.pk): 1})
        lead = orders.order_place(actor=acting(world.grid_worker), offer=offer, household=world.household_a1,
                                  items={str(eggs.pk): 3})
        call = orders.order_place(actor=acting(world.staff_a1), offer=offer, household=no_mobile,
                                  items={str(eggs.pk): 1, str(bundle.pk): 1})
        cancelled = orders.order_place(actor=None, offer=offer, household=gone, phone="13911112222",
                                       items={str(eggs.pk): 1})
        orders.order_cancel(actor=None, order=cancelled, phone="13911112222")
        return offer, (own, lead, call, cancelled)

    def test_a_reason_is_required_and_nothing_changes_without_it(self, world, placed):
        offer, _orders = placed
        before = (_stripes(offer), list(Order.objects.order_by("pk").values_list("status", flat=True)),
                  AuditEvent.objects.count(), OutboundSms.objects.count())
        for reason in ("", "   "):
            with pytest.raises(ValidationError) as exc:
                orders.offer_cancel(actor=acting(world.staff_a1), offer=offer, reason=reason)
            assert exc.value.message_dict == {"reason": ["请填写取消接龙的理由,居民会在短信里看到"]}
        assert Offer.objects.get(pk=offer.pk).status == OfferStatus.OPEN
        assert (_stripes(offer), list(Order.objects.order_by("pk").values_list("status", flat=True)),
                AuditEvent.objects.count(), OutboundSms.objects.count()) == before

    def test_the_offer_its_orders_packs_and_texts_in_one_go(self, world, placed):
        offer, (own, lead, call, cancelled) = placed
        eggs, bundle = offer.items.all()
        assert _counted(offer) == _live_packs(offer) == {eggs.pk: 6, bundle.pk: 2}
        done = orders.offer_cancel(actor=acting(world.staff_a1), offer=offer, reason=f"  {REASON} ")
        assert done.status == OfferStatus.CANCELLED
        assert Offer.objects.get(pk=offer.pk).status == OfferStatus.CANCELLED
        assert {o.pk: o.status for o in Order.objects.all()} == {
            own.pk: OrderStatus.CANCELLED, lead.pk: OrderStatus.CANCELLED, call.pk: OrderStatus.CANCELLED,
            cancelled.pk: OrderStatus.CANCELLED}
        # The packs are back: the stripes count the live lines (none), and hold none to take.
        assert _counted(offer) == _live_packs(offer) == {eggs.pk: 0, bundle.pk: 0}
        assert _stripes(offer) == [(0, 0)] * 4
        assert [i.available for i in offer.items.order_by("position")] == [100, 3]  # what was offered stays
        # One text to each household whose order names a resident with a mobile: the own phone's
        # and the head 张秀英's; none for 陈阿婆 (no mobile) or the order cancelled before.
        texts = OutboundSms.objects.filter(purpose="groupbuy_offer_cancelled").order_by("phone")
        assert [(t.phone, t.text, t.idempotency_key) for t in texts] == [
            ("13812340000", TEXT, f"groupbuy-offer-cancelled:{own.pk}"),
            ("13812345678", TEXT, f"groupbuy-offer-cancelled:{lead.pk}")]
        event = AuditEvent.objects.get(action="groupbuy_offer_cancel")
        assert (event.actor, event.object_id, event.reason) == (world.staff_a1, offer.pk, REASON)
        assert event.detail == {"from": "open", "to": "cancelled", "orders": 3, "texts": 2,
                                "packs": {str(eggs.pk): 6, str(bundle.pk): 2},
                                "counted": {str(eggs.pk): 6, str(bundle.pk): 2}}
        batch = AuditEvent.objects.get(action="groupbuy_order_cancel", detail__offer=offer.pk)
        assert (batch.actor, batch.committee_id, batch.subject_label) == (None, world.committee_a1.pk, offer.title)
        assert batch.detail == {"to": "cancelled", "count": 3, "offer": offer.pk, "reason": REASON}
        # The resident's own earlier cancel is the only other order event.
        assert AuditEvent.objects.filter(action="groupbuy_order_cancel").count() == 2

    def test_a_second_cancel_changes_nothing(self, world, placed):
        offer, _orders = placed
        staff = acting(world.staff_a1)
        orders.offer_cancel(actor=staff, offer=offer, reason=REASON)
        before = (AuditEvent.objects.count(), OutboundSms.objects.count(), _stripes(offer))
        with pytest.raises(ValidationError) as exc:
            orders.offer_cancel(actor=staff, offer=offer, reason=REASON)
        assert exc.value.messages == ["当前为“已取消”,不能取消接龙"]
        assert (AuditEvent.objects.count(), OutboundSms.objects.count(), _stripes(offer)) == before
        assert AuditEvent.objects.filter(action="groupbuy_offer_cancel").count() == 1

    def test_a_cancelled_offer_takes_no_order(self, world, placed):
        offer, _orders = placed
        eggs = offer.items.first()
        orders.offer_cancel(actor=acting(world.staff_a1), offer=offer, reason=REASON)
        offer = Offer.objects.get(pk=offer.pk)
        for actor, household, phone in ((None, world.household_a1b, LEADER_PHONE),
                                        (acting(world.grid_worker), world.household_a1, ""),
                                        (acting(world.staff_a1), world.household_a1, "")):
            with pytest.raises(ValidationError) as exc:
                orders.order_place(actor=actor, offer=offer, household=household, phone=phone,
                                   items={str(eggs.pk): 1})
            assert exc.value.messages == ["该团购已取消,不能下单"]
        # The one-statement path and its fallback, as the JSON endpoint calls them.
        with pytest.raises(ValidationError) as exc:
            orders.order_fast_or_place(offer_id=offer.pk, household_id=world.household_a1b.pk,
                                       items={str(eggs.pk): 1}, phone=LEADER_PHONE)
        assert exc.value.messages == ["该团购已取消,不能下单"]
        assert not Order.objects.filter(status=OrderStatus.PLACED).exists()
        assert _counted(offer) == {item.pk: 0 for item in offer.items.all()}

    def test_a_closed_offer_can_be_cancelled_an_arrived_one_cannot(self, world, placed):
        offer, _orders = placed
        staff = acting(world.staff_a1)
        orders.offer_close(actor=staff, offer=offer)
        orders.offer_cancel(actor=staff, offer=offer, reason=REASON)
        assert Offer.objects.get(pk=offer.pk).status == OfferStatus.CANCELLED
        assert not Order.objects.filter(status=OrderStatus.PLACED).exists()
        assert AuditEvent.objects.get(action="groupbuy_offer_cancel").detail["from"] == "closed"

    def test_only_the_committee_running_group_buys_cancels(self, world, placed):
        offer, _orders = placed
        before = (AuditEvent.objects.count(), OutboundSms.objects.count(), _stripes(offer))
        for user in (world.grid_worker, world.volunteer, world.staff_a2, world.street_officer):
            with pytest.raises(PermissionDenied):
                orders.offer_cancel(actor=acting(user), offer=offer, reason=REASON)
        with pytest.raises(PermissionDenied):
            orders.offer_cancel(actor=None, offer=offer, reason=REASON)
        assert Offer.objects.get(pk=offer.pk).status == OfferStatus.OPEN
        assert Order.objects.filter(status=OrderStatus.PLACED).count() == 3
        assert (AuditEvent.objects.count(), OutboundSms.objects.count(), _stripes(offer)) == before


@pytest.mark.django_db
class TestPages:
    @pytest.fixture
    def offer(self, world, leader):
        add_documents(leader, now=timezone.now())
        offer = _offer(world, leader)
        eggs = offer.items.first()
        orders.order_place(actor=None, offer=offer, household=world.household_a1b, phone=LEADER_PHONE,
                           items={str(eggs.pk): 2})
        return offer

    def test_the_offer_page_cancels_with_a_reason_once(self, client, world, offer):
        staff = as_user(client, world.staff_a1)
        url = reverse("supply:offer", args=[offer.pk])
        page = staff.get(url).content.decode()
        assert 'id="cancel-offer-form"' in page and 'id="cancel-reason"' in page
        act = reverse("supply:offer_act", args=[offer.pk])
        refused = staff.post(act, {"action": "cancel", "reason": " "}, follow=True).content.decode()
        assert "请填写取消接龙的理由,居民会在短信里看到" in refused
        assert Offer.objects.get(pk=offer.pk).status == OfferStatus.OPEN
        assert not AuditEvent.objects.filter(action="groupbuy_offer_cancel").exists()
        done = staff.post(act, {"action": "cancel", "reason": REASON}, follow=True).content.decode()
        assert "接龙已取消:1户的订单随之取消,份数已退回。已给1户发短信。" in done
        assert f"理由:{REASON}" in done and 'id="cancel-offer-form"' not in done
        # Nothing is left to order: no pack count is shown as left.
        left_cells = re.findall(r'data-label="剩余">([^<]*)</td>', done)
        assert left_cells and set(left_cells) == {"—"}
        # The form submitted twice: told it is cancelled, nothing done again.
        again = staff.post(act, {"action": "cancel", "reason": REASON}, follow=True).content.decode()
        assert "该接龙已经取消" in again
        assert AuditEvent.objects.filter(action="groupbuy_offer_cancel").count() == 1
        assert OutboundSms.objects.filter(purpose="groupbuy_offer_cancelled").count() == 1
        assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.CANCELLED]

    def test_the_cancel_reads_in_english_too(self, client, world, offer):
        staff = as_user(client, world.staff_a1)
        staff.cookies["django_language"] = "en"
        page = staff.get(reverse("supply:offer", args=[offer.pk])).content.decode()
        assert "Cancelling cancels the order of 1 household and returns its packs" in page
        act = reverse("supply:offer_act", args=[offer.pk])
        refused = staff.post(act, {"action": "cancel", "reason": ""}, follow=True).content.decode()
        assert "Enter the reason for cancelling the group order" in refused
        done = staff.post(act, {"action": "cancel", "reason": REASON}, follow=True).content.decode()
        assert ("Group order cancelled: the order of 1 household was cancelled with it and its packs returned. "
                "1 household was sent a text message.") in done
        assert f"Reason: {REASON}" in done

    def test_who_may_not_cancel_is_refused_and_nothing_written(self, client, world, offer):
        act = reverse("supply:offer_act", args=[offer.pk])
        for user in (world.grid_worker, world.volunteer, world.street_officer):
            assert as_user(client.__class__(), user).post(act, {"action": "cancel", "reason": REASON}).status_code \
                == 403
        assert as_user(client.__class__(), world.staff_a2).post(
            act, {"action": "cancel", "reason": REASON}).status_code == 404
        assert Offer.objects.get(pk=offer.pk).status == OfferStatus.OPEN
        assert not AuditEvent.objects.filter(action="groupbuy_offer_cancel").exists()

    def test_a_cancelled_offer_is_refused_on_the_json_endpoint_and_the_forms(self, client, world, offer):
        eggs = offer.items.first()
        orders.offer_cancel(actor=acting(world.staff_a1), offer=offer, reason=REASON)
        verified(client)
        response = client.post(reverse("supply:buy_order_json"), json.dumps(
            {"offer": offer.pk, "household": world.household_a1b.pk, "items": {str(eggs.pk): 1}}),
            content_type="application/json")
        assert (response.status_code, response.json()) == (409, {"detail": "该团购已取消,不能下单"})
        page = client.post(reverse("supply:buy_order"), {"offer": offer.pk, "household": world.household_a1b.pk,
                                                         f"qty-{eggs.pk}": "1"}, follow=True).content.decode()
        assert "该团购已取消,不能下单" in page
        lead = as_user(client.__class__(), world.grid_worker)
        page = lead.post(reverse("supply:order_for", args=[offer.pk]), {
            "building": world.building_a1.pk, "room": "302", f"qty-{eggs.pk}": "1", "next": "for"},
            follow=True).content.decode()
        assert "该团购已取消,不能下单" in page
        assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.CANCELLED]
        assert _counted(offer) == {item.pk: 0 for item in offer.items.all()}


# ---------------------------------------------------------------------------------------------
# Real parallel transactions (PostgreSQL)


def _race_world(households: int):
    world = build_world()
    leader = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    services.leader_decide(actor=acting(world.staff_a1), leader=leader, action="approve")
    add_documents(leader, now=timezone.now())
    offer = _offer(world, leader, eggs_packs=512)  # 16 stripes
    made = []
    for n in range(households):
        household = Household.objects.create(building=world.building_a1, room=f"{2001 + n}", grid=world.grid_a1)
        make_resident(household, f"住户{n}", mobile=f"1392000{n:04d}")
        made.append(household)
    return world, offer, made


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_orders_racing_the_cancel_leave_no_live_order_and_the_packs_straight():
    world, offer, households = _race_world(24)
    eggs = offer.items.first()
    staff = acting(world.staff_a1)
    for household in households[:8]:  # placed before
        orders.order_place(actor=None, offer=offer, household=household, phone=household.residents.get().mobile,
                           items={str(eggs.pk): 2})

    def act(i):
        if i == 0:
            return orders.offer_cancel(actor=staff, offer=offer, reason=REASON)
        household = households[7 + i]
        return orders.order_place(actor=None, offer=offer, household=household,
                                  phone=household.residents.get().mobile, items={str(eggs.pk): 1})

    results = run_parallel(act, 17)
    assert isinstance(results[0], Offer), results[0]
    assert not [r for r in results if not isinstance(r, Offer | Order | ValidationError)], results
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert {tuple(r.messages) for r in refused} <= {("该团购已取消,不能下单",)}
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.CANCELLED
    assert not Order.objects.filter(offer=offer, status=OrderStatus.PLACED).exists()
    assert _counted(offer) == _live_packs(offer) == {item.pk: 0 for item in offer.items.all()}
    cancelled = Order.objects.filter(offer=offer, status=OrderStatus.CANCELLED)
    event = AuditEvent.objects.get(action="groupbuy_offer_cancel")
    assert event.detail["orders"] == cancelled.count() == event.detail["texts"]
    assert OutboundSms.objects.filter(purpose="groupbuy_offer_cancelled").count() == cancelled.count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_cancels_at_once_cancel_once():
    world, offer, households = _race_world(3)
    eggs = offer.items.first()
    for household in households:
        orders.order_place(actor=None, offer=offer, household=household, phone=household.residents.get().mobile,
                           items={str(eggs.pk): 1})
    staff = acting(world.staff_a1)
    results = run_parallel(lambda i: orders.offer_cancel(actor=staff, offer=offer, reason=REASON), 2)
    assert sorted(type(r).__name__ for r in results) == ["Offer", "ValidationError"], results
    assert AuditEvent.objects.filter(action="groupbuy_offer_cancel").count() == 1
    assert AuditEvent.objects.filter(action="groupbuy_order_cancel").count() == 1
    assert OutboundSms.objects.filter(purpose="groupbuy_offer_cancelled").count() == 3
    assert _counted(offer) == {item.pk: 0 for item in offer.items.all()}
