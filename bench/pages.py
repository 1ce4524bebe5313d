"""Page timings of the resident search and the household list on a million residents.

    .venv/bin/python bench/pages.py [--residents 1000000] [--requests 240] [--warmup 20]

Runs on PostgreSQL (DATABASE_URL, else xiuhua_bench on localhost, created and migrated when
missing), seeds the 压测区 district with `seed_scale` when it holds fewer residents, then times
requests through Django's test client (full middleware, session, template) as the scale
committee staff and the scale street officer. Ends with one line:

    residents=… search_p95_ms=… household_list_p95_ms=…

The goal is p95 under 300 ms for each kind.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _db import use_bench_database  # noqa: E402

SURNAMES = ["王", "张", "陈", "李", "徐", "朱", "周", "沈", "陆", "顾", "欧阳"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=240, help="timed requests per kind and role")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per kind and role")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    url = use_bench_database()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from xiuhua.accounts.models import User
    from xiuhua.places.management.commands.seed_scale import residents_in, scale_district
    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.residents.models import Household, Resident

    district = scale_district()
    if district is None or residents_in(district) < args.residents:
        call_command("seed_scale", residents=args.residents)
        district = scale_district()
    assert district is not None
    total = residents_in(district)

    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    print(f"database: {url.rsplit('@', 1)[-1]}  residents in {district.name}: {total:,}  "
          f"cpus: {os.cpu_count()}  load: {' '.join(f'{x:.2f}' for x in load_before)}")

    def sample(qs, n: int) -> list:
        """n random rows of a large queryset without ORDER BY random() over all of it."""
        pks = list(qs.values_list("pk", flat=True)[:200_000])
        return [qs.model.objects.get(pk=pk) for pk in rng.sample(pks, min(n, len(pks)))]

    def search_queries(committee_ids: list[int], n: int) -> list[tuple[str, str]]:
        """(query type, query): 20% surnames, 30% full names, 20% mobiles, 15% ID last 4,
        15% addresses like 5号302."""
        residents = Resident.objects.filter(committee_id__in=committee_ids)
        people = sample(residents, n)
        households = sample(Household.objects.filter(committee_id__in=committee_ids), n)
        queries: list[tuple[str, str]] = []
        for i in range(n):
            person = people[i % len(people)]
            kind = i % 20
            if kind < 4:
                queries.append(("surname", rng.choice(SURNAMES)))
            elif kind < 10:
                queries.append(("full name", person.name))
            elif kind < 14:
                mobile = person.mobile or people[(i + 1) % len(people)].mobile or "13812345678"
                queries.append(("mobile", mobile))
            elif kind < 17:
                queries.append(("id last 4", person.id_last4))
            else:
                h = households[i % len(households)]
                queries.append(("address", f"{h.building.name}{h.room}"))
        rng.shuffle(queries)
        return queries

    def household_queries(committee_ids: list[int], n: int) -> list[str]:
        buildings = list(OrgUnit.objects.filter(kind=Kind.BUILDING, committee_id__in=committee_ids)
                         .values_list("pk", flat=True))
        out = []
        for i in range(n):
            if i % 2 == 0:
                committee = rng.choice(committee_ids)
                pages = max(1, -(-Household.objects.filter(committee_id=committee).count() // 50))
                page = rng.choice([1, 1, 2, 3, rng.randint(1, pages), pages])
                out.append(f"/residents/households/?committee={committee}&page={page}")
            else:
                out.append(f"/residents/households/?building={rng.choice(buildings)}")
        return out

    roles = {}
    for username in ("scale_committee", "scale_street"):
        user = User.objects.get(username=username)
        unit = user.memberships.get(active=True).org_unit
        committee_ids = list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path)
                             .values_list("pk", flat=True))
        n = args.requests + args.warmup
        roles[username] = (user, search_queries(committee_ids, n), household_queries(committee_ids, n))
        print(f"{username}: {unit.name}, {len(committee_ids)} committee(s), "
              f"{Resident.objects.filter(committee_id__in=committee_ids).count():,} residents")

    from urllib.parse import urlencode

    timings: dict[tuple[str, str], list[float]] = defaultdict(list)
    by_type: dict[str, list[float]] = defaultdict(list)
    slowest: dict[tuple[str, str], tuple[float, str]] = {}
    for username, (user, searches, lists) in roles.items():
        client = Client()
        client.force_login(user)
        for kind, typed in (
            ("search", [(t, f"/residents/?{urlencode({'q': q})}") for t, q in searches]),
            ("household_list", [("committee" if "committee=" in p else "building", p) for p in lists]),
        ):
            for i, (qtype, path) in enumerate(typed):
                start = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{username} {path}: HTTP {response.status_code}")
                if i < args.warmup:
                    continue
                timings[(kind, username)].append(elapsed)
                by_type[f"{kind} by {qtype} ({username.removeprefix('scale_')})"].append(elapsed)
                if elapsed > slowest.get((kind, username), (0.0, ""))[0]:
                    slowest[(kind, username)] = (elapsed, path)
    connection.close()

    print()
    print(f"{'kind':<15} {'role':<16} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  slowest")
    for (kind, username), values in timings.items():
        ms, path = slowest[(kind, username)]
        print(f"{kind:<15} {username:<16} {len(values):>4} {statistics.median(values):>8.1f} "
              f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}  {path}")
    print()
    for label, values in sorted(by_type.items()):
        print(f"  {label:<40} n={len(values):>3} p50={statistics.median(values):>6.1f} "
              f"p95={percentile(values, 0.95):>6.1f} ms")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    by_kind = {kind: [v for (k, _u), vs in timings.items() if k == kind for v in vs]
               for kind in ("search", "household_list")}
    print(f"residents={total} search_p95_ms={percentile(by_kind['search'], 0.95):.0f} "
          f"household_list_p95_ms={percentile(by_kind['household_list'], 0.95):.0f}")


if __name__ == "__main__":
    main()
