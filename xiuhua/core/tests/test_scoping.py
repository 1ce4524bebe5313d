import pytest

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.places.models import Grid, OrgUnit
from xiuhua.residents.models import Household, Resident
from xiuhua.testing import acting, make_user

pytestmark = pytest.mark.django_db


def names(user):
    return sorted(Resident.objects.visible_to(acting(user)).values_list("name", flat=True))


def test_each_level_sees_its_subtree(world):
    assert names(world.district_officer) == ["张秀英", "李建国", "王芳", "赵强"]
    assert names(world.street_officer) == ["张秀英", "李建国", "王芳"]
    assert names(world.street_officer_b) == ["赵强"]
    assert names(world.staff_a1) == ["张秀英", "李建国"]
    assert names(world.staff_a2) == ["王芳"]
    assert names(world.grid_worker) == ["张秀英"]


@pytest.mark.parametrize("attr", ["volunteer", "pharmacy_clerk", "sysadmin", "no_role"])
def test_roles_without_the_capability_see_nothing(world, attr):
    assert names(getattr(world, attr)) == []
    assert Household.objects.visible_to(acting(getattr(world, attr))).count() == 0


def test_anonymous_and_inactive_memberships_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert Resident.objects.visible_to(AnonymousUser()).count() == 0
    assert Resident.objects.visible_to(None).count() == 0
    Membership.objects.filter(user=world.staff_a1).update(active=False)
    assert names(world.staff_a1) == []


def test_building_leader_membership_sees_only_that_building(world):
    leader = make_user("building_leader", Role.GRID_WORKER, world.building_a1b)
    assert names(leader) == ["李建国"]


def test_micro_grid_membership(world):
    worker = make_user("micro_worker", Role.GRID_WORKER, world.committee_a1, grid=world.micro_a1)
    assert names(worker) == ["张秀英"]
    assert list(Grid.objects.visible_to(acting(worker))) == [world.micro_a1]


def test_org_units_visible_are_the_subtree(world):
    units = OrgUnit.objects.visible_to(acting(world.staff_a1))
    assert set(units.values_list("name", flat=True)) == {"国和一村居委会", "国和一村", "5号", "6号"}
    assert OrgUnit.objects.visible_to(acting(world.volunteer)).count() == 0


def test_home_overview_rolls_committees_up_to_the_units_children(client, world):
    client.force_login(world.district_officer)
    rows = client.get("/").context["rows"]
    assert [(r["unit"].name, r["households"], r["residents"]) for r in rows] == [
        ("长海路街道", 3, 3), ("五角场街道", 1, 1)]
    assert [r["tags"]["elderly_alone"] for r in rows] == [1, 0]
    assert [r["tags"]["dialysis"] for r in rows] == [0, 1]
    client.force_login(world.street_officer)
    rows = client.get("/").context["rows"]
    assert [(r["unit"].name, r["residents"], r["tags"]["pregnant"]) for r in rows] == [
        ("国和一村居委会", 2, 0), ("国和二村居委会", 1, 1)]
    client.force_login(world.volunteer)
    assert client.get("/").context["rows"] == []
