"""The street's daily work-order report: exact figures on a constructed day, and its pages."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting, as_user, make_user
from xiuhua.tickets import reports, services
from xiuhua.tickets.models import Department, Ticket, TicketEvent

from .test_calendar import at, end_of

pytestmark = pytest.mark.django_db

DAY = dt.date(2022, 4, 6)  # the first working day after Qingming (3-5 April 2022)
NOW = at(2022, 4, 8, 12)


def D(h, minute=0):  # noqa: N802 - a time on the report's day
    return at(2022, 4, 6, h, minute)


def call(w, committee, category, klass, received, **extra):
    staff = acting(w.staff_a1 if committee == w.committee_a1 else w.staff_a2)
    ticket, _token = services.ticket_create(
        actor=staff, source="call", category=category, urgency="normal", description="需要帮助",
        committee=committee, deadline_class=klass, now=received, **extra,
    )
    return ticket


def move(w, ticket, *steps):
    """Apply (action, time[, extra]) steps with the ticket's committee staff."""
    staff = acting(w.staff_a1 if ticket.committee_id == w.committee_a1.pk else w.staff_a2)
    for action, when, *extra in steps:
        services.ticket_move(actor=staff, ticket=ticket, action=action, now=when, **(extra[0] if extra else {}))


def handled(when):
    """accept, dispatch, start and reply, a minute apart from `when`."""
    return [("accept", when), ("dispatch", when + dt.timedelta(minutes=1)),
            ("start", when + dt.timedelta(minutes=2)), ("reply", when + dt.timedelta(minutes=3), {"reply": "已办理"})]


def extend(w, ticket, requested, decided):
    services.ticket_extension_request(actor=acting(w.staff_a2 if ticket.committee_id == w.committee_a2.pk
                                                   else w.staff_a1), ticket=ticket, days=3, reason="需协调物业",
                                      now=requested)
    services.ticket_extension_decide(actor=acting(w.street_officer), ticket=ticket, approve=True, now=decided)


@pytest.fixture
def day(world):
    w = world
    t = {}
    # T1: received, handled, closed on time and called back (5) on the day.
    t[1] = call(w, w.committee_a1, "food", "help", D(9), requester_name="张秀英", requester_phone="13812345678")
    move(w, t[1], ("accept", D(9, 10)), ("dispatch", D(9, 20)), ("start", D(9, 30)),
         ("reply", D(10), {"reply": "已送"}), ("close", D(11)), ("call_back", D(12), {"satisfaction": 5}))
    # T2: a consultation of 1 April, due at the end of Saturday 2 April (worked), closed late on the day.
    t[2] = call(w, w.committee_a1, "medicine", "consultation", at(2022, 4, 1, 18))
    move(w, t[2], ("accept", at(2022, 4, 1, 18, 5)), ("dispatch", at(2022, 4, 1, 18, 10)),
         ("start", at(2022, 4, 2, 9)), ("reply", D(9), {"reply": "已配药"}), ("close", D(10)),
         ("call_back", D(16), {"satisfaction": 4}))
    # T5: closed in time and called back (2) on the day, then reopened and dispatched again.
    t[5] = call(w, w.committee_a1, "elderly_care", "help", at(2022, 4, 2, 10))
    move(w, t[5], *handled(at(2022, 4, 2, 10, 5)), ("close", D(9)), ("call_back", D(9, 30), {"satisfaction": 2}),
         ("reopen", D(10), {"note": "老人仍无人照看"}), ("dispatch", D(11)))
    # T6: a consultation of 1 April, only accepted: open and overdue at the end of the day.
    t[6] = call(w, w.committee_a1, "food", "consultation", at(2022, 4, 1, 9))
    move(w, t[6], ("accept", at(2022, 4, 1, 9, 30)))
    # T7: open and overdue at the end of the day, closed the day after.
    t[7] = call(w, w.committee_a2, "food", "consultation", at(2022, 4, 1, 9))
    move(w, t[7], *handled(at(2022, 4, 1, 9, 30)), ("close", at(2022, 4, 7, 10)))
    # T8: the same, then reopened the day after (its deadline then has to be rebuilt).
    t[8] = call(w, w.committee_a2, "medicine", "consultation", at(2022, 4, 1, 9))
    move(w, t[8], *handled(at(2022, 4, 1, 9, 30)), ("close", at(2022, 4, 7, 10)),
         ("reopen", at(2022, 4, 7, 11), {"note": "仍缺药"}))
    # T9: another street's order on the day.
    services.ticket_create(actor=acting(w.staff_b1), source="call", category="food", urgency="normal",
                           description="买菜", committee=w.committee_b1, now=D(9))
    # T10: an urgent dialysis request from a door at 19:00, due in 4 hours, untouched.
    t[10], _token = services.ticket_create(actor=None, source="door_qr", category="dialysis", urgency="urgent",
                                           description="透析需要车辆", committee=w.committee_a2,
                                           household=w.household_a2, now=D(19))
    return t


@pytest.fixture
def extended(world, day):
    """Three complex orders with extensions, added to the day."""
    w, t = world, day
    # T3: complex, due 2 April, extended to 8 April before it closed on the day: on time.
    t[3] = call(w, w.committee_a2, "utilities", "complex", at(2022, 3, 14))
    move(w, t[3], *handled(at(2022, 3, 14, 11))[:3])
    extend(w, t[3], at(2022, 4, 1), at(2022, 4, 2))
    move(w, t[3], ("reply", D(13), {"reply": "已修复"}), ("close", D(14)))
    # T4: the same, but the extension was still waiting when it closed: late, and the street can
    # no longer approve it.
    t[4] = call(w, w.committee_a2, "utilities", "complex", at(2022, 3, 14))
    move(w, t[4], *handled(at(2022, 3, 14, 11))[:3])
    services.ticket_extension_request(actor=acting(w.staff_a2), ticket=t[4], days=3, reason="需协调物业",
                                      now=at(2022, 4, 1))
    move(w, t[4], ("reply", D(13), {"reply": "已修复"}), ("close", D(14)))
    with pytest.raises(ValidationError, match="已办结"):
        services.ticket_extension_decide(actor=acting(w.street_officer), ticket=t[4], approve=True, now=D(15))
    # T11: complex, due 2 April, extension approved only on 7 April: overdue at the end of the day.
    t[11] = call(w, w.committee_a1, "other", "complex", at(2022, 3, 14))
    move(w, t[11], *handled(at(2022, 3, 14, 11))[:3])
    extend(w, t[11], at(2022, 4, 1), at(2022, 4, 7, 9))
    return t


def test_the_constructed_day_in_exact_figures(world, day, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        report = reports.daily_report(unit=world.street_a, day=DAY, now=NOW)
    f = report.total
    assert not report.partial and report.cut == report.end
    assert (f.received, f.received_call, f.received_door_qr, f.received_walk_in, f.received_hotline) == (2, 1, 1, 0, 0)
    assert (f.accepted, f.dispatched, f.replied) == (1, 2, 2)  # T5's second dispatch counts
    assert (f.closed, f.closed_on_time, f.closed_late, f.closed_reopened) == (3, 1, 1, 1)
    assert f.overdue_open == 4  # T6 and T7, T8 (touched since), T10 (an emergency due at 23:00)
    assert (f.reopened, f.called_back, f.scored, f.unscored, f.satisfied) == (1, 3, 3, 0, 2)
    # T5's unhappy call-back (2) led to its reopening and still counts: the event keeps the score.
    assert (f.satisfaction_sum, f.average_satisfaction) == (11, 3.67)
    assert (f.on_time_rate.numerator, f.on_time_rate.denominator, f.on_time_rate.percent) == (1, 3, 33.3)
    assert (f.same_day_rate.numerator, f.same_day_rate.denominator, f.same_day_rate.percent) == (1, 2, 50.0)
    assert (f.satisfied_share.numerator, f.satisfied_share.denominator) == (2, 3)

    by = {c: figures for c, _label, figures in report.by_category}
    assert [label for _c, label, _f in report.by_category] == ["透析", "配药", "食品", "老人照护"]
    assert (by["food"].received, by["food"].closed_on_time, by["food"].overdue_open, by["food"].scored) == (1, 1, 2, 1)
    assert (by["medicine"].closed_late, by["medicine"].overdue_open, by["medicine"].satisfied) == (1, 1, 1)
    assert (by["elderly_care"].closed_reopened, by["elderly_care"].reopened, by["elderly_care"].scored) == (1, 1, 1)
    assert (by["dialysis"].received_door_qr, by["dialysis"].overdue_open) == (1, 1)


def test_extensions_count_by_the_deadline_in_force_at_closing(world, extended, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        report = reports.daily_report(unit=world.street_a, day=DAY, now=NOW)
    f = report.total
    # T3 (extended before closing) on time; T4 (extension still waiting at closing) late; T11 overdue at the end
    # of the day, because its extension was approved only the day after.
    assert (f.replied, f.closed, f.closed_on_time, f.closed_late, f.closed_reopened) == (4, 5, 2, 2, 1)
    assert f.overdue_open == 5
    assert (f.on_time_rate.numerator, f.on_time_rate.denominator, f.on_time_rate.percent) == (2, 5, 40.0)
    by = {c: figures for c, _label, figures in report.by_category}
    assert (by["utilities"].closed, by["utilities"].closed_on_time, by["utilities"].closed_late) == (2, 1, 1)
    assert by["other"].overdue_open == 1
    # At noon of the day T4 was still open and past its deadline of 2 April (the extension came at 15:00).
    noon = reports.daily_report(unit=world.street_a, day=DAY, now=D(12)).total
    assert noon.overdue_open == 5  # T4, T6, T7, T8, T11
    # The rebuilt deadline equals the one the services stored.
    from xiuhua.tickets.calendar import WorkCalendar

    t3 = Ticket.objects.get(pk=extended[3].pk)
    changes = list(TicketEvent.objects.filter(ticket=t3, action="extension_approve").values_list("action", "at"))
    assert reports.deadline_at_moment(WorkCalendar(), t3.received_at, t3.deadline_class, t3.extension_days,
                                      changes) == t3.deadline_at


def test_one_committee_and_the_district(world, day):
    a1 = reports.daily_report(unit=world.committee_a1, day=DAY, now=NOW).total
    assert (a1.received, a1.closed, a1.closed_on_time, a1.closed_late, a1.closed_reopened, a1.overdue_open) == (
        1, 3, 1, 1, 1, 1)
    a2 = reports.daily_report(unit=world.committee_a2, day=DAY, now=NOW).total
    assert (a2.received, a2.closed, a2.overdue_open) == (1, 0, 3)
    district = reports.daily_report(unit=world.district, day=DAY, now=NOW).total
    assert (district.received, district.accepted) == (3, 1)  # street B's order is received, never accepted


def test_the_report_does_not_change_with_later_moves_except_reopenings(world, day):
    """Figures of the day come from its events: moving T6 on a later day changes nothing."""
    before = reports.daily_report(unit=world.street_a, day=DAY, now=NOW).total
    move(world, day[6], ("dispatch", at(2022, 4, 8, 9)))
    after = reports.daily_report(unit=world.street_a, day=DAY, now=at(2022, 4, 8, 13)).total
    assert after == before
    # A later reopening takes a closing of the day out of "on time", as documented.
    move(world, day[1], ("reopen", at(2022, 4, 8, 10), {"note": "送错了"}))
    later = reports.daily_report(unit=world.street_a, day=DAY, now=at(2022, 4, 8, 13)).total
    assert (later.closed, later.closed_on_time, later.closed_reopened, later.scored, later.unscored) == (3, 0, 2, 3, 0)
    assert later.received_closed_same_day == 0


def test_today_is_counted_up_to_now(world, day):
    report = reports.daily_report(unit=world.street_a, day=DAY, now=D(12))
    assert report.partial and report.cut == D(12)
    # At noon T10 was not yet received and T2 was closed; T6, T7 and T8 were open past their deadlines.
    assert (report.total.received, report.total.closed, report.total.overdue_open) == (1, 3, 3)


def test_deadline_rebuilt_as_the_services_set_it(world, day):
    """The rebuilt deadline of a reopened order equals the one the services stored."""
    from xiuhua.tickets.calendar import WorkCalendar

    t8 = Ticket.objects.get(pk=day[8].pk)
    changes = list(TicketEvent.objects.filter(ticket=t8, action__in=("reopen", "extension_approve"))
                   .values_list("action", "at"))
    assert reports.deadline_at_moment(WorkCalendar(), t8.received_at, t8.deadline_class, t8.extension_days,
                                      changes) == t8.deadline_at
    assert reports.deadline_at_moment(WorkCalendar(), t8.received_at, t8.deadline_class, None, []) == end_of(2022, 4, 2)


def test_excel_has_the_counts_and_no_personal_data(world, day):
    data = reports.daily_report_xlsx(reports.daily_report(unit=world.street_a, day=DAY, now=NOW))
    book = load_workbook(io.BytesIO(data))
    summary, by_category = book["汇总"], book["按类别"]
    rows = {row[0]: row[1:] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert rows["当日接收"][0] == 2 and rows["按时办结"][0] == 1 and rows["超时办结"][0] == 1
    assert rows["按时办结率"][:3] == (pytest.approx(1 / 3), 1, 3)
    assert rows["满意率(4-5分)"][:3] == (pytest.approx(2 / 3), 2, 3)
    assert rows["平均满意度"][:3] == (3.67, 11, 3)
    # Rates are numbers shown as percents, so the sheet can sum and sort them.
    rates = {row[0].value: row[1] for row in summary.iter_rows() if row[0].value in (
        "按时办结率", "满意率(4-5分)", "当日办结率")}
    assert len(rates) == 3 and all(cell.data_type == "n" and cell.number_format == "0.0%" for cell in rates.values())
    assert [row[0] for row in by_category.iter_rows(values_only=True)][-1] == "合计"
    header = [cell.value for cell in by_category[1]]
    on_time, satisfied = header.index("按时办结率") + 1, header.index("满意率(4-5分)") + 1
    total = by_category.max_row
    assert by_category.cell(total, on_time).value == pytest.approx(1 / 3)
    assert by_category.cell(total, satisfied).value == pytest.approx(2 / 3)
    for row in range(2, total + 1):
        for column in (on_time, satisfied):
            cell = by_category.cell(row, column)
            assert cell.number_format == "0.0%" and (cell.value is None or cell.data_type == "n"), (row, column)
    values = [by_category.cell(row, on_time).value for row in range(2, total)]
    assert None in values and all(v is None or 0 <= v <= 1 for v in values)  # no closing: empty, not "—"
    text = " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v)
    assert "张秀英" not in text and "13812345678" not in text and "国和" not in text


# ---------------------------------------------------------------- pages


@pytest.fixture
def department_worker(world):
    department = Department.objects.create(street=world.street_a, name="城运中心")
    worker = make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a)
    department.members.add(Membership.objects.get(user=worker))
    return worker


def snapshot():
    return Ticket.objects.count(), TicketEvent.objects.count(), AuditEvent.objects.count()


def urls(w):
    date = f"?date={DAY.isoformat()}"
    return {
        "daily": reverse("tickets_office:daily") + date,
        "daily_xlsx": reverse("tickets_office:daily_xlsx") + date,
    }


def test_the_page_shows_each_rate_with_numerator_and_denominator(client, world, day):
    as_user(client, world.street_officer)
    response = client.get(urls(world)["daily"])
    assert response.status_code == 200
    assert response.context["report"].total.closed == 3
    body = response.content.decode()
    on_time = body.split('id="rate-on_time_rate"')[1].split("</div>")[0]
    assert "33.3%" in on_time and '<span class="num">1</span>' in on_time and '<span class="den">3</span>' in on_time
    assert "按时办结" in on_time and "当日全部办结" in on_time
    same_day = body.split('id="rate-same_day_rate"')[1].split("</div>")[0]
    assert "50.0%" in same_day and '<span class="num">1</span>' in same_day and '<span class="den">2</span>' in same_day
    assert 'id="count-overdue_open"' in body and "张秀英" not in body
    # One committee of the street.
    response = client.get(urls(world)["daily"] + f"&committee={world.committee_a1.pk}")
    assert response.context["unit"] == world.committee_a1 and response.context["report"].total.closed == 3
    xlsx = client.get(urls(world)["daily_xlsx"] + f"&committee={world.committee_a1.pk}")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book["汇总"]["A1"].value == "国和一村居委会 工单日报 2022-04-06"


def test_a_bad_date_shows_today(client, world):
    as_user(client, world.street_officer)
    response = client.get(reverse("tickets_office:daily") + "?date=2022-13-40")
    assert response.status_code == 200 and response.context["report"].partial


def test_a_committee_sees_its_own_figures_only(client, world, day):
    as_user(client, world.staff_a1)
    for name, url in urls(world).items():
        assert client.get(url).status_code == 200, name
        assert client.get(url + f"&committee={world.committee_a1.pk}").status_code == 200, name
        assert client.get(url + f"&committee={world.committee_a2.pk}").status_code == 404, name
        assert client.get(url + "&committee=999999").status_code == 404, name
        assert client.get(url + "&committee=x").status_code == 404, name
    response = client.get(urls(world)["daily"])
    assert response.context["unit"] == world.committee_a1 and response.context["report"].total.received == 1


def test_another_street_gets_404_for_our_committee(client, world, day):
    as_user(client, world.street_officer_b)
    for name, url in urls(world).items():
        assert client.get(url + f"&committee={world.committee_a1.pk}").status_code == 404, name
    response = client.get(urls(world)["daily"])
    assert response.context["unit"] == world.street_b and response.context["report"].total.received == 1


def test_the_district_sees_all_its_streets(client, world, day):
    as_user(client, world.district_officer)
    response = client.get(urls(world)["daily"])
    assert response.status_code == 200 and response.context["report"].total.received == 3
    assert client.get(urls(world)["daily"] + f"&committee={world.committee_b1.pk}").status_code == 200


@pytest.mark.parametrize("name", ["daily", "daily_xlsx"])
def test_anonymous_and_wrong_roles_are_refused_and_nothing_is_written(client, world, day, department_worker, name):
    url = urls(world)[name]
    before = snapshot()
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for username in ("grid_a1", "volunteer", "pharmacy", "sysadmin", "nobody", "dept_a"):
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code == 403, username
        assert client.post(url).status_code == 403, username
    assert snapshot() == before
