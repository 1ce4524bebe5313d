"""Places sort as people count (1号, 2号, 19号), everywhere they are listed; committees carry a phone."""

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.urls import reverse

from xiuhua.places.models import Kind, OrgUnit, natural_key
from xiuhua.places.selectors import unit_children
from xiuhua.residents.models import Household
from xiuhua.residents.selectors import household_list
from xiuhua.testing import acting, as_user, unit


def test_natural_key_counts_digits_and_chinese_numerals():
    names = ["19号", "1号", "2号楼", "五号楼", "10号", "3幢", "A座"]
    assert sorted(names, key=natural_key) == ["1号", "2号楼", "3幢", "五号楼", "10号", "19号", "A座"]
    rooms = ["1202", "302", "101", "2001室", "0501"]
    assert sorted(rooms, key=natural_key) == ["101", "302", "0501", "1202", "2001室"]


@pytest.fixture
def buildings(world):
    """Buildings added out of order to 国和一村 (which already holds 5号 and 6号)."""
    return {name: unit(Kind.BUILDING, name, world.compound_a1) for name in ("19号", "1号", "2号", "10号")}


@pytest.mark.django_db
def test_a_compounds_buildings_are_listed_in_natural_order(client, world, buildings):
    expected = ["1号", "2号", "5号", "6号", "10号", "19号"]
    assert [u.name for u in unit_children(world.compound_a1)] == expected
    page = as_user(client, world.staff_a1).get(reverse("places:unit", args=[world.compound_a1.pk]))
    assert [u.name for u in page.context["children"]] == expected
    api = client.get(f"/api/places/{world.compound_a1.pk}/children")
    assert [u["name"] for u in api.json()] == expected


@pytest.mark.django_db
def test_households_are_listed_by_building_and_room_in_natural_order(world, buildings):
    for building, room in ((buildings["19号"], "101"), (buildings["2号"], "1202"), (buildings["2号"], "302"),
                           (world.building_a1, "1101")):
        Household.objects.create(building=building, room=room)
    households = household_list(acting(world.staff_a1), compound=str(world.compound_a1.pk))
    listed = [(h.building.name, h.room) for h in households]
    assert listed == [("2号", "302"), ("2号", "1202"), ("5号", "302"), ("5号", "1101"), ("6号", "101"), ("19号", "101")]


@pytest.mark.django_db
def test_the_roster_export_building_filter_is_in_natural_order(client, world, buildings):
    page = as_user(client, world.staff_a1).get(reverse("residents:roster"))
    names = [(u.parent.name, u.name) for u in page.context["buildings"]]
    assert names == [("国和一村", n) for n in ("1号", "2号", "5号", "6号", "10号", "19号")]


@pytest.mark.django_db
def test_a_renamed_building_moves_to_its_new_place(world, buildings):
    buildings["19号"].name = "3号"
    buildings["19号"].save(update_fields=["name"])
    assert [u.name for u in OrgUnit.objects.filter(parent=world.compound_a1).in_natural_order()] == [
        "1号", "2号", "3号", "5号", "6号", "10号"]


@pytest.mark.django_db
def test_a_committee_phone_is_checked_and_shown_to_residents(world):
    committee = world.committee_a1
    committee.phone = " 021-6543　2100 "
    committee.full_clean()
    committee.save()
    assert committee.phone == "021-6543 2100"
    shown = Template("{% load places_extras %}{% committee_phone unit %}")
    expected = ('<p class="committee-phone" id="committee-phone">国和一村居委会电话: '
                '<a href="tel:02165432100">021-6543 2100</a></p>')
    assert shown.render(Context({"unit": committee})) == expected
    assert shown.render(Context({"unit": world.building_a1})) == expected  # any unit under it
    assert shown.render(Context({"unit": world.committee_a2})) == ""  # none on file: nothing
    for bad in ("abc", "12", "021-6543-2100-9999-8888-7777"):
        committee.phone = bad
        with pytest.raises(ValidationError) as refused:
            committee.full_clean()
        assert refused.value.message_dict["phone"] == ["联系电话格式不正确,例:021-65430000"]
    compound = world.compound_a1
    compound.phone = "021-65430000"
    with pytest.raises(ValidationError) as refused:
        compound.full_clean()
    assert refused.value.message_dict["phone"] == ["只有居委会填写联系电话"]
