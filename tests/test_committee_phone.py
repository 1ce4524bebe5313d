"""The committee's phone number at the foot of every resident page that knows its committee, and
nowhere on staff pages (they have the committee in their context too)."""

import pytest
from django.test import Client

from xiuhua.tickets.door import door_path

pytestmark = pytest.mark.django_db

SHOWN = ('<p class="committee-phone" id="committee-phone">国和一村居委会电话: '
         '<a href="tel:02165432100">021-65432100</a></p>')


@pytest.fixture
def phone_on_file(world):
    world.committee_a1.phone = "021-65432100"
    world.committee_a1.save()
    return world


def resident_pages(world) -> list[str]:
    code = world.committee_a1.code
    return [f"/masks/c/{code}/", f"/masks/c/{code}/print/", f"/arrive/c/{code}/", door_path(world.household_a1.pk)]


def test_resident_pages_show_the_committees_phone(phone_on_file):
    for url in resident_pages(phone_on_file):
        response = Client().get(url)
        assert response.status_code == 200, url
        assert SHOWN in response.content.decode(), url


def test_without_a_phone_on_file_the_pages_show_none(world):
    for url in resident_pages(world):
        assert 'id="committee-phone"' not in Client().get(url).content.decode(), url


def test_staff_pages_do_not_repeat_it(client, phone_on_file):
    client.force_login(phone_on_file.staff_a1)
    assert 'id="committee-phone"' not in client.get("/masks/staff/").content.decode()
