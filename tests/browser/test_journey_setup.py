"""The first hour of a new deployment, through the admin only: the street that every journey
test starts from."""

import pytest
from selenium.webdriver.common.by import By

from xiuhua.accounts.models import Membership
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Resident
from xiuhua.residents.tests.test_roster_fixtures import new_id, person, xlsx

from .conftest import login, screenshot, wait_for
from .journey import empty_street, import_roster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_administrator_builds_a_street_and_its_staff_in_the_admin(desktop, live_server, tmp_path):
    street = empty_street(desktop, live_server, accounts={
        "jiedao": ("street_officer", "street"),
        "juwei": ("committee_staff", "committee"),
    })
    screenshot(desktop, "journey-setup-01-admin-account")
    tree = {(unit.name, unit.kind, unit.parent.name if unit.parent else None) for unit in OrgUnit.objects.all()}
    assert tree == {
        ("上海市", "city", None),
        ("杨浦区", "district", "上海市"),
        ("殷行街道", "street", "杨浦区"),
        ("国和一村居委会", "committee", "殷行街道"),
        ("国和一村", "compound", "国和一村居委会"),
        ("1号", "building", "国和一村"),
        ("2号", "building", "国和一村"),
        ("19号", "building", "国和一村"),
    }
    assert street.buildings == {
        name: OrgUnit.objects.get(name=name, kind="building").pk for name in ("1号", "2号", "19号")
    }
    members = set(Membership.objects.values_list("user__username", "role", "org_unit__name"))
    assert members == {
        ("admin", "sysadmin", "杨浦区"),
        ("jiedao", "street_officer", "殷行街道"),
        ("juwei", "committee_staff", "国和一村居委会"),
    }
    login(desktop, live_server, "juwei")
    wait_for(desktop, "header .who")
    assert "国和一村居委会" in desktop.find_element(By.CSS_SELECTOR, "header").text
    screenshot(desktop, "journey-setup-02-committee-home")

    roster = tmp_path / "国和一村花名册.xlsx"
    roster.write_bytes(xlsx([
        person(姓名="林晓雯", 性别="女", 楼栋="19号", 室号="1202", 证件号码=new_id(sex="F")),
        person(姓名="陈新", 楼栋="1号", 室号="101", 证件号码=new_id()),
    ]))
    import_roster(desktop, live_server, "juwei", roster)
    screenshot(desktop, "journey-setup-03-roster-imported")
    placed = set(Resident.objects.values_list("name", "household__building__name"))
    assert placed == {("林晓雯", "19号"), ("陈新", "1号")}
