"""The talent directory over 20,000 volunteers and the day's duty tables of 130 compounds.

    .venv/bin/python bench/volunteers.py [--volunteers 20000] [--compounds 130] [--searches 300]

Set-up (not timed), in `DATABASE_URL`, else volunteers_bench on localhost (created and migrated
by _db.use_bench_database): a district 志愿者压测区 with one street of 26 committees and
`--compounds` compounds (5 per committee); `--volunteers` volunteers spread over the compounds,
each with one or two talents (doctors and nurses with a specialty, translators with languages,
qualifications needing proof confirmed for two in three), weekly availability; per compound three
posts with four shifts each on the bench day and places taken on them. Written once with bulk
inserts and reused by later runs of the same size (the script runs twice in a row on one database).

Timed, through Django's test client (middleware, policy, view, template):
- `search_p95_ms`: the directory page `/volunteers/` as the street officer (all 20,000 volunteers
  in scope) and as one committee's staff, `--searches` varied queries: skill, specialty or
  language, compound, confirmed only, available now, page 1 or 2; p95 of the response times.
- `duty_seconds`: `/volunteers/day.pdf` for each of the 130 compounds for the bench day, one
  after another, as the street officer: the whole time for all 130 PDFs.

Last line: `volunteers=… search_p95_ms=… duty_seconds=…`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

from _db import bench_unit, use_bench_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/volunteers_bench"
CODE_PREFIX = "310198001"
COMMITTEES = 26
SPECIALTIES = ["内科", "全科", "外科", "儿科", "妇产科", "血液科", "急诊", "口腔科"]
LANGUAGES = ["英语", "日语", "韩语", "法语", "德语", "俄语", "西班牙语"]
SKILLS = ["doctor", "nurse", "pharmacist", "translator", "repair", "driver", "psychologist", "other"]
NEEDS_PROOF = {"doctor", "nurse", "pharmacist", "psychologist", "driver"}


def build(volunteers: int, compounds: int, day: dt.date):
    from django.db import transaction
    from django.utils import timezone

    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import CompoundType, Kind, OrgUnit
    from xiuhua.volunteers.models import Duty, Post, Shift, Talent, Volunteer, VolunteerTask
    from xiuhua.volunteers.services import index_token

    city = OrgUnit.objects.filter(kind=Kind.CITY).first() or bench_unit(Kind.CITY, "上海市", None)
    district = bench_unit(Kind.DISTRICT, "志愿者压测区", city)
    street = bench_unit(Kind.STREET, "志愿者压测街道", district, code=f"{CODE_PREFIX}000")
    committees = [bench_unit(Kind.COMMITTEE, f"压测第{c + 1}居委会", street, code=f"{CODE_PREFIX}{c + 1:03d}")
                  for c in range(COMMITTEES)]
    units = [bench_unit(Kind.COMPOUND, f"压测{i + 1}号小区", committees[i % COMMITTEES],
                        compound_type=CompoundType.ENCLOSED) for i in range(compounds)]
    users = {}
    for username, role, unit in (("volunteers_bench_street", Role.STREET_OFFICER, street),
                                 ("volunteers_bench_staff", Role.COMMITTEE_STAFF, committees[0])):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, password=None, display_name="压测")
            Membership.objects.create(user=user, org_unit=unit, role=role)
        users[role] = user
    committee_ids = [c.pk for c in committees]
    existing = Volunteer.objects.filter(committee_id__in=committee_ids)
    if (existing.count() == volunteers and not existing.filter(talents_index="").exists()
            and Shift.objects.filter(committee_id__in=committee_ids, day=day).count() == compounds * 12):
        print(f"reusing {volunteers} volunteers", file=sys.stderr)
        return users, units
    t0 = time.perf_counter()
    rng = random.Random(16)
    staff = users[Role.COMMITTEE_STAFF]
    zone = timezone.get_current_timezone()
    with transaction.atomic():
        Duty.objects.filter(committee_id__in=committee_ids).delete()
        Shift.objects.filter(committee_id__in=committee_ids).delete()
        Post.objects.filter(committee_id__in=committee_ids).delete()
        VolunteerTask.objects.filter(committee_id__in=committee_ids).delete()
        Talent.objects.filter(committee_id__in=committee_ids).delete()
        existing.delete()
        rows = []
        for i in range(volunteers):
            unit = units[i % len(units)]
            start = rng.choice([7, 8, 9, 13, 18])
            rows.append(Volunteer(committee_id=unit.committee_id, compound_id=unit.pk, name=f"志愿者{i}",
                                  mobile=f"137{i:08d}", available_days=rng.choice(["12345", "67", "1234567", "135"]),
                                  available_from=dt.time(start), available_to=dt.time(min(start + 5, 23)),
                                  minutes_served=rng.randrange(0, 6000)))
        made = Volunteer.objects.bulk_create(rows, batch_size=2000)
        talents = []
        for volunteer in made:
            for skill in rng.sample(SKILLS, rng.choice([1, 1, 2])):
                detail = (rng.choice(SPECIALTIES) if skill in ("doctor", "nurse")
                          else " ".join(rng.sample(LANGUAGES, 2)) if skill == "translator" else "")
                status = ("pending" if rng.random() < 0.33 else "confirmed") if skill in NEEDS_PROOF else "self"
                talents.append(Talent(volunteer_id=volunteer.pk, committee_id=volunteer.committee_id,
                                      compound_id=volunteer.compound_id, skill=skill, detail=detail, status=status))
        Talent.objects.bulk_create(talents, batch_size=5000)
        tokens: dict[int, list[str]] = {}
        for talent in sorted(talents, key=lambda t: t.skill):
            tokens.setdefault(talent.volunteer_id, []).append(index_token(talent.skill, talent.status, talent.detail))
        for volunteer in made:
            volunteer.talents_index = f" {' '.join(tokens[volunteer.pk])} "
        Volunteer.objects.bulk_update(made, ["talents_index"], batch_size=2000)
        posts = []
        for unit in units:
            for kind, name in (("gate", "东门门岗"), ("screening", "核酸点排队引导"), ("delivery", "物资配送")):
                posts.append(Post(committee_id=unit.committee_id, compound_id=unit.pk, kind=kind, name=name,
                                  created_by=staff))
        Post.objects.bulk_create(posts)
        shifts = []
        for post in posts:
            for start, end in ((7, 11), (11, 15), (15, 19), (19, 22)):
                shifts.append(Shift(post_id=post.pk, committee_id=post.committee_id, compound_id=post.compound_id,
                                    day=day, starts_at=dt.datetime.combine(day, dt.time(start), zone),
                                    ends_at=dt.datetime.combine(day, dt.time(end), zone), needed=4, filled=0,
                                    created_by=staff))
        Shift.objects.bulk_create(shifts, batch_size=2000)
        by_compound: dict[int, list] = {}
        for volunteer in made:
            by_compound.setdefault(volunteer.compound_id, []).append(volunteer)
        duties = []
        for index, shift in enumerate(shifts):
            pool = by_compound[shift.compound_id]
            taken = 4 - index % 3  # 4, 3 or 2 of 4 places: gaps on a third of the shifts
            shift.filled = taken
            for volunteer in pool[(index * 4) % len(pool):][:taken]:
                duties.append(Duty(shift_id=shift.pk, volunteer_id=volunteer.pk, committee_id=shift.committee_id,
                                   starts_at=shift.starts_at, ends_at=shift.ends_at))
        Shift.objects.bulk_update(shifts, ["filled"], batch_size=2000)
        Duty.objects.bulk_create(duties, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE volunteers_volunteer; ANALYZE volunteers_talent; ANALYZE volunteers_shift; "
                       "ANALYZE volunteers_duty")
    print(f"built {volunteers} volunteers, {len(talents)} talents, {len(shifts)} shifts, {len(duties)} duties "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return users, units


def query(units, rng: random.Random) -> str:
    """One search as staff type them: a skill, maybe a specialty or language, maybe one of the
    viewer's compounds, confirmed only, available now, the first or second page."""
    from urllib.parse import urlencode

    params: dict[str, str] = {}
    skill = rng.choice(["", "", *SKILLS])
    if skill:
        params["skill"] = skill
    if skill in ("doctor", "nurse") and rng.random() < 0.6:
        params["detail"] = rng.choice(SPECIALTIES)
    elif skill in ("translator", "") and rng.random() < 0.4:
        params["detail"] = rng.choice(LANGUAGES)
    if rng.random() < 0.3:
        params["compound"] = str(rng.choice(units).pk)
    if rng.random() < 0.5:
        params["confirmed"] = "on"
    if rng.random() < 0.3:
        params["now"] = "on"
    if rng.random() < 0.2:
        params["page"] = "2"
    return "/volunteers/?" + urlencode(params)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=20_000)
    parser.add_argument("--compounds", type=int, default=130)
    parser.add_argument("--searches", type=int, default=300)
    args = parser.parse_args()
    use_bench_database(None if os.environ.get("DATABASE_URL") else DEFAULT_URL)

    from django.conf import settings
    from django.test import Client

    from xiuhua.accounts.roles import Role

    settings.ALLOWED_HOSTS = ["*"]
    day = dt.date(2026, 4, 12)
    users, units = build(args.volunteers, args.compounds, day)
    rng = random.Random(7)
    clients = {}
    for role in (Role.STREET_OFFICER, Role.COMMITTEE_STAFF):
        client = Client()
        client.force_login(users[role])
        client.get("/volunteers/")  # not timed: the first request loads templates and warms caches
        clients[role] = client
    # Committee staff's compounds are the first committee's: every 26th compound.
    staff_units = units[::COMMITTEES]
    timings = []
    for index in range(args.searches):
        role = Role.STREET_OFFICER if index % 2 == 0 else Role.COMMITTEE_STAFF
        url = query(units if role == Role.STREET_OFFICER else staff_units, rng)
        t0 = time.perf_counter()
        response = clients[role].get(url)
        timings.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"search median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms",
          file=sys.stderr)

    street = clients[Role.STREET_OFFICER]
    t0 = time.perf_counter()
    pages = 0
    for unit in units:
        response = street.get(f"/volunteers/day.pdf?day={day.isoformat()}&compound={unit.pk}")
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise SystemExit(f"duty table of {unit.name}: {response.status_code}")
        pages += 1
    duty_seconds = time.perf_counter() - t0
    print(f"{pages} duty tables in {duty_seconds:.2f} s", file=sys.stderr)
    print(f"volunteers={args.volunteers} search_p95_ms={p95:.0f} duty_seconds={duty_seconds:.2f}")


if __name__ == "__main__":
    main()
