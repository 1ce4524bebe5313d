"""China's public holidays and adjusted working days (调休) of 2020 and 2022, as the State
Council published them (2020 with the Spring Festival extended to 2 February for the epidemic).
Later years are added by an administrator in the admin when they are published."""

import datetime as dt

from django.db import migrations

HOLIDAYS = [
    ("2020-01-01", "2020-01-01", "元旦"),
    ("2020-01-24", "2020-02-02", "春节(延长)"),
    ("2020-04-04", "2020-04-06", "清明节"),
    ("2020-05-01", "2020-05-05", "劳动节"),
    ("2020-06-25", "2020-06-27", "端午节"),
    ("2020-10-01", "2020-10-08", "国庆节、中秋节"),
    ("2022-01-01", "2022-01-03", "元旦"),
    ("2022-01-31", "2022-02-06", "春节"),
    ("2022-04-03", "2022-04-05", "清明节"),
    ("2022-04-30", "2022-05-04", "劳动节"),
    ("2022-06-03", "2022-06-05", "端午节"),
    ("2022-09-10", "2022-09-12", "中秋节"),
    ("2022-10-01", "2022-10-07", "国庆节"),
]
WORKDAYS = [
    ("2020-01-19", "春节调休"),
    ("2020-04-26", "劳动节调休"),
    ("2020-05-09", "劳动节调休"),
    ("2020-06-28", "端午节调休"),
    ("2020-09-27", "国庆节调休"),
    ("2020-10-10", "国庆节调休"),
    ("2022-01-29", "春节调休"),
    ("2022-01-30", "春节调休"),
    ("2022-04-02", "清明节调休"),
    ("2022-04-24", "劳动节调休"),
    ("2022-05-07", "劳动节调休"),
    ("2022-10-08", "国庆节调休"),
    ("2022-10-09", "国庆节调休"),
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
    CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)


def unload(apps, schema_editor):
    CalendarDay = apps.get_model("tickets", "CalendarDay")
    CalendarDay.objects.filter(date__year__in=[2020, 2022]).delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
