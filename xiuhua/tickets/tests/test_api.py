"""The 12345 platform's side of work orders over the API: push an order, read it back."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.accounts.models import ApiToken, Membership
from xiuhua.core.models import AuditEvent
from xiuhua.residents.tests.test_api import JsonClient, as_session, as_token, key_for
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting
from xiuhua.tickets import services
from xiuhua.tickets.models import Ticket, TicketEvent

from .test_calendar import at, end_of

pytestmark = pytest.mark.django_db

URL = "/api/tickets/hotline"
TICKET_ENDPOINTS = [
    ("POST", "/api/tickets/hotline"),
    ("GET", "/api/tickets"),
    ("GET", "/api/tickets/{ticket_id}"),
]


def order(w, **extra):
    return {
        "external_number": "12345-20220401-0007",
        "received_at": "2022-04-01T18:20:00",  # no zone: Beijing time
        "deadline_class": "complaint",
        "category": "utilities",
        "description": "楼道停水两天",
        "requester_name": "王先生",
        "requester_phone": "021-65431234",
        "address": w.household_a1.address,
    } | extra


def snapshot():
    return (sorted(Ticket.objects.values_list("pk", "status", "external_number")), TicketEvent.objects.count(),
            AuditEvent.objects.filter(action__startswith="ticket_").count())


def test_a_pushed_order_is_placed_by_address_and_taken_once(world):
    street = as_token(world.street_officer)
    first = street.send("POST", URL, order(world))
    assert first.status_code == 201, first.content
    body = first.json()
    ticket = Ticket.objects.get()
    assert (ticket.household, ticket.committee, ticket.source, ticket.requester_phone) == (
        world.household_a1, world.committee_a1, "hotline", "021-65431234")
    # Received Friday 1 April 2022 evening; 2 April (Saturday) was worked, 3-5 April Qingming.
    assert ticket.received_at == at(2022, 4, 1, 18, 20) and ticket.deadline_at == end_of(2022, 4, 11)
    assert (body["number"], body["status"], body["committee"], body["handled_by"]) == (
        ticket.number, "received", world.committee_a1.name, "")
    assert "requester_phone" not in body and "王先生" not in first.content.decode()
    assert not OutboundSms.objects.exists()  # the hotline tells its caller itself

    again = street.send("POST", URL, order(world, description="改了的内容"))
    assert again.status_code == 200 and again.json()["id"] == ticket.pk
    assert Ticket.objects.count() == 1 and Ticket.objects.get().description == "楼道停水两天"


def test_the_committee_name_or_code_places_an_order_without_a_known_address(world):
    street = as_token(world.street_officer)
    by_name = street.send("POST", URL, order(world, external_number="A-1", address="某路100号", committee=(
        world.committee_a2.name)))
    assert by_name.status_code == 201 and Ticket.objects.get(external_number="A-1").committee == world.committee_a2
    by_code = street.send("POST", URL, order(world, external_number="A-2", address="", committee=(
        world.committee_a2.code)))
    assert by_code.status_code == 201 and Ticket.objects.get(external_number="A-2").household is None


@pytest.mark.parametrize("change, field", [
    ({"address": "火星路1号", "committee": ""}, "address"),
    ({"address": "", "committee": ""}, "address"),
    ({"address": "", "committee": "不存在居委会"}, "committee"),
    ({"received_at": (timezone.now() + dt.timedelta(hours=2)).isoformat()}, "received_at"),
    ({"requester_phone": "12ab"}, "requester_phone"),
    ({"deadline_class": "urgent-ish"}, "deadline_class"),
    ({"description": ""}, "description"),
    ({"colour": "red"}, "colour"),
])
def test_bad_orders_are_refused_by_field_and_write_nothing(world, change, field):
    before = snapshot()
    response = as_token(world.street_officer).send("POST", URL, order(world, **change))
    assert response.status_code == 422, response.content
    assert list(response.json()["detail"]) == [field]
    assert snapshot() == before


def test_who_may_push_and_what_each_sees(world):
    before = snapshot()
    assert JsonClient().send("POST", URL, order(world)).status_code == 401
    assert JsonClient(header="Bearer xh_forged").send("POST", URL, order(world)).status_code == 401
    # A committee token may not push orders for the street; a district token must name it.
    assert as_token(world.staff_a1).send("POST", URL, order(world)).status_code == 403
    district = JsonClient(key_for(world.district_officer))
    assert snapshot() == before

    created = as_token(world.street_officer).send("POST", URL, order(world)).json()
    # The other street cannot take the same hotline number, nor read the order.
    other = as_token(world.street_officer_b)
    clash = other.send("POST", URL, order(world, address="", committee=world.committee_b1.name))
    assert clash.status_code == 409 and "其他街道" in clash.json()["detail"]
    assert other.get(f"/api/tickets/{created['id']}").status_code == 404
    assert other.get("/api/tickets", {"external_number": "12345-20220401-0007"}).json()["total"] == 0
    assert as_token(world.staff_a2).get(f"/api/tickets/{created['id']}").status_code == 404
    assert as_token(world.staff_a1).get(f"/api/tickets/{created['id']}").status_code == 200
    assert district.get(f"/api/tickets/{created['id']}").status_code == 200


def test_the_platform_reads_back_the_steps_and_what_changed(world):
    street = as_token(world.street_officer)
    pushed = street.send("POST", URL, order(world, received_at=timezone.now().isoformat())).json()
    other = street.send("POST", URL, order(world, external_number="B-9", received_at=timezone.now().isoformat()))
    ticket = Ticket.objects.get(pk=pushed["id"])
    staff = acting(world.staff_a1)
    services.ticket_move(actor=staff, ticket=ticket, action="accept")
    services.ticket_move(actor=staff, ticket=ticket, action="dispatch", committee=world.committee_a1)
    services.ticket_move(actor=staff, ticket=ticket, action="start")
    services.ticket_move(actor=staff, ticket=ticket, action="reply", reply="已联系自来水公司修复")
    services.ticket_move(actor=staff, ticket=ticket, action="close")

    detail = street.get(f"/api/tickets/{ticket.pk}").json()
    assert [s["action"] for s in detail["steps"]] == ["create", "accept", "dispatch", "start", "reply", "close"]
    assert (detail["status"], detail["reply_text"], detail["handled_by"]) == (
        "closed", "已联系自来水公司修复", world.committee_a1.name)
    assert detail["closed_at"] is not None and "actor" not in detail["steps"][1]

    open_only = street.get("/api/tickets", {"status": "open"}).json()
    assert [t["id"] for t in open_only["items"]] == [other.json()["id"]]
    later = (timezone.now() + dt.timedelta(seconds=1)).isoformat()
    assert street.get("/api/tickets", {"changed_since": later}).json()["total"] == 0
    TicketEvent.objects.filter(ticket=ticket, action="close").update(at=timezone.now() + dt.timedelta(minutes=5))
    changed = street.get("/api/tickets", {"changed_since": later}).json()
    assert [t["number"] for t in changed["items"]] == [ticket.number]


@pytest.mark.parametrize(("method", "path"), TICKET_ENDPOINTS)
def test_every_ticket_operation_refuses_the_wrong_callers(world, method, path):
    ticket, _t = services.ticket_create(actor=acting(world.staff_a1), source="call", category="food",
                                        urgency="normal", description="缺米", committee=world.committee_a1)
    url = path.format(ticket_id=ticket.pk)
    body = order(world) if method == "POST" else None
    membership = Membership.objects.get(user=world.staff_a1)
    revoked, revoked_key = ApiToken.issue(membership, "revoked")
    revoked.revoked = True
    revoked.save()
    before = snapshot()
    for client in (JsonClient(), JsonClient(header=f"Bearer {revoked_key}"), JsonClient(header="Bearer xh_x")):
        assert client.call(method, url, body).status_code == 401
    for user in (world.volunteer, world.pharmacy_clerk, world.sysadmin, world.grid_worker):
        response = as_token(user).call(method, url, body)
        assert (response.status_code, response.json()["detail"]) == (403, "该角色不能使用接口")
    response = as_session(world.volunteer).call(method, url, body)
    assert response.status_code == 403
    assert snapshot() == before
