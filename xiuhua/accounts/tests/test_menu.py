"""The menu offers each role exactly the pages it may open, and every role's first page shows its
own work: every link shown answers 200, nothing is offered that answers 403."""

import re

import pytest

from xiuhua.accounts.menu import ENTRIES
from xiuhua.accounts.roles import ROLE_CAPS, Role
from xiuhua.testing import ROLE_UNITS as UNITS
from xiuhua.testing import make_user

# The header's entries per role, in order: exactly these (data-menu keys).
OFFICE = ["places", "residents", "roster", "masks", "tracing", "isolation", "tickets", "screening", "sms"]
NAV = {
    Role.DISTRICT_OFFICER: [*OFFICE, "audit"],
    Role.STREET_OFFICER: [*OFFICE, "audit"],
    Role.COMMITTEE_STAFF: OFFICE,
    Role.GRID_WORKER: ["places", "residents", "isolation", "screening"],
    Role.HEALTH_CENTRE: ["isolation", "screening"],
    Role.DEPARTMENT_STAFF: ["tickets"],
    Role.VOLUNTEER: ["screening"],
    Role.PHARMACY_CLERK: ["masks"],
    Role.GROUPBUY_LEADER: [],
    Role.BUSINESS_CONTACT: [],
    Role.LAB: [],
    Role.SYSADMIN: ["places", "sms", "simulate_sms"],
}

# The first page's list of the role's pages (data-menu keys).
MY_PAGES = {
    Role.PHARMACY_CLERK: ["redeem", "deliveries"],
    Role.DEPARTMENT_STAFF: ["tickets"],
    Role.HEALTH_CENTRE: ["isolation", "isolation_alerts", "screening", "station", "reviews"],
    Role.GRID_WORKER: ["places", "residents", "isolation", "isolation_alerts", "screening", "station", "reviews",
                       "antigen", "zones", "zone_rules", "passport", "groupbuy_for_residents",
                       "groupbuy_to_deliver"],
    Role.VOLUNTEER: ["screening", "station", "reviews", "groupbuy_to_deliver"],
    Role.GROUPBUY_LEADER: [],
    Role.BUSINESS_CONTACT: [],
    Role.LAB: ["results", "api_tokens"],
}

# Pages a role may open that hold nothing for it, so the menu leaves them out: the roster page
# without the import or export capability.
OPEN_BUT_EMPTY = {(Role.GRID_WORKER, "roster")}

NAV_LINK = re.compile(r'<a href="(?P<url>[^"]+)" data-menu="(?P<key>\w+)">')


def links(body: str, section: str) -> list[tuple[str, str]]:
    start = body.index(section)
    end = body.index("</nav>" if section == "<nav>" else "</div>", start)
    return [(m["key"], m["url"]) for m in NAV_LINK.finditer(body[start:end])]


def test_every_role_is_covered():
    assert set(UNITS) == set(NAV) == set(Role)


@pytest.mark.parametrize("role", list(Role))
def test_the_menu_shows_a_role_only_the_pages_it_can_open(client, world, role):
    user = make_user(f"menu_{role}", role, getattr(world, UNITS[role]))
    client.force_login(user)
    body = client.get("/").content.decode()
    nav = links(body, "<nav>")
    assert [key for key, _url in nav] == NAV[role]
    shown = nav + (links(body, 'id="my-pages"') if 'id="my-pages"' in body else [])
    for key, url in shown:
        response = client.get(url.split("#")[0], follow=True)
        assert response.status_code == 200, (role, key, url)
    opened = {url.split("#")[0] for _key, url in shown}
    # Every entry hidden from the role is one the role cannot open.
    for entry in ENTRIES:
        if entry.key not in {key for key, _url in shown}:
            assert not entry.caps & ROLE_CAPS[role], (role, entry.key)
            if (role, entry.key) in OPEN_BUT_EMPTY or entry.url.split("#")[0] in opened:
                continue  # a part of a page the role opens anyway (the alerts of the isolation page)
            response = client.get(entry.url.split("#")[0])
            assert response.status_code in (302, 403), (role, entry.key, response.status_code)


@pytest.mark.parametrize("role", list(MY_PAGES))
def test_a_role_with_few_pages_finds_its_work_on_the_first_page(client, world, role):
    client.force_login(make_user(f"home_{role}", role, getattr(world, UNITS[role])))
    body = client.get("/").content.decode()
    mine = [key for key, _url in links(body, 'id="my-pages"')] if 'id="my-pages"' in body else []
    assert mine == MY_PAGES[role]
    calm = 'id="role-today"' in body
    assert calm == (role in (Role.VOLUNTEER, Role.GROUPBUY_LEADER, Role.BUSINESS_CONTACT))


def test_the_pharmacy_clerk_is_pointed_at_redemption_and_deliveries(client, world):
    client.force_login(world.pharmacy_clerk)
    body = client.get("/").content.decode()
    assert "核销购买凭证(扫码或输入凭证号)" in body and "登记药店到货" in body


@pytest.mark.parametrize(("role", "text"), [
    (Role.VOLUNTEER, "今天请按居委会的安排上岗"),
    (Role.GROUPBUY_LEADER, "团购报备在手机上办理"),
    (Role.BUSINESS_CONTACT, "今天请按街道要求报送员工在岗和健康情况"),
])
def test_roles_without_pages_yet_are_told_what_to_do_today_and_whom_to_ask(client, world, role, text):
    unit = getattr(world, UNITS[role])
    client.force_login(make_user(f"calm_{role}", role, unit))
    body = client.get("/").content.decode()
    assert text in body
    assert f"有事请联系{unit.name}的工作人员。" in body


@pytest.mark.parametrize(("role", "text"), [
    (Role.DEPARTMENT_STAFF, "派给本部门的工单:办理和答复"),
    (Role.HEALTH_CENTRE, "居家隔离预警:发热、症状、连续未联系上"),
])
def test_departments_and_health_centres_see_their_own_work(client, world, role, text):
    client.force_login(make_user(f"own_{role}", role, world.street_a))
    assert text in client.get("/").content.decode()
