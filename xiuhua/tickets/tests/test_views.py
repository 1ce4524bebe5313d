"""Staff pages of work orders: authorisation matrix and exact outcomes of the board, intake,
one order's actions, and the home page's waiting work.

Pages use the real clock, so orders are taken in "hours ago"; emergencies (4 hours) make the
deadline states exact whatever the calendar says.
"""

import datetime as dt
import io
import re
import threading
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting, as_user, make_user
from xiuhua.tickets import selectors, services
from xiuhua.tickets.models import CalendarDay, Department, Escalation, RoutingRule, Ticket, TicketEvent
from xiuhua.tickets.services import token_hash

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(Ticket.objects.values_list("pk", "status", "department_id", "assigned_committee_id", "deadline_at",
                                          "extension", "reply_text", "satisfaction", "follow_token_hash")),
        TicketEvent.objects.count(),
        AuditEvent.objects.count(),
        sorted(RoutingRule.objects.values_list("pk", "category", "committee_id", "department_id")),
        sorted(Department.objects.values_list("pk", "name", "head_id")),
        sorted(Department.members.through.objects.values_list("department_id", "membership_id")),
    )


def order(household, *, hours_ago=0.0, category="dialysis", urgency="urgent", description="需要帮助",
          requester_phone="13812345678", **extra):
    """A request from the household's door QR code, taken in `hours_ago` (urgent medical: 4 hours)."""
    ticket, _token = services.ticket_create(
        actor=None, source="door_qr", category=category, urgency=urgency, description=description,
        committee=household.committee, household=household, requester_phone=requester_phone,
        now=timezone.now() - dt.timedelta(hours=hours_ago), **extra,
    )
    return ticket


def membership_of(user):
    return Membership.objects.get(user=user)


@pytest.fixture
def depts(world):
    """Street A: 社区卫生服务中心 (dept_a) and 城运中心 (dept_a and dept_b)."""
    health = Department.objects.create(street=world.street_a, name="社区卫生服务中心")
    city = Department.objects.create(street=world.street_a, name="城运中心")
    dept_a = make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a)
    dept_b = make_user("dept_b", Role.DEPARTMENT_STAFF, world.street_a)
    health.members.add(membership_of(dept_a))
    city.members.add(membership_of(dept_a), membership_of(dept_b))
    return {"health": health, "city": city, "dept_a": dept_a, "dept_b": dept_b}


@pytest.fixture
def orders(world, depts):
    """Street A: late (A1, an hour past its deadline), soon (A1, half an hour left), fine (A2,
    five working days), held (A1, dispatched to the health centre, long overdue). Street B: other."""
    w = world
    late = order(w.household_a1, hours_ago=5)
    soon = order(w.household_a1b, hours_ago=3.5)
    fine = order(w.household_a2, category="food", urgency="normal", description="缺米面")
    held = order(w.household_a1, hours_ago=7, category="medicine", description="配降压药")
    services.ticket_move(actor=acting(w.staff_a1), ticket=held, action="accept")
    services.ticket_move(actor=acting(w.street_officer), ticket=held, action="dispatch", department=depts["health"])
    other = order(w.household_b1, hours_ago=6)
    return {"late": late, "soon": soon, "fine": fine, "held": held, "other": other}


def urls(o, depts):
    pk = o["late"].pk
    return {
        "board": reverse("tickets:board"),
        "board_xlsx": reverse("tickets:board_xlsx"),
        "new": reverse("tickets:new"),
        "detail": reverse("tickets:detail", args=[pk]),
        "move": reverse("tickets:move", args=[pk]),
        "extension": reverse("tickets:extension", args=[pk]),
        "extension_decide": reverse("tickets:extension_decide", args=[pk]),
        "follow_link_reissue": reverse("tickets:follow_link_reissue", args=[pk]),
        "urge": reverse("tickets:urge", args=[pk]),
        "reclassify": reverse("tickets:reclassify", args=[pk]),
        "rules": reverse("tickets:rules"),
        "departments": reverse("tickets:departments"),
        "department_member_add": reverse("tickets:department_member_add", args=[depts["health"].pk]),
        "department_member_remove": reverse("tickets:department_member_remove", args=[depts["health"].pk]),
        "department_head": reverse("tickets:department_head", args=[depts["health"].pk]),
    }


NEEDS = {
    "board": "view_tickets",
    "board_xlsx": "view_tickets",
    "detail": "view_tickets",
    "move": "view_tickets",
    "extension": "view_tickets",
    "new": "record_ticket",
    "extension_decide": "record_ticket",
    "follow_link_reissue": "record_ticket",
    "urge": "record_ticket",
    "reclassify": "record_ticket",
    "rules": "street",
    "departments": "street",
    "department_member_add": "street",
    "department_member_remove": "street",
    "department_head": "street",
}
# Users with a membership but without what the page needs: 403 for GET and POST.
LACKING = {
    "view_tickets": ("volunteer", "pharmacy", "grid_a1", "sysadmin", "nobody"),
    "record_ticket": ("volunteer", "grid_a1", "district", "dept_a", "nobody"),
    "street": ("volunteer", "staff_a1", "district", "dept_a", "nobody"),
}
POST = {"action": "accept", "note": "x", "days": "3", "reason": "x", "decision": "approve", "name": "新部门",
        "membership": "1", "head": "", "category": "food", "description": "x", "source": "call", "urgency": "normal"}


def test_every_url_is_in_the_matrix(orders, depts):
    from xiuhua.tickets.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(orders, depts)) == set(NEEDS)


def test_anonymous_goes_to_login_and_writes_nothing(client, orders, depts):
    before = snapshot()
    for name, url in urls(orders, depts).items():
        for method in (client.get, client.post):
            response = method(url, POST) if method == client.post else method(url)
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/"), name
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_wrong_role_is_refused_and_writes_nothing(client, orders, depts, name):
    before = snapshot()
    url = urls(orders, depts)[name]
    for username in LACKING[NEEDS[name]]:
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code in (403, 405), (name, username)
        assert client.post(url, POST).status_code == 403, (name, username)
    assert snapshot() == before


def test_view_only_district_may_look_but_not_act(client, world, orders, depts):
    """The district sees street A's and B's orders (phone masked) and is offered no action."""
    w = world
    as_user(client, w.district_officer)
    page = client.get(reverse("tickets:detail", args=[orders["late"].pk]))
    assert page.status_code == 200 and page.context["actions"] == []
    body = page.content.decode()
    assert "138****5678" in body and "13812345678" not in body and 'id="action-' not in body
    board = client.get(reverse("tickets:board"))
    assert {r.ticket.pk for r in board.context["rows"]} == {o.pk for o in orders.values()}


def test_other_committee_street_or_department_gets_404_and_writes_nothing(client, world, orders, depts):
    w = world
    late, held = orders["late"], orders["held"]
    before = snapshot()
    cases = [
        (w.staff_a2, late), (w.staff_b1, late), (w.street_officer_b, late), (w.street_officer_b, held),
        (depts["dept_b"], held),  # dept_b is in 城运中心 only; held went to the health centre
        (depts["dept_a"], late),  # not dispatched to any department
        (w.staff_a1, Ticket(pk=999_999)),
    ]
    for user, ticket in cases:
        as_user(client, user)
        assert client.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 404, user
        for name, data in (
            ("move", {"action": "accept"}), ("move", {"action": "start"}),
            ("extension", {"days": "3", "reason": "x"}),
        ):
            assert client.post(reverse(f"tickets:{name}", args=[ticket.pk]), data).status_code == 404, (user, name)
        if user in (w.street_officer_b,):
            url = reverse("tickets:extension_decide", args=[ticket.pk])
            assert client.post(url, {"decision": "approve"}).status_code == 404
        if user in (w.staff_a2, w.staff_b1, w.street_officer_b, w.staff_a1):
            assert client.post(reverse("tickets:follow_link_reissue", args=[ticket.pk])).status_code == 404
            assert client.post(reverse("tickets:urge", args=[ticket.pk]), {"note": "快"}).status_code == 404
            data = {"category": "food", "urgency": "normal"}
            assert client.post(reverse("tickets:reclassify", args=[ticket.pk]), data).status_code == 404
    assert snapshot() == before
    # The board does not list them either.
    for user, hidden in ((depts["dept_b"], held), (w.staff_a2, late), (w.street_officer_b, held)):
        as_user(client, user)
        assert hidden.pk not in [r.ticket.pk for r in client.get(reverse("tickets:board")).context["rows"]]


def test_the_right_users_get_the_pages(client, world, orders, depts):
    w = world
    late, held = orders["late"], orders["held"]
    for user, names in (
        (w.staff_a1, ("board", "board_xlsx", "new", "detail")),
        (w.street_officer, ("board", "board_xlsx", "new", "detail", "rules", "departments")),
        (w.district_officer, ("board", "board_xlsx", "detail")),
    ):
        as_user(client, user)
        for name in names:
            assert client.get(urls(orders, depts)[name]).status_code == 200, (user, name)
    as_user(client, depts["dept_a"])
    assert client.get(reverse("tickets:board")).status_code == 200
    assert client.get(reverse("tickets:detail", args=[held.pk])).status_code == 200
    assert client.get(reverse("tickets:detail", args=[late.pk])).status_code == 404


def test_nav_link_shows_for_ticket_roles_only(client, world, depts):
    link = reverse("tickets:board")
    for username, shown in (
        ("staff_a1", True), ("street_a", True), ("district", True), ("dept_a", True),
        ("grid_a1", False), ("volunteer", False), ("pharmacy", False), ("sysadmin", False),
    ):
        as_user(client, User.objects.get(username=username))
        assert (f'href="{link}"' in client.get("/").content.decode()) is shown, username


# The board


def rows_of(response):
    return [r.ticket.pk for r in response.context["rows"]]


def test_board_orders_by_deadline_with_counts_colours_and_labels(client, world, orders):
    w = world
    late, soon, fine, held = orders["late"], orders["soon"], orders["fine"], orders["held"]
    as_user(client, w.street_officer)
    response = client.get(reverse("tickets:board"))
    assert rows_of(response) == [held.pk, late.pk, soon.pk, fine.pk]
    c = response.context["counts"]
    assert (c.open, c.overdue, c.soon, c.extension_requested, c.waiting) == (4, 2, 1, 0, 2)
    assert [r.state for r in response.context["rows"]] == ["long_overdue", "overdue", "soon", "ok"]
    # Urgent and not yet accepted: late and soon (held was accepted, fine is not urgent).
    assert rows_of(client.get(reverse("tickets:board"), {"state": "waiting"})) == [late.pk, soon.pk]
    body = response.content.decode()
    row = re.search(rf'<tr id="ticket-{late.pk}" class="([^"]+)">(.*?)</tr>', body, re.S)
    assert row and "deadline-row-overdue" in row.group(1)
    assert 'class="deadline deadline-overdue"' in row.group(2) and "已超时" in row.group(2)
    assert "超时1小时" in row.group(2) or "超时59分钟" in row.group(2)
    assert late.number in row.group(2) and reverse("tickets:detail", args=[late.pk]) in row.group(2)
    assert "国和一村居委会(未派单)" in row.group(2) and "透析" in row.group(2) and "紧急" in row.group(2)
    held_row = re.search(rf'<tr id="ticket-{held.pk}"[^>]*>(.*?)</tr>', body, re.S).group(1)
    assert "社区卫生服务中心" in held_row and "严重超时" in held_row
    fine_row = re.search(rf'<tr id="ticket-{fine.pk}"[^>]*>(.*?)</tr>', body, re.S).group(1)
    assert "deadline-ok" in fine_row and "正常" in fine_row and "剩余" in fine_row
    assert 'id="count-overdue">2<' in body and 'id="count-open">4<' in body and 'id="count-waiting">2<' in body
    # An escalated order carries its badge.
    Ticket.objects.filter(pk=late.pk).update(escalation=Escalation.HEAD)
    body = client.get(reverse("tickets:board")).content.decode()
    assert "已超时,已报部门负责人" in body


def test_board_scope_per_role(client, world, orders, depts):
    w = world
    late, soon, fine, held = orders["late"], orders["soon"], orders["fine"], orders["held"]
    as_user(client, w.staff_a1)
    assert rows_of(client.get(reverse("tickets:board"))) == [held.pk, late.pk, soon.pk]
    as_user(client, w.staff_a2)
    assert rows_of(client.get(reverse("tickets:board"))) == [fine.pk]
    # A committee also sees what was dispatched to it.
    services.ticket_move(actor=acting(w.staff_a1), ticket=soon, action="accept")
    services.ticket_move(actor=acting(w.street_officer), ticket=soon, action="dispatch", committee=w.committee_a2)
    assert rows_of(client.get(reverse("tickets:board"))) == [soon.pk, fine.pk]
    as_user(client, depts["dept_a"])
    assert rows_of(client.get(reverse("tickets:board"))) == [held.pk]
    as_user(client, depts["dept_b"])
    assert rows_of(client.get(reverse("tickets:board"))) == []
    as_user(client, w.street_officer_b)
    assert rows_of(client.get(reverse("tickets:board"))) == [orders["other"].pk]


def test_board_filters_are_limited_to_what_the_user_sees(client, world, orders, depts):
    w = world
    late, soon, fine, held = orders["late"], orders["soon"], orders["fine"], orders["held"]
    as_user(client, w.street_officer)
    board = reverse("tickets:board")
    form = client.get(board).context["form"]
    assert list(form.fields["committee"].queryset) == [w.committee_a1, w.committee_a2]
    assert {d.name for d in form.fields["department"].queryset} == {"社区卫生服务中心", "城运中心"}
    assert rows_of(client.get(board, {"committee": w.committee_a2.pk})) == [fine.pk]
    assert rows_of(client.get(board, {"department": depts["health"].pk})) == [held.pk]
    assert rows_of(client.get(board, {"category": "food"})) == [fine.pk]
    assert rows_of(client.get(board, {"state": "overdue"})) == [held.pk, late.pk]
    assert rows_of(client.get(board, {"state": "soon"})) == [soon.pk]
    assert rows_of(client.get(board, {"state": "ok"})) == [fine.pk]
    response = client.get(board, {"committee": w.committee_a1.pk, "state": "overdue"})
    assert rows_of(response) == [held.pk, late.pk]
    assert response.context["counts"].open == 3  # the state filter narrows the list, not the figures
    # Another street's committee or department is refused with a message, and not applied.
    other_dept = Department.objects.create(street=w.street_b, name="五角场城运")
    for params in ({"committee": w.committee_b1.pk}, {"department": other_dept.pk}, {"committee": "x"}):
        response = client.get(board, params)
        assert rows_of(response) == [held.pk, late.pk, soon.pk, fine.pk], params
        assert response.context["form"].errors
    body = client.get(board, {"committee": w.committee_b1.pk}).content.decode()
    assert "请选择您辖区内的居委会" in body and orders["other"].number not in body
    # A committee has no committee or department filter.
    as_user(client, w.staff_a1)
    form = client.get(board).context["form"]
    assert set(form.fields) == {"category", "state"}
    assert rows_of(client.get(board, {"committee": w.committee_a2.pk})) == [held.pk, late.pk, soon.pk]


def test_a_member_of_several_departments_picks_one(client, world, orders, depts):
    w = world
    held, fine = orders["held"], orders["fine"]
    services.ticket_move(actor=acting(w.staff_a2), ticket=fine, action="accept")
    services.ticket_move(actor=acting(w.street_officer), ticket=fine, action="dispatch", department=depts["city"])
    as_user(client, depts["dept_a"])
    response = client.get(reverse("tickets:board"))
    assert rows_of(response) == [held.pk, fine.pk]
    assert {d.name for d in response.context["form"].fields["department"].queryset} == {"社区卫生服务中心", "城运中心"}
    assert rows_of(client.get(reverse("tickets:board"), {"department": depts["city"].pk})) == [fine.pk]
    # A department they are not in is not a choice.
    other = Department.objects.create(street=w.street_a, name="房管所")
    response = client.get(reverse("tickets:board"), {"department": other.pk})
    assert rows_of(response) == [held.pk, fine.pk] and "请选择您可以查看的部门" in response.content.decode()
    # One department: nothing to pick.
    as_user(client, depts["dept_b"])
    assert "department" not in client.get(reverse("tickets:board")).context["form"].fields


def test_board_pages(client, world, orders, monkeypatch):
    w = world
    monkeypatch.setattr(selectors, "BOARD_PAGE_SIZE", 3)
    as_user(client, w.street_officer)
    first = client.get(reverse("tickets:board"))
    assert len(first.context["rows"]) == 3 and first.context["page"].paginator.num_pages == 2
    assert 'href="?page=2"' in first.content.decode()
    second = client.get(reverse("tickets:board"), {"page": 2, "category": ""})
    assert rows_of(second) == [orders["fine"].pk]
    assert 'href="?page=1&amp;category="' in second.content.decode()


def xlsx_rows(response):
    """The download's title, filter line, header and rows."""
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="tickets-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[0][0], rows[1][0], rows[2], rows[3:]


def test_the_board_numbers_its_rows_and_downloads_the_same_rows_and_columns_as_excel(client, world, orders, depts):
    w = world
    as_user(client, w.street_officer)
    query = {"committee": w.committee_a1.pk, "category": "dialysis", "state": "overdue"}
    page = client.get(reverse("tickets:board"), query)
    assert rows_of(page) == [orders["late"].pk]
    body = page.content.decode()
    assert '<th class="seq">序号</th>' in body and '<td data-label="序号" class="seq">1</td>' in body
    link = re.search(r'id="board-xlsx" href="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert link.startswith(reverse("tickets:board_xlsx") + "?")
    download = client.get(link)
    title, filters, header, rows = xlsx_rows(download)
    assert title.startswith(f"{w.street_a.name} 未办结工单 ")
    assert f"filename*=UTF-8''{quote(w.street_a.name + '-未办结工单-')}" in download["Content-Disposition"]
    cells = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(min_row=4))[0]
    assert cells[0].data_type == "n" and cells[0].value == 1
    assert cells[4].is_date and cells[4].number_format == "yyyy-mm-dd hh:mm"
    event = AuditEvent.objects.get(action="ticket_board_export")
    assert (event.actor, event.personal, event.detail, event.subject_label, event.committee_id) == (
        w.street_officer, False, {"rows": 1}, filters, None)
    assert filters == f"居委会:{w.committee_a1.name};类别:透析;时限:已超时"
    assert header == ["序号", "编号", "类别", "紧急程度", "接收时间", "办理时限", "剩余时间", "状态", "办理方", "督办"]
    late = Ticket.objects.get(pk=orders["late"].pk)
    assert len(rows) == 1
    row = rows[0]
    assert row[:4] == [1, late.number, "透析", "紧急"] and row[7:] == ["已接收", f"{w.committee_a1.name}(未派单)", "—"]
    for value, moment in ((row[4], late.received_at), (row[5], late.deadline_at)):  # Beijing time, as a time
        assert abs(value - timezone.localtime(moment).replace(tzinfo=None)) < dt.timedelta(seconds=1)
    assert row[6].startswith("已超时 超时")
    page_headers = re.findall(r"<th[^>]*>([^<]+)</th>", body.split('id="board"')[1].split("</thead>")[0])
    assert page_headers == header
    # Unfiltered: every open order in the street in board order (most urgent deadline first),
    # numbered from 1, beyond the page's fifty too, and nothing of another street.
    _title, filters, _header, rows = xlsx_rows(client.get(reverse("tickets:board_xlsx")))
    expected = list(selectors.board_queryset(w.street_officer).values_list("number", flat=True))
    assert filters == "全部未办结工单"
    assert [r[1] for r in rows] == expected and [r[0] for r in rows] == list(range(1, len(expected) + 1))
    assert orders["other"].number not in expected and len(expected) == 4
    # An invalid filter is left out, as on the page; no personal data leaves with the file.
    other_street = {"committee": w.committee_b1.pk}
    _title, filters, _header, rows = xlsx_rows(client.get(reverse("tickets:board_xlsx"), other_street))
    assert [r[1] for r in rows] == expected
    text = " ".join(str(v) for r in rows for v in r)
    assert "13812345678" not in text and "138****5678" not in text


def test_the_second_page_numbers_on_from_the_first(client, world):
    w = world
    for _i in range(selectors.BOARD_PAGE_SIZE + 2):
        order(w.household_a2, category="food", urgency="normal", requester_phone="")
    as_user(client, w.staff_a2)
    second = client.get(reverse("tickets:board"), {"page": 2}).content.decode()
    numbers = re.findall(r'<td data-label="序号" class="seq">(\d+)</td>', second)
    assert numbers == [str(selectors.BOARD_PAGE_SIZE + 1), str(selectors.BOARD_PAGE_SIZE + 2)]


def test_board_warns_when_this_years_holidays_are_missing(client, world, orders):
    w = world
    as_user(client, w.staff_a1)
    year = timezone.localdate().year
    CalendarDay.objects.filter(date__year=year).delete()
    body = client.get(reverse("tickets:board")).content.decode()
    assert 'id="calendar-warning"' in body and f"{year}年的法定节假日和调休还没有录入" in body
    CalendarDay.objects.create(date=dt.date(year, 10, 1), kind="holiday", name="国庆节")
    assert 'id="calendar-warning"' not in client.get(reverse("tickets:board")).content.decode()


def test_home_page_counts_waiting_orders(client, world, orders, depts):
    w = world
    held = orders["held"]
    as_user(client, w.staff_a1)
    response = client.get("/")
    work = response.context["work"]
    assert (work["tickets_overdue"], work["tickets_soon"]) == (2, 1) and "tickets_extension" not in work
    body = response.content.decode()
    assert "工单已超时 2 件" in body and "工单即将到期 1 件" in body
    assert f'href="{reverse("tickets:board")}?state=overdue"' in body
    Ticket.objects.filter(pk=held.pk).update(extension="requested")
    as_user(client, w.street_officer)
    work = client.get("/").context["work"]
    assert (work["tickets_overdue"], work["tickets_soon"], work["tickets_extension"]) == (2, 1, 1)
    assert "工单延期待审批 1 件" in client.get("/").content.decode()
    as_user(client, depts["dept_b"])
    assert client.get("/").context["work"] == {"tickets_overdue": 0, "tickets_soon": 0}
    as_user(client, w.volunteer)
    assert client.get("/").context["work"] is None


def test_urgent_requests_waiting_to_be_accepted_come_first_on_the_home_page(client, world, orders, depts):
    w = world
    fresh = order(w.household_a1b, hours_ago=0.1)  # six minutes ago: still "in time"
    as_user(client, w.staff_a1)
    response = client.get("/")
    assert response.context["work"]["tickets_waiting"] == 3 and "tickets_waiting_late" not in response.context["work"]
    body = response.content.decode()
    first_item = re.search(r'id="waiting-work".*?<ul>\s*<li id="([^"]+)"', body, re.S)
    assert first_item is not None and first_item.group(1) == "work-tickets-waiting"
    waiting = body.index('id="work-tickets-waiting"')
    assert waiting < body.index("居家隔离待联系") and waiting < body.index("工单已超时")
    assert "紧急求助待受理 3 件" in body and f'href="{reverse("tickets:board")}?state=waiting"' in body
    # The street sees those not accepted within the quarter hour; the board lists exactly them.
    as_user(client, w.street_officer)
    response = client.get("/")
    assert response.context["work"]["tickets_waiting_late"] == 2 and "tickets_waiting" not in response.context["work"]
    body = response.content.decode()
    assert "紧急求助超时未受理 2 件" in body and f'href="{reverse("tickets:board")}?state=waiting_late"' in body
    assert body.index('id="work-tickets-waiting-late"') < body.index("工单已超时")
    board = client.get(reverse("tickets:board"), {"state": "waiting_late"})
    assert rows_of(board) == [orders["late"].pk, orders["soon"].pk]
    as_user(client, w.staff_a1)
    assert rows_of(client.get(reverse("tickets:board"), {"state": "waiting"})) == [
        orders["late"].pk, orders["soon"].pk, fresh.pk]
    # Once accepted it leaves both lists; departments and other roles never see the item.
    services.ticket_move(actor=acting(w.staff_a1), ticket=orders["late"], action="accept")
    assert client.get("/").context["work"]["tickets_waiting"] == 2
    as_user(client, depts["dept_b"])
    assert "tickets_waiting" not in client.get("/").context["work"]
    as_user(client, w.volunteer)
    assert client.get("/").context["work"] is None


# One order: the actions offered, and moving it


def offered(client, ticket):
    response = client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert response.status_code == 200
    actions = [a.action for a in response.context["actions"]]
    if response.context["extension_form"] is not None:
        actions.append("extension")
    if response.context["decide_form"] is not None:
        actions.append("decide")
    return actions


def post_move(client, ticket, action, **data):
    return client.post(reverse("tickets:move", args=[ticket.pk]), {"action": action, **data})


def test_the_whole_way_through_the_pages(client, world, orders, depts):
    w = world
    late = orders["late"]
    staff, street, worker = Client(), Client(), Client()
    as_user(staff, w.staff_a1), as_user(street, w.street_officer), as_user(worker, depts["dept_a"])

    detail = staff.get(reverse("tickets:detail", args=[late.pk]))
    body = detail.content.decode()
    assert 'href="tel:13812345678"' in body and "国和一村5号302室" in body and "周三" not in body
    assert offered(staff, late) == ["accept"] and offered(street, late) == ["accept"]

    response = post_move(staff, late, "accept", note="已电话确认")
    assert response.status_code == 302 and response["Location"] == reverse("tickets:detail", args=[late.pk])
    assert "已受理:" + late.number in staff.get(response["Location"]).content.decode()
    assert offered(staff, late) == ["dispatch"] and offered(street, late) == ["dispatch"]

    page = street.get(reverse("tickets:detail", args=[late.pk]))
    choices = dict(page.context["actions"][0].form.fields["to"].choices)
    assert choices["rule"] == "按派单规则(国和一村居委会)"
    health, city = depts["health"].pk, depts["city"].pk
    assert dict(choices["职能部门"]) == {f"d{city}": "城运中心", f"d{health}": "社区卫生服务中心"}
    assert dict(choices["居委会"]) == {f"c{w.committee_a1.pk}": "国和一村居委会",
                                       f"c{w.committee_a2.pk}": "国和二村居委会"}
    assert post_move(street, late, "dispatch", to=f"d{depts['health'].pk}").status_code == 302

    assert offered(worker, late) == ["start"] and offered(street, late) == ["redispatch"]
    assert post_move(worker, late, "start").status_code == 302
    assert offered(worker, late) == ["reply"]
    assert post_move(worker, late, "reply", reply="已安排救护车周三7:00接送").status_code == 302
    assert offered(worker, late) == [] and offered(staff, late) == ["close"]
    assert post_move(staff, late, "close").status_code == 302
    assert offered(staff, late) == ["call_back", "reopen"]
    assert post_move(staff, late, "call_back", satisfaction="4", note="满意").status_code == 302
    assert offered(staff, late) == ["reopen"]
    assert post_move(staff, late, "reopen", note="车辆未到").status_code == 302
    assert offered(staff, late) == ["dispatch"]

    late.refresh_from_db()
    assert (late.status, late.department, late.reply_text, late.reopened_count) == (
        "reopened", depts["health"], "已安排救护车周三7:00接送", 1)
    page = staff.get(reverse("tickets:detail", args=[late.pk]))
    labels = [label for _e, label in page.context["events"]]
    assert labels == ["登记", "受理", "派单", "开始办理", "答复", "办结", "回访", "重新打开"]
    history = page.content.decode().split('id="history"')[1]
    assert "staff_a1" in history and "dept_a" in history and "居民本人" in history and "车辆未到" in history
    assert "已安排救护车周三7:00接送" in history and "已办结 → 已回访" in history


def test_dispatch_by_the_rules_or_to_a_committee(client, world, orders, depts):
    w = world
    late, soon = orders["late"], orders["soon"]
    services.routing_rule_set(actor=acting(w.street_officer), street=w.street_a, category="dialysis",
                              department=depts["health"])
    for t in (late, soon):
        services.ticket_move(actor=acting(w.staff_a1), ticket=t, action="accept")
    as_user(client, w.staff_a1)
    page = client.get(reverse("tickets:detail", args=[late.pk]))
    assert dict(page.context["actions"][0].form.fields["to"].choices)["rule"] == "按派单规则(社区卫生服务中心)"
    assert post_move(client, late, "dispatch", to="rule").status_code == 302
    late.refresh_from_db()
    assert late.department == depts["health"]
    assert post_move(client, soon, "dispatch", to=f"c{w.committee_a2.pk}").status_code == 302
    soon.refresh_from_db()
    assert (soon.department, soon.assigned_committee) == (None, w.committee_a2)
    # Staff of A2 now handle it; the A1 committee still sees it.
    as_user(client, w.staff_a2)
    assert offered(client, soon) == ["start"]


def test_a_bad_move_shows_a_chinese_message_and_changes_nothing(client, world, orders, depts):
    w = world
    late, held = orders["late"], orders["held"]
    as_user(client, w.staff_a1)
    before = snapshot()
    response = post_move(client, late, "close")
    assert response.status_code == 200
    assert "工单当前为“已接收”,不能办结" in response.content.decode()
    response = post_move(client, late, "dispatch", to="d999999")
    assert "请选择派往的部门或居委会" in response.content.decode()
    response = post_move(client, late, "explode")
    assert response.status_code == 302
    assert "未知的操作" in client.get(response["Location"]).content.decode()
    assert snapshot() == before

    worker = as_user(Client(), depts["dept_a"])
    services.ticket_move(actor=acting(depts["dept_a"]), ticket=held, action="start")
    before = snapshot()
    response = post_move(worker, held, "reply", reply="  ")
    assert response.status_code == 200 and "请填写给居民的答复" in response.content.decode()
    # The form is shown again with the error, at the same place.
    assert [a.action for a in response.context["actions"]] == ["reply"]
    assert response.context["actions"][0].form.errors == {"reply": ["请填写给居民的答复"]}
    assert snapshot() == before
    for action, data in (("close", {}), ("call_back", {"satisfaction": "9"}), ("reopen", {}), ("accept", {})):
        response = post_move(worker, held, action, **data)
        assert response.status_code == 403, action  # a department does not close, call back or reopen
    assert snapshot() == before

    services.ticket_move(actor=acting(depts["dept_a"]), ticket=held, action="reply", reply="已配药")
    services.ticket_move(actor=acting(w.staff_a1), ticket=held, action="close")
    before = snapshot()
    response = post_move(client, held, "call_back", satisfaction="")
    assert "请选择满意度(1-5)" in response.content.decode()
    response = post_move(client, held, "call_back", satisfaction="9")
    assert "请选择满意度(1-5)" in response.content.decode()
    response = post_move(client, held, "reopen", note=" ")
    assert "请写明重新打开的原因" in response.content.decode()
    assert snapshot() == before


def test_a_stale_form_is_refused_with_the_current_state(client, world, orders):
    w = world
    late = orders["late"]
    as_user(client, w.staff_a1)
    assert offered(client, late) == ["accept"]
    services.ticket_move(actor=acting(w.street_officer), ticket=late, action="accept")
    response = post_move(client, late, "accept")
    assert response.status_code == 200 and "工单当前为“已受理”,不能受理" in response.content.decode()
    assert TicketEvent.objects.filter(ticket=late, action="accept").count() == 1


def test_extension_of_a_complex_order(client, world, depts):
    w = world
    ticket, _t = services.ticket_create(
        actor=acting(w.staff_a1), source="hotline", category="utilities", urgency="normal", description="楼道漏水",
        committee=w.committee_a1, external_number="12345-2026-000001", deadline_class="complex",
    )
    for actor, action, extra in (
        (w.staff_a1, "accept", {}), (w.street_officer, "dispatch", {"department": depts["health"]}),
        (depts["dept_a"], "start", {}),
    ):
        services.ticket_move(actor=acting(actor), ticket=ticket, action=action, **extra)
    worker, street, staff = Client(), Client(), Client()
    as_user(worker, depts["dept_a"]), as_user(street, w.street_officer), as_user(staff, w.staff_a1)
    assert offered(worker, ticket) == ["reply", "extension"]
    assert "decide" not in offered(street, ticket)
    url = reverse("tickets:extension", args=[ticket.pk])
    before = snapshot()
    response = worker.post(url, {"days": "30", "reason": "需物业配合"})
    assert response.status_code == 200 and "延期天数为1-15个工作日" in response.content.decode()
    response = worker.post(url, {"days": "5", "reason": ""})
    assert "请写明延期理由" in response.content.decode()
    assert snapshot() == before
    assert worker.post(url, {"days": "5", "reason": "需物业配合"}).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.extension, ticket.extension_days) == ("requested", 5)
    assert "extension" not in offered(worker, ticket)
    # Only the street decides; the committee holding the order may not.
    assert "decide" in offered(street, ticket) and "decide" not in offered(staff, ticket)
    decide = reverse("tickets:extension_decide", args=[ticket.pk])
    before = snapshot()
    assert staff.post(decide, {"decision": "approve"}).status_code == 403
    assert worker.post(decide, {"decision": "approve"}).status_code == 403
    response = street.post(decide, {"decision": "refuse", "note": ""})
    assert response.status_code == 200 and "请写明不批准的理由" in response.content.decode()
    assert snapshot() == before
    old_deadline = ticket.deadline_at
    response = street.post(decide, {"decision": "approve"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.extension == "approved" and ticket.original_deadline_at == old_deadline
    assert ticket.deadline_at > old_deadline
    assert "已批准延期" in street.get(response["Location"]).content.decode()
    response = street.post(decide, {"decision": "approve"})
    assert response.status_code == 200 and "没有待审批的延期申请" in response.content.decode()


# Intake


def intake(w, **change):
    return {
        "source": "call", "category": "medicine", "urgency": "urgent", "description": "独居老人,降压药吃完了",
        "committee": w.committee_a1.pk, "compound": w.compound_a1.pk, "building": "5号楼", "room": "302",
        "requester_name": "张阿姨", "requester_phone": "138 1234 5678", "external_number": "", "deadline_class": "",
    } | change


def keyed(client, data):
    page = client.get(reverse("tickets:new"))
    key = re.search(r'name="form_key" value="([^"]+)"', page.content.decode()).group(1)
    return data | {"form_key": key}


def test_committee_staff_take_in_a_call(client, world):
    w = world
    as_user(client, w.staff_a1)
    page = client.get(reverse("tickets:new"))
    form = page.context["form"]
    assert list(form.fields["committee"].queryset) == [w.committee_a1]
    assert form.fields["committee"].initial == w.committee_a1.pk
    assert f'<option value="{w.committee_a1.pk}" selected>' in page.content.decode()
    response = client.post(reverse("tickets:new"), keyed(client, intake(w)))
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("tickets:detail", args=[ticket.pk])
    assert (ticket.source, ticket.household, ticket.requester_phone, ticket.deadline_class, ticket.created_by) == (
        "call", w.household_a1, "13812345678", "emergency", w.staff_a1)
    body = client.get(response["Location"]).content.decode()
    token = re.search(r"/help/t/([A-Za-z0-9_-]+)/", body).group(1)
    assert token_hash(token) == ticket.follow_token_hash
    assert "只显示这一次" in body and "138****5678" in body
    # Shown once.
    assert "/help/t/" not in client.get(response["Location"]).content.decode()


def test_the_same_form_sent_twice_makes_one_ticket(client, world):
    w = world
    as_user(client, w.staff_a1)
    data = keyed(client, intake(w))
    first = client.post(reverse("tickets:new"), data)
    again = client.post(reverse("tickets:new"), data)
    ticket = Ticket.objects.get()
    assert first["Location"] == again["Location"] == reverse("tickets:detail", args=[ticket.pk])
    body = client.get(again["Location"]).content.decode()
    assert f"这张表单已提交过,工单{ticket.number}已登记,没有重复登记。" in body
    assert TicketEvent.objects.count() == 1 and AuditEvent.objects.filter(action="ticket_create").count() == 1
    # A new form for the same request is a new ticket (two calls about the same thing).
    client.post(reverse("tickets:new"), keyed(client, intake(w)))
    assert Ticket.objects.count() == 2
    # Another user's key, a forged one or none: refused, nothing written.
    other = as_user(Client(), w.street_officer)
    stolen = keyed(other, intake(w))["form_key"]
    for key in (stolen, "forged", ""):
        response = client.post(reverse("tickets:new"), intake(w) | {"form_key": key})
        assert response.status_code == 200 and "表单已过期或无效" in response.content.decode()
    assert Ticket.objects.count() == 2


def test_an_expired_form_key_is_refused(client, world, monkeypatch):
    w = world
    as_user(client, w.staff_a1)
    data = keyed(client, intake(w))
    monkeypatch.setattr("xiuhua.tickets.forms.INTAKE_KEY_MAX_AGE", -1)
    response = client.post(reverse("tickets:new"), data)
    assert "表单已过期或无效" in response.content.decode() and not Ticket.objects.exists()
    # The page comes back with a fresh key, so the next submission goes through.
    monkeypatch.setattr("xiuhua.tickets.forms.INTAKE_KEY_MAX_AGE", 3600)
    fresh = re.search(r'name="form_key" value="([^"]+)"', response.content.decode()).group(1)
    assert fresh != data["form_key"]
    assert client.post(reverse("tickets:new"), data | {"form_key": fresh}).status_code == 302


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"description": " "}, "description", "请写明需要什么帮助"),
        ({"category": ""}, "category", "请选择类别"),
        ({"building": "9号"}, "building", "国和一村没有“9号”这个楼号,请核对"),
        ({"room": "808"}, "room", "花名册中没有国和一村5号808室这一户"),
        ({"compound": ""}, "compound", "填写门牌时请选择小区"),
        ({"requester_phone": "12345"}, "requester_phone", "手机号码格式不正确"),
        ({"committee": "OTHER_STREET"}, "committee", "请选择您辖区内的居委会"),
        ({"source": "door_qr"}, "source", "请选择来源"),
        ({"source": "hotline"}, "external_number", "请填写12345工单号"),
    ],
)
def test_bad_intake_is_shown_in_chinese_and_writes_nothing(client, world, change, field, message):
    w = world
    change = {k: (w.committee_b1.pk if v == "OTHER_STREET" else v) for k, v in change.items()}
    as_user(client, w.staff_a1)
    data = keyed(client, intake(w, **change))
    before = snapshot()
    response = client.post(reverse("tickets:new"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert message in response.content.decode()
    assert snapshot() == before


def test_street_officer_takes_in_a_hotline_order_once(client, world):
    w = world
    as_user(client, w.street_officer)
    form = client.get(reverse("tickets:new")).context["form"]
    assert list(form.fields["committee"].queryset) == [w.committee_a1, w.committee_a2]
    data = intake(w, source="hotline", committee=w.committee_a2.pk, compound="", building="", room="",
                  requester_phone="", external_number="12345-2026-000777", deadline_class="complaint",
                  category="utilities", urgency="normal", description="停水三天")
    response = client.post(reverse("tickets:new"), keyed(client, data))
    ticket = Ticket.objects.get()
    assert (ticket.committee, ticket.household, ticket.deadline_class, ticket.external_number) == (
        w.committee_a2, None, "complaint", "12345-2026-000777")
    assert "/help/t/" in client.get(response["Location"]).content.decode()
    # The same 12345 order typed in again on a new form: the same ticket.
    again = client.post(reverse("tickets:new"), keyed(client, data | {"description": "停水三天了"}))
    assert again["Location"] == response["Location"] and Ticket.objects.count() == 1
    assert "12345工单号12345-2026-000777已登记为" in client.get(again["Location"]).content.decode()
    # A household of another committee than the one chosen.
    response = client.post(reverse("tickets:new"), keyed(client, intake(w, committee=w.committee_a2.pk)))
    assert "请选择所选居委会的小区" in response.content.decode() and Ticket.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_postgres_makes_one_ticket(world):
    """Many copies of one rendered form at once (a double click, a retrying proxy)."""
    w = world
    first = as_user(Client(), w.staff_a1)
    data = keyed(first, intake(w))
    barrier = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def send():
        client = as_user(Client(), w.staff_a1)
        try:
            barrier.wait()
            response = client.post(reverse("tickets:new"), data)
            with lock:
                results.append(response["Location"])
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ticket = Ticket.objects.get()
    assert results == [reverse("tickets:detail", args=[ticket.pk])] * 8


def test_the_follow_up_link_is_reissued_from_the_detail_page(client, world):
    from xiuhua.tickets.services import token_hash

    w = world
    ticket, old = services.ticket_create(
        actor=None, source="door_qr", category="medicine", urgency="urgent", description="降压药",
        committee=w.committee_a1, household=w.household_a1,
    )
    url = f"/tickets/{ticket.pk}/link/"
    client.force_login(w.staff_a2)  # another committee: the order is not there
    assert client.post(url).status_code == 404
    client.force_login(w.grid_worker)  # no tickets at all
    assert client.post(url).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).follow_token_hash == token_hash(old)
    client.force_login(w.staff_a1)
    assert 'id="reissue-form"' in client.get(f"/tickets/{ticket.pk}/").content.decode()
    page = client.post(url, follow=True).content.decode()
    assert "旧链接已失效" in page and old not in page
    assert Ticket.objects.get(pk=ticket.pk).follow_token_hash != token_hash(old)


def test_the_board_links_to_the_other_pages_by_role(client, world, orders, depts):
    expected = {
        world.staff_a1: {"ticket-new", "daily-link", "doors-link"},
        world.street_officer: {"ticket-new", "daily-link", "doors-link", "import-link", "rules-link",
                               "departments-link"},
        depts["dept_a"]: set(),
    }
    links = ("ticket-new", "daily-link", "doors-link", "import-link", "rules-link", "departments-link")
    for user, shown in expected.items():
        as_user(client, user)
        body = client.get(reverse("tickets:board")).content.decode()
        assert {name for name in links if f'id="{name}"' in body} == shown, user


def test_the_street_urges_whoever_holds_an_order(client, world, orders, depts):
    from xiuhua.sms.models import OutboundSms

    w = world
    held = orders["held"]  # dispatched to the health centre
    User.objects.filter(pk=depts["dept_a"].pk).update(mobile="13900000011")
    as_user(client, w.street_officer)
    page = client.get(reverse("tickets:detail", args=[held.pk])).content.decode()
    assert 'id="urge-form"' in page
    before = TicketEvent.objects.filter(ticket=held).count()
    refused = client.post(reverse("tickets:urge", args=[held.pk]), {"note": " "})
    assert refused.status_code == 200 and "请写明催办的要求" in refused.content.decode()
    assert TicketEvent.objects.filter(ticket=held).count() == before
    done = client.post(reverse("tickets:urge", args=[held.pk]), {"note": "请今天联系居民"}, follow=True)
    assert "已催办,短信通知1人" in done.content.decode()
    event = TicketEvent.objects.filter(ticket=held).latest("pk")
    assert (event.action, event.note, event.actor) == ("urge", "请今天联系居民", w.street_officer)
    assert list(OutboundSms.objects.filter(template="XH_TICKET_URGE").values_list("phone", "text")) == [
        ("13900000011", f"【绣花针】工单{held.number}催办:请今天联系居民")]
    # The department that holds it is urged, it does not urge.
    as_user(client, depts["dept_a"])
    assert client.post(reverse("tickets:urge", args=[held.pk]), {"note": "x"}).status_code == 403


def test_staff_correct_a_category_and_the_next_dispatch_follows_it(client, world, orders, depts):
    w = world
    services.routing_rule_set(actor=acting(w.street_officer), street=w.street_a, category="medicine",
                              department=depts["health"])
    ticket, _t = services.ticket_create(actor=None, source="sms", category="other", urgency="normal",
                                        description="老伴的降压药吃完了", committee=w.committee_a1,
                                        requester_phone="13812345678")
    deadline = ticket.deadline_at
    url = reverse("tickets:reclassify", args=[ticket.pk])
    as_user(client, w.staff_a1)
    assert 'id="reclassify-form"' in client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    same = client.post(url, {"category": "other", "urgency": "normal"})
    assert same.status_code == 200 and "类别和紧急程度没有变化" in same.content.decode()
    assert client.post(url, {"category": "medicine", "urgency": "normal", "note": "是配药"}).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.category, ticket.urgency, ticket.deadline_at) == ("medicine", "normal", deadline)
    event = TicketEvent.objects.filter(ticket=ticket).latest("pk")
    assert (event.action, event.note) == ("reclassify", "其他/一般 → 配药/一般:是配药")
    services.ticket_move(actor=acting(w.staff_a1), ticket=ticket, action="accept")
    dispatched = services.ticket_move(actor=acting(w.staff_a1), ticket=ticket, action="dispatch")
    assert dispatched.department == depts["health"]  # medicine goes to the health centre by rule
    # A department member may not change it.
    as_user(client, depts["dept_a"])
    assert client.post(url, {"category": "food", "urgency": "normal"}).status_code == 403
