"""China's public holidays and adjusted working days (调休) of 2026, as published by the General
Office of the State Council on 4 November 2025. Later years are added by an
administrator in the admin when they are published."""

import datetime as dt

from django.db import migrations

HOLIDAYS = [
    ("2026-01-01", "2026-01-03", "元旦"),
    ("2026-02-15", "2026-02-23", "春节"),
    ("2026-04-04", "2026-04-06", "清明节"),
    ("2026-05-01", "2026-05-05", "劳动节"),
    ("2026-06-19", "2026-06-21", "端午节"),
    ("2026-09-25", "2026-09-27", "中秋节"),
    ("2026-10-01", "2026-10-07", "国庆节"),
]
WORKDAYS = [
    ("2026-01-04", "元旦调休"),
    ("2026-02-14", "春节调休"),
    ("2026-02-28", "春节调休"),
    ("2026-05-09", "劳动节调休"),
    ("2026-09-20", "国庆节调休"),
    ("2026-10-10", "国庆节调休"),
]


def load(apps, schema_editor):
    CalendarDay = apps.get_model("tickets", "CalendarDay")
    rows = []
    for first, last, name in HOLIDAYS:
        day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        while day <= end:
            rows.append(CalendarDay(date=day, kind="holiday", name=name))
            day += dt.timedelta(days=1)
    rows += [CalendarDay(date=dt.date.fromisoformat(d), kind="workday", name=name) for d, name in WORKDAYS]
    # An administrator may have entered the year already: keep what is there.
    CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)


def unload(apps, schema_editor):
    CalendarDay = apps.get_model("tickets", "CalendarDay")
    CalendarDay.objects.filter(date__year=2026).delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_door_requests")]
    operations = [migrations.RunPython(load, unload)]
