"""The page a passport card's QR code opens: residents prove a phone registered on the household
and see its stamps only; staff with the household in scope go on to the staff page; a wrong code
is a 404 like any missing page."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.passport.keys import card_key, household_of
from xiuhua.passport.services import stamp_record
from xiuhua.testing import acting, make_resident

pytestmark = pytest.mark.django_db


def _sign_in(client, phone):
    session = client.session
    session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}
    session.save()


def door(household) -> str:
    return reverse("passport:door", kwargs={"code": card_key(household.pk)})


def stamps(household) -> str:
    return reverse("passport:door_stamps", kwargs={"code": card_key(household.pk)})


def test_the_key_is_checked_and_forgiving_to_typing(world):
    key = card_key(world.household_a1.pk)
    pk, code = key.split("-")
    assert household_of(key) == world.household_a1.pk
    assert household_of(f"{pk}-{code.lower()}") == world.household_a1.pk
    assert household_of(f"{int(pk) + 1}-{code}") is None
    assert household_of(f"{pk}-{code[:-1]}") is None and household_of("") is None and household_of("x-y") is None


def test_a_wrong_code_is_the_plain_404(client, world):
    missing = client.get("/no-such-page/").content
    pk, code = card_key(world.household_a1.pk).split("-")
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    for url in (reverse("passport:door", kwargs={"code": f"{pk}-{wrong}"}),
                reverse("passport:door", kwargs={"code": f"{world.household_b1.pk + 1000}-{code}"})):
        response = client.get(url)
        assert response.status_code == 404 and response.content == missing


def test_an_anonymous_visitor_gets_the_phone_form_and_no_names(client, world):
    page = client.get(door(world.household_a1))
    body = page.content.decode()
    assert page.status_code == 200 and 'id="send-code"' in body and "5号 302室" in body
    assert "张秀英" not in body and "13812345678" not in body
    assert page["Cache-Control"] == "private, no-store"
    assert client.get(stamps(world.household_a1))["Location"] == door(world.household_a1)


def test_staff_with_the_household_go_on_to_the_staff_page(client, world):
    client.force_login(world.grid_worker)
    response = client.get(door(world.household_a1))
    assert response.status_code == 302 and response["Location"] == reverse(
        "passport:household", args=[world.household_a1.pk])
    client.force_login(world.staff_b1)  # another committee: the resident's page, nothing more
    response = client.get(door(world.household_a1))
    assert response.status_code == 200 and 'id="send-code"' in response.content.decode()


def test_the_phone_sign_in_sends_a_code(client, world):
    response = client.post(reverse("passport:door_send", kwargs={"code": card_key(world.household_a1.pk)}),
                           {"phone": "13812345678"})
    assert response.status_code == 302
    assert response["Location"] == reverse("passport:door_verify", kwargs={"code": card_key(world.household_a1.pk)})
    bad = client.post(reverse("passport:door_send", kwargs={"code": card_key(world.household_a1.pk)}),
                      {"phone": "12"})
    assert bad.status_code == 400


def test_a_member_sees_the_households_stamps_without_staff_names_or_notes(client, world):
    stamp_record(actor=acting(world.staff_a1), household=world.household_a1, kind="volunteer",
                 stamped_on=timezone.localdate(), note="陪同就医")
    _sign_in(client, "13812345678")  # 张秀英 of 5号 302
    page = client.get(stamps(world.household_a1))
    body = page.content.decode()
    assert page.status_code == 200
    this_week = page.context["weeks"][0][1]
    assert [(kind, shown is not None) for kind, _label, shown in this_week] == [
        ("nucleic", False), ("vaccine", False), ("volunteer", True), ("convenience", False)]
    assert timezone.localdate().strftime("%m-%d") in body
    assert "staff_a1" not in body and "陪同就医" not in body and "张秀英" not in body


def test_a_phone_not_on_the_household_sees_nothing_of_it(client, world):
    mover = make_resident(world.household_a1, "张小明", mobile="13911112222", relation="child")
    mover.living_status = "moved_out"
    mover.save()
    for phone in ("13812340000", "13911112222"):  # another household's; a member who moved out
        _sign_in(client, phone)
        page = client.get(stamps(world.household_a1))
        body = page.content.decode()
        assert page.status_code == 403 and 'id="not-member"' in body and "weeks" not in page.context


def test_an_address_that_sends_twenty_wrong_codes_is_refused_for_a_while_even_with_the_right_one(client, world):
    from xiuhua.passport.views_public import CARD_CODES

    pk = world.household_a1.pk
    for n in range(CARD_CODES.limit):
        assert client.get(reverse("passport:door", kwargs={"code": f"{pk}-WRONG{n:03d}"})).status_code == 404
    response = client.get(door(world.household_a1))
    assert response.status_code == 429 and int(response["Retry-After"]) <= CARD_CODES.window
    assert "护照卡编码错误次数过多" in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    # Without a proven phone the stamps page sends to the card page, which answers 429 as above.
    assert client.get(stamps(world.household_a1)).status_code == 302
