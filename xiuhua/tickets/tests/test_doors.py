"""Printable door sheets: who may list and print them, and one card (QR of the door URL) per
household."""

import re

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.places.models import Kind
from xiuhua.residents.models import Household
from xiuhua.testing import acting, make_user, qr_codes_in_pdf, unit
from xiuhua.tickets import printing
from xiuhua.tickets.door import door_key, door_path
from xiuhua.tickets.printing import DoorCard, door_sheet_pdf, room_order
from xiuhua.tickets.services_doors import door_sheet_print

pytestmark = pytest.mark.django_db


def sheet(building):
    return reverse("tickets_doors:sheet", args=[building.pk])


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page[^s]", pdf))


@pytest.fixture
def drawn(monkeypatch):
    """What the sheet drew: the QR payloads and the cards, in order."""
    seen = {"qr": [], "cards": []}
    draw_qr, draw_card = printing.draw_qr, printing._draw_card

    def spy_qr(c, payload, *args):
        seen["qr"].append(payload)
        return draw_qr(c, payload, *args)

    def spy_card(c, card, *args):
        seen["cards"].append(card)
        return draw_card(c, card, *args)

    monkeypatch.setattr(printing, "draw_qr", spy_qr)
    monkeypatch.setattr(printing, "_draw_card", spy_card)
    return seen


def test_anonymous_is_sent_to_login(client, world):
    for url in (reverse("tickets_doors:list"), sheet(world.building_a1)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_roles_without_record_ticket_are_refused(client, world):
    department_staff = make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a)
    for user in (world.grid_worker, world.volunteer, world.pharmacy_clerk, world.district_officer, department_staff,
                 world.no_role):
        client.force_login(user)
        for url in (reverse("tickets_doors:list"), sheet(world.building_a1)):
            assert client.get(url).status_code == 403, (user, url)
    assert not AuditEvent.objects.filter(action="ticket_door_sheet").exists()


def test_another_committee_or_street_gets_404(client, world):
    for user, building in ((world.staff_b1, world.building_a1), (world.staff_a2, world.building_a1),
                           (world.street_officer_b, world.building_a2), (world.staff_a1, world.compound_a1)):
        client.force_login(user)
        assert client.get(sheet(building)).status_code == 404, (user, building)
    assert client.get(reverse("tickets_doors:sheet", args=[999999])).status_code == 404
    client.force_login(world.street_officer)
    assert client.get(reverse("tickets_doors:list"), {"c": world.committee_b1.pk}).status_code == 404
    assert not AuditEvent.objects.filter(action="ticket_door_sheet").exists()


def test_committee_staff_list_their_buildings(client, world):
    client.force_login(world.staff_a1)
    response = client.get(reverse("tickets_doors:list"))
    assert response.status_code == 200
    assert [b.pk for b in response.context["buildings"]] == [world.building_a1.pk, world.building_a1b.pk]
    text = response.content.decode()
    assert sheet(world.building_a1) in text and sheet(world.building_a2) not in text


def test_a_street_officer_picks_a_committee(client, world):
    client.force_login(world.street_officer)
    response = client.get(reverse("tickets_doors:list"))
    assert [c.pk for c, _n in response.context["committees"]] == [world.committee_a1.pk, world.committee_a2.pk]
    assert response.context["buildings"] == []
    response = client.get(reverse("tickets_doors:list"), {"c": world.committee_a2.pk})
    assert [b.pk for b in response.context["buildings"]] == [world.building_a2.pk]
    assert client.get(sheet(world.building_a2)).status_code == 200


def test_the_sheet_has_one_card_per_household_with_its_door_url(client, world, drawn):
    rooms = ["1001", "101", "2", "A-3", "202", "102", "301", "302A", "401", "501", "601"]
    for room in rooms:
        Household.objects.create(building=world.building_a1, room=room)
    households = list(Household.objects.filter(building=world.building_a1))
    assert len(households) == 12  # with 302 of the world
    client.force_login(world.staff_a1)
    response = client.get(sheet(world.building_a1))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF") and pages(pdf) == 2  # ten cards a page
    assert len(drawn["cards"]) == 12
    assert {c.key for c in drawn["cards"]} == {door_key(h.pk) for h in households}
    assert [c.room for c in drawn["cards"]] == ["2", "101", "102", "202", "301", "302", "302A", "401", "501", "601",
                                                "1001", "A-3"]
    by_key = {door_key(h.pk): h for h in households}
    for card, payload in zip(drawn["cards"], drawn["qr"], strict=True):
        assert payload == card.url == settings.PUBLIC_BASE_URL + door_path(by_key[card.key].pk)
        assert (card.compound, card.building) == ("国和一村", "5号")
    # The URL on the card opens that household's request page.
    client.logout()
    card = drawn["cards"][0]
    page = client.get(card.url.removeprefix(settings.PUBLIC_BASE_URL))
    assert page.status_code == 200 and page.context["household"] == by_key[card.key]
    event = AuditEvent.objects.get(action="ticket_door_sheet")
    assert (event.actor, event.object_id, event.detail) == (world.staff_a1, world.building_a1.pk, {"households": 12})


def test_a_grid_limited_membership_prints_its_grid_only(client, world, drawn):
    staff = make_user("staff_grid", Role.COMMITTEE_STAFF, world.committee_a1, grid=world.grid_a1)
    assert Membership.objects.get(user=staff).grid == world.grid_a1
    Household.objects.create(building=world.building_a1, room="999")  # in no grid
    client.force_login(staff)
    assert client.get(sheet(world.building_a1)).status_code == 200
    assert [c.room for c in drawn["cards"]] == ["302"]


def test_an_empty_building_gives_one_page_saying_so():
    pdf = door_sheet_pdf([], title="空楼")
    assert pdf.startswith(b"%PDF") and pages(pdf) == 1


def test_long_addresses_still_make_a_pdf():
    card = DoorCard(compound="康城小区(莘庄镇)第三期东区" * 3, building="286号" * 4, room="12034" * 3,
                    key="123456789-ABCDEFGH", url="http://example.org/help/d/123456789-ABCDEFGH/")
    assert door_sheet_pdf([card] * 21, title="长地址").startswith(b"%PDF")


def test_room_order_is_natural():
    assert sorted(["10", "9", "B2", "101", "1-2", "1-10"], key=room_order) == ["1-2", "1-10", "9", "10", "101", "B2"]


def test_the_service_audits_each_sheet_and_refuses_a_role_without_record_ticket(world):
    with pytest.raises(PermissionDenied):
        door_sheet_print(actor=acting(world.grid_worker), building=world.building_a1)
    assert not AuditEvent.objects.filter(action="ticket_door_sheet").exists()
    assert door_sheet_print(actor=acting(world.staff_a1), building=world.building_a1).startswith(b"%PDF")
    event = AuditEvent.objects.get(action="ticket_door_sheet")
    assert (event.actor, event.object_id, event.detail) == (world.staff_a1, world.building_a1.pk, {"households": 1})


def test_every_card_on_the_sheet_is_a_qr_code_a_phone_reads_as_its_door_url(client, world):
    """The printed sheet itself, rendered and read by a real decoder: one full QR code per card,
    each the door URL of its household, ten cards a page."""
    for room in ["101", "102", "201", "202", "301", "401", "501", "601", "701", "801", "901"]:
        Household.objects.create(building=world.building_a1, room=room)
    households = Household.objects.filter(building=world.building_a1)
    client.force_login(world.staff_a1)
    response = client.get(sheet(world.building_a1))
    assert response["Content-Type"] == "application/pdf"
    found = qr_codes_in_pdf(response.content)
    assert [len(page) for page in found] == [10, 2]
    assert {code for page in found for code in page} == {
        ("QRCode", settings.PUBLIC_BASE_URL + door_path(h.pk)) for h in households}


# ---------------------------------------------------------------- a committee's sheets at once


def committee_sheets(committee):
    return reverse("tickets_doors:committee_sheets", args=[committee.pk])


def test_all_buildings_of_a_committee_print_in_one_pdf_each_qr_read_as_its_door_url(client, world, drawn):
    """Buildings in natural order (1号 before 5号 before 19号), each from a new page; every card a
    full QR code that a real decoder reads as its household's door URL; one audit event."""
    w = world
    b19, b1 = unit(Kind.BUILDING, "19号", w.compound_a1), unit(Kind.BUILDING, "1号", w.compound_a1)
    unit(Kind.BUILDING, "7号", w.compound_a1)  # no households: left out
    for building, rooms in ((b19, ["101", "102"]), (b1, ["201"]), (w.building_a1, [str(100 + i) for i in range(10)])):
        for room in rooms:
            Household.objects.create(building=building, room=room)
    client.force_login(w.staff_a1)
    listing = client.get(reverse("tickets_doors:list"))
    assert [b.name for b in listing.context["buildings"]] == ["1号", "5号", "6号", "7号", "19号"]
    assert re.findall(r'class="index">(\d+)</td>', listing.content.decode()) == ["1", "2", "3", "4", "5"]
    assert committee_sheets(w.committee_a1) in listing.content.decode()
    assert "打印全部楼栋的求助卡(PDF,共 15 户)" in listing.content.decode()
    response = client.get(committee_sheets(w.committee_a1))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    households = Household.objects.filter(committee_id=w.committee_a1.pk).select_related("building")
    assert households.count() == 15
    # 1号: 1 card; 5号: 11 cards (2 pages); 6号: 1; 19号: 2 -> five pages, a building per page start.
    assert [c.building for c in drawn["cards"]] == ["1号"] + ["5号"] * 11 + ["6号"] + ["19号"] * 2
    found = qr_codes_in_pdf(response.content)
    assert [len(page) for page in found] == [1, 10, 1, 1, 2]
    assert [code for page in found for code in page] == [
        ("QRCode", settings.PUBLIC_BASE_URL + door_path(int(card.key.split("-")[0]))) for card in drawn["cards"]]
    assert {card.key for card in drawn["cards"]} == {door_key(h.pk) for h in households}
    event = AuditEvent.objects.get(action="ticket_door_sheets")
    assert (event.actor, event.object_id, event.detail) == (
        w.staff_a1, w.committee_a1.pk, {"buildings": 4, "households": 15})


def test_a_committee_outside_the_users_unit_is_404_and_roles_without_record_ticket_403(client, world):
    for user, committee in ((world.staff_a2, world.committee_a1), (world.street_officer_b, world.committee_a1),
                            (world.staff_a1, world.street_a)):
        client.force_login(user)
        assert client.get(committee_sheets(committee)).status_code == 404, (user, committee)
    assert client.get(reverse("tickets_doors:committee_sheets", args=[999999])).status_code == 404
    for user in (world.grid_worker, world.volunteer, world.district_officer, world.no_role):
        client.force_login(user)
        assert client.get(committee_sheets(world.committee_a1)).status_code == 403, user
    client.logout()
    response = client.get(committee_sheets(world.committee_a1))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not AuditEvent.objects.filter(action="ticket_door_sheets").exists()
    # A street officer prints any committee of the street.
    client.force_login(world.street_officer)
    assert client.get(committee_sheets(world.committee_a2)).status_code == 200


def test_a_grid_limited_membership_prints_its_grid_only_for_the_whole_committee(client, world, drawn):
    staff = make_user("staff_grid", Role.COMMITTEE_STAFF, world.committee_a1, grid=world.grid_a1)
    Household.objects.create(building=world.building_a1b, room="999")  # in no grid
    client.force_login(staff)
    assert client.get(committee_sheets(world.committee_a1)).status_code == 200
    assert [(c.building, c.room) for c in drawn["cards"]] == [("5号", "302")]
