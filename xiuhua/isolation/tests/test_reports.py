"""The daily count per committee, and its Excel file."""

import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.isolation import reports, services
from xiuhua.isolation.models import CaseStatus, Contact, ContactOutcome
from xiuhua.testing import acting
from xiuhua.tracing.tests.test_services import csv_bytes, import_list

from .test_services import at, register

pytestmark = pytest.mark.django_db


def test_daily_counts_per_committee_and_excel(world):
    w = world
    staff_a1, staff_a2 = acting(w.staff_a1), acting(w.staff_a2)
    # A1: one case opened on the 10th; A2: one arrival on the 10th, its case opened on the 10th
    # and another released on the 10th.
    a1 = services.case_open(actor=staff_a1, arrival=register(w), now=at(10, 11, 30))
    arrival_a2 = register(w, actor=w.staff_a2, household=w.household_a2, name="吴来沪", phone="13922223333",
                          number=make_resident_id("420102", dt.date(1990, 1, 1), 555))
    services.case_open(actor=staff_a2, arrival=arrival_a2, now=at(10, 12))
    early = register(w, actor=w.staff_a2, household=w.household_a2, name="郑来沪", phone="13933334444",
                     arrival_date=dt.date(2020, 1, 20), id_number="", now=at(1, 9))
    old_case = services.case_open(actor=staff_a2, arrival=early, now=at(1, 9))
    services.case_close(actor=staff_a2, case=old_case, status=CaseStatus.RELEASED, now=at(10, 9))
    # A1 did not reach its 16:00 contact on the 10th; A2 has not recorded its 16:00 one by 20:00.
    Contact.objects.filter(case=a1, due_at=at(10, 16)).update(outcome=ContactOutcome.NOT_REACHED)
    # The tracing list leaves one person open in A1 (张秀英, by identity number).
    import_list(w, csv_bytes(f"张秀英,{w.resident_a1.plain_id},,,"), now=at(10, 10))

    officer = acting(w.street_officer)
    rows, total = reports.daily_report(user=officer, day=dt.date(2020, 2, 10), now=at(10, 20))
    got = {c.name: (r.in_isolation, r.opened, r.released, r.contacts_overdue, r.arrivals, r.list_open)
           for c, r in rows}
    assert got == {"国和一村居委会": (1, 1, 0, 1, 1, 1), "国和二村居委会": (1, 1, 1, 1, 1, 0)}
    assert (total.in_isolation, total.opened, total.released, total.contacts_overdue, total.arrivals) == (
        2, 2, 1, 2, 2)
    # Committee staff see only their own row.
    mine, _total = reports.daily_report(user=staff_a1, day=dt.date(2020, 2, 10), now=at(10, 20))
    assert [c.name for c, _r in mine] == ["国和一村居委会"]

    data = reports.daily_report_xlsx(unit_name="长海路街道", day=dt.date(2020, 2, 10), rows=rows, total=total)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "长海路街道 每日防控情况汇总 2020-02-10"
    assert values[1] == ["居委会", "区划代码", "居家隔离中", "当日新增隔离", "当日解除隔离", "当日漏联系",
                         "当日抵沪人员", "清单待落实"]
    assert values[2] == ["国和一村居委会", "310110012001", 1, 1, 0, 1, 1, 1]
    assert values[4][:2] == ["合计", None] and values[4][2] == 2


def test_new_cases_are_the_ones_opened_that_day_in_beijing_time(world):
    """Three cases opened on earlier days (as the demo seeds them) and one today: one new today;
    a case opened at 00:30 Beijing time (16:30 UTC the day before) is new on its Beijing day."""
    w = world
    staff = acting(w.staff_a1)
    today = timezone.localdate()
    for i, days in enumerate((3, 2, 1)):
        day = today - dt.timedelta(days=days)
        opened = timezone.make_aware(dt.datetime.combine(day, dt.time(0, 30)))
        arrival = register(w, name=f"旧{i}", phone=f"1391111000{i}", arrival_date=day, now=opened,
                           number=make_resident_id("420102", dt.date(1980, 1, 1 + i), 100 + i))
        case = services.case_open(actor=staff, arrival=arrival, now=opened)
        assert (arrival.created_at, case.created_at) == (opened, opened)
    arrival = register(w, name="新来沪", phone="13911119999", arrival_date=today, now=timezone.now(),
                       number=make_resident_id("420102", dt.date(1990, 1, 1), 200))
    services.case_open(actor=staff, arrival=arrival, now=timezone.now())
    _rows, total = reports.daily_report(user=staff, day=today)
    assert (total.opened, total.in_isolation) == (1, 4)
    _rows, yesterday = reports.daily_report(user=staff, day=today - dt.timedelta(days=1))
    assert yesterday.opened == 1
