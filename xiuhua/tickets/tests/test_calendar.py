"""Deadline arithmetic across public holidays and adjusted working weekends (调休)."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.tickets.calendar import DeadlineClass, WorkCalendar
from xiuhua.tickets.models import CalendarDay

pytestmark = pytest.mark.django_db

TZ = timezone.get_fixed_timezone(8 * 60)


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=TZ)


def end_of(y, m, d):
    return timezone.localtime(dt.datetime(y, m, d, 23, 59, 59, tzinfo=TZ))


@pytest.fixture
def cal():
    return WorkCalendar()


def test_the_2020_and_2022_calendars_are_loaded():
    assert CalendarDay.objects.filter(date__year=2020, kind="holiday").count() == 30
    assert CalendarDay.objects.filter(date__year=2020, kind="workday").count() == 6
    assert CalendarDay.objects.filter(date__year=2022, kind="workday").count() == 7


@pytest.mark.parametrize(
    "day, working",
    [
        (dt.date(2020, 1, 19), True),  # a Sunday worked before the Spring Festival
        (dt.date(2020, 1, 31), False),  # a Friday inside the extended Spring Festival
        (dt.date(2020, 2, 3), True),  # the Monday work resumed
        (dt.date(2020, 2, 8), False),  # an ordinary Saturday
        (dt.date(2020, 5, 9), True),  # a Saturday worked after May Day
        (dt.date(2022, 4, 2), True),  # a Saturday worked before Qingming
        (dt.date(2022, 4, 4), False),  # Qingming Monday
    ],
)
def test_working_days(cal, day, working):
    assert cal.is_working_day(day) is working


def test_received_before_the_spring_festival_counts_after_it(cal):
    # Received Thursday 23 January 2020; 24 Jan - 2 Feb are holidays.
    assert cal.deadline(at(2020, 1, 23), DeadlineClass.CONSULTATION) == end_of(2020, 2, 3)
    assert cal.deadline(at(2020, 1, 23), DeadlineClass.SUPERVISION) == end_of(2020, 2, 5)
    assert cal.deadline(at(2020, 1, 23), DeadlineClass.HELP) == end_of(2020, 2, 7)
    # Fifteen working days: 3-7, 10-14, 17-21 February.
    assert cal.deadline(at(2020, 1, 23), DeadlineClass.COMPLEX) == end_of(2020, 2, 21)


def test_an_adjusted_working_weekend_counts(cal):
    # Received Saturday 18 January 2020: Sunday 19th is a working day, so one day ends then.
    assert cal.deadline(at(2020, 1, 18), DeadlineClass.CONSULTATION) == end_of(2020, 1, 19)
    # Received Thursday 30 April 2020 (the day before May Day): 1-5 May off, Saturday 9 May worked:
    # 6, 7, 8, 9 and 11 May, where a calendar without the adjusted Saturday would say the 12th.
    assert cal.deadline(at(2020, 4, 30), DeadlineClass.COMPLAINT) == end_of(2020, 5, 11)


def test_friday_evening_and_weekend_receipts(cal):
    assert cal.deadline(at(2022, 3, 18, 22, 30), DeadlineClass.CONSULTATION) == end_of(2022, 3, 21)
    assert cal.deadline(at(2022, 3, 19), DeadlineClass.CONSULTATION) == end_of(2022, 3, 21)


def test_received_during_the_2022_qingming_break(cal):
    # Received Sunday 3 April 2022 (holiday 3-5 April): the 6th is the first working day.
    assert cal.deadline(at(2022, 4, 3), DeadlineClass.SUPERVISION) == end_of(2022, 4, 8)


def test_emergencies_are_hours_holidays_or_not(cal):
    assert cal.deadline(at(2020, 1, 25, 22, 0), DeadlineClass.EMERGENCY) == at(2020, 1, 26, 2, 0)


def test_an_administrator_added_day_is_used():
    CalendarDay.objects.create(date=dt.date(2026, 12, 31), kind="holiday", name="示例")
    cal = WorkCalendar()
    assert cal.deadline(at(2026, 12, 30), DeadlineClass.CONSULTATION) == end_of(2027, 1, 1)


def test_working_days_between(cal):
    assert cal.working_days_between(dt.date(2020, 1, 23), dt.date(2020, 2, 7)) == 5
    assert cal.working_days_between(dt.date(2020, 2, 7), dt.date(2020, 2, 7)) == 0
    with pytest.raises(ValueError):
        cal.add_working_days(dt.date(2020, 2, 7), 0)
    with pytest.raises(ValueError):
        cal.deadline(at(2020, 2, 7), "whenever")


def test_the_2026_calendar_is_loaded():
    # 3 + 9 + 3 + 5 + 3 + 3 + 7 days off, 6 weekend days worked.
    assert CalendarDay.objects.filter(date__year=2026, kind="holiday").count() == 33
    assert CalendarDay.objects.filter(date__year=2026, kind="workday").count() == 6


def test_2026_national_day_with_its_adjusted_sunday(cal):
    # Friday 18 September, evening: Sunday 20 September is worked, so five working days end on
    # Thursday the 24th rather than Friday the 25th (the first day of the Mid-Autumn break).
    assert cal.deadline(at(2026, 9, 18, 20), DeadlineClass.HELP) == end_of(2026, 9, 24)
    # A complex order from the 24th: 25-27 Sep and 1-7 Oct off, Saturday 10 Oct worked.
    assert cal.deadline(at(2026, 9, 24, 9), DeadlineClass.COMPLEX) == end_of(2026, 10, 22)


def test_2026_spring_festival(cal):
    # Friday 13 February: Saturday the 14th is worked, then nine days off (15-23 February).
    assert cal.deadline(at(2026, 2, 13, 16), DeadlineClass.SUPERVISION) == end_of(2026, 2, 25)
