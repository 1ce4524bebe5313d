"""The work-order board on 100,000 orders, 10,000 of them open (goal: p95 under 300 ms, PostgreSQL).

    .venv/bin/python bench/tickets_board.py [--orders 100000] [--open 10000] [--requests 200]
                                            [--warmup 20] [--explain] [--keep]

Set-up (not timed), in a scratch database (`DATABASE_URL`, else xiuhua_bench_tickets on
localhost; created, migrated, and dropped at the end when this script created it, unless
--keep): a district of 3 streets with 20 committees each; per street three departments
(社区卫生服务中心, 城运中心, 社区事务受理服务中心) with routing rules (medical categories to the
first, utilities to the second, elderly care to the third) and three members each (made once, in
one transaction, and found again by later runs on the same database); the orders
written with COPY over the last two years, in the proportions of the hotline (door codes, calls,
visits, 12345 with external numbers; 8% urgent medical emergencies), each with its history
(create, accept, dispatch, start, reply, close, call-back, a few reopened, reminders) in
tickets_ticketevent. The open ones have deadlines spread from 10 days past to 20 days ahead;
100 of them are complex orders with an extension waiting. Then VACUUM ANALYZE, as autovacuum
would have done. A database kept from an earlier run (--keep, or one made beforehand) is used
again: the orders of that run are emptied (TRUNCATE) and written anew from the same seed, so every
run measures the same orders; orders of any other district there stop the script instead.

Timed: the board as each user gets it, a GET of `/tickets/` (url name "tickets:board") through
Django's test client (middleware, session, active membership, form, counts, one page of 50
rows, template), for a district officer (all 10,000 open orders), a street officer (every open
order of the street), a committee staff member
(their committee's own and those dispatched to it) and a department member (the health centre's).
If "tickets:board" is not a page yet, the script measures the selectors the page is built on
(board_queryset, board_counts, board_rows for page 1) and says so (`--selectors` forces that).
`--explain` prints EXPLAIN ANALYZE of the slowest queries of one request per role.

Last line: `orders=100000 open=10000 p95_ms=…` (the worst role's p95).
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import hashlib
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _db import use_bench_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xiuhua_bench_tickets"
STREETS = 3
COMMITTEES_PER_STREET = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _connect_params(url: str) -> tuple[str, dict]:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    params = {key: value for key, value in (("host", cfg.get("HOST")), ("port", cfg.get("PORT")),
                                            ("user", cfg.get("USER")), ("password", cfg.get("PASSWORD"))) if value}
    return str(cfg["NAME"]), params


def _database_exists(url: str) -> bool:
    import psycopg

    name, params = _connect_params(url)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name, params = _connect_params(url)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    print(f"dropped database {name}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=10_000, dest="open_orders")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per role")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per role")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest queries per role")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--selectors", action="store_true", help="time the selectors even if the page exists")
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"benchmarks need PostgreSQL, not {url.split(':', 1)[0]}")
    created = not _database_exists(url)
    try:
        run(args, use_bench_database(url))
    finally:
        if created and not args.keep:
            from django.db import connections

            connections.close_all()
            _drop_database(url)


def run(args, url: str) -> None:
    from django.db import connection

    t0 = time.perf_counter()
    places = ensure_places()
    clear_orders(connection, places)
    world = load(args, places)
    print(f"setup: {args.orders:,} orders ({args.open_orders:,} open), {world['events']:,} events in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    print(f"database: {url.rsplit('@', 1)[-1]}  cpus: {os.cpu_count()}  "
          f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    measure(args, world)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

DISTRICT_USER = "bench_district"
DEPARTMENTS = (("health", "社区卫生服务中心"), ("ops", "城运中心"), ("affairs", "社区事务受理服务中心"))


def ensure_places() -> dict:
    """The bench's district, streets, committees, departments, routing rules and users: made by
    the first run on a database, in one transaction (so a run stopped half-way leaves none of it),
    and found again by later runs (the timed requests do not change them)."""
    from django.db import transaction

    from xiuhua.accounts.models import Membership

    if not Membership.objects.filter(user__username=DISTRICT_USER).exists():
        with transaction.atomic():
            _create_places()
    return _find_places()


def _create_places() -> None:
    from xiuhua.accounts.models import Membership, User
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.tickets.models import MEDICAL_CATEGORIES, Category, Department, RoutingRule

    city = OrgUnit.objects.create(kind=Kind.CITY, name="上海市")
    district = OrgUnit.objects.create(kind=Kind.DISTRICT, name="压测区", parent=city)
    streets, committees = [], []
    for s in range(STREETS):
        street = OrgUnit.objects.create(kind=Kind.STREET, name=f"压测第{s + 1}街道", parent=district,
                                        code=f"3101109{s:02d}000")
        streets.append(street)
        for c in range(COMMITTEES_PER_STREET):
            committees.append(OrgUnit.objects.create(kind=Kind.COMMITTEE, name=f"压测{s + 1}-{c + 1}居委会",
                                                     parent=street, code=f"3101109{s:02d}{c + 1:03d}"))

    def user(username: str, role: str, unit) -> tuple:
        u = User.objects.create_user(username=username, password=None, display_name=username)
        return u, Membership.objects.create(user=u, org_unit=unit, role=role)

    user(DISTRICT_USER, Role.DISTRICT_OFFICER, district)
    for street in streets:
        user(f"bench_street_{street.pk}", Role.STREET_OFFICER, street)
        departments = {}
        for key, name in DEPARTMENTS:
            dept = Department.objects.create(street=street, name=name)
            members = [user(f"bench_{key}_{street.pk}_{i}", Role.DEPARTMENT_STAFF, street) for i in range(3)]
            dept.members.add(*[m for _u, m in members])
            dept.head = members[0][1]
            dept.save()
            departments[key] = dept
        for category in MEDICAL_CATEGORIES:
            RoutingRule.objects.create(street=street, category=category, department=departments["health"])
        RoutingRule.objects.create(street=street, category=Category.UTILITIES, department=departments["ops"])
        RoutingRule.objects.create(street=street, category=Category.ELDERLY_CARE, department=departments["affairs"])
    for committee in committees:
        user(f"bench_committee_{committee.pk}", Role.COMMITTEE_STAFF, committee)


def _find_places() -> dict:
    """The places and people `_create_places` made, in the order it made them (the orders drawn
    from the seed depend on that order)."""
    from xiuhua.accounts.models import Membership, User
    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.tickets.models import Department

    district = Membership.objects.select_related("org_unit").get(user__username=DISTRICT_USER).org_unit
    streets = list(OrgUnit.objects.filter(parent=district, kind=Kind.STREET).order_by("pk"))
    committees = list(OrgUnit.objects.filter(parent__in=streets, kind=Kind.COMMITTEE).order_by("pk"))
    if len(streets) != STREETS or len(committees) != STREETS * COMMITTEES_PER_STREET:
        raise SystemExit(f"the bench district {district} is not the one this script makes: drop the database")
    departments: dict[tuple[int, str], Department] = {}
    handlers: dict[int, User] = {}  # department id -> a member
    for street in streets:
        for key, name in DEPARTMENTS:
            dept = Department.objects.get(street=street, name=name)
            departments[(street.pk, key)] = dept
            handlers[dept.pk] = User.objects.get(username=f"bench_{key}_{street.pk}_1")
    users = User.objects.in_bulk([f"bench_committee_{c.pk}" for c in committees], field_name="username")
    staff = {c.pk: users[f"bench_committee_{c.pk}"] for c in committees}
    return {"streets": streets, "committees": committees, "departments": departments, "handlers": handlers,
            "staff": staff}


def clear_orders(connection, places: dict) -> None:
    """Empty the orders and their history an earlier run wrote, so that this run writes the same
    ones into fresh tables; orders of any other district are not this script's to remove."""
    from xiuhua.tickets.models import Ticket

    if Ticket.objects.exclude(committee__in=places["committees"]).exists():
        raise SystemExit("the bench database holds orders outside the bench district: drop it or point "
                         "DATABASE_URL elsewhere")
    if Ticket.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE tickets_ticketevent, tickets_ticket RESTART IDENTITY")
        print("emptied the orders of an earlier run", file=sys.stderr)


def load(args, places: dict) -> dict:
    from django.db import connection
    from django.utils import timezone

    from xiuhua.accounts.models import User
    from xiuhua.tickets.calendar import WORKING_DAYS, DeadlineClass, WorkCalendar
    from xiuhua.tickets.models import (
        MEDICAL_CATEGORIES,
        OPEN_STATUSES,
        Category,
        Escalation,
        Ticket,
        TicketStatus,
    )

    rng = random.Random(args.seed)
    now = timezone.now()
    streets, committees = places["streets"], places["committees"]
    departments, handlers, staff = places["departments"], places["handlers"], places["staff"]

    calendar = WorkCalendar()
    tz = timezone.get_current_timezone()
    categories = list(Category.values)
    weights = [6, 2, 14, 3, 1, 3, 22, 12, 4, 18, 15]  # medicine, food and utilities lead, as in 2022
    closed_statuses = [TicketStatus.CLOSED, TicketStatus.CALLED_BACK]
    open_mix = [TicketStatus.RECEIVED, TicketStatus.ACCEPTED, TicketStatus.DISPATCHED, TicketStatus.HANDLING,
                TicketStatus.HANDLING, TicketStatus.HANDLING, TicketStatus.REPLIED, TicketStatus.REOPENED]
    classes = [DeadlineClass.CONSULTATION, DeadlineClass.SUPERVISION, DeadlineClass.HELP, DeadlineClass.HELP,
               DeadlineClass.COMPLAINT, DeadlineClass.COMPLEX]
    street_of = {c.pk: c.parent_id for c in committees}

    fields = [f for f in Ticket._meta.concrete_fields]
    columns = [f.column for f in fields]
    event_columns = ["ticket_id", "at", "actor_id", "action", "from_status", "to_status", "note"]
    events = 0
    open_ids = set(rng.sample(range(args.orders), args.open_orders))
    complex_waiting = 0
    start_id = 1
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY tickets_ticket ({', '.join(columns)}) FROM STDIN") as copy_t:
            ticket_rows = []
            event_rows = []
            for i in range(args.orders):
                pk = start_id + i
                committee = committees[rng.randrange(len(committees))]
                category = rng.choices(categories, weights)[0]
                source = rng.choices(["door_qr", "call", "walk_in", "hotline"], [35, 30, 5, 30])[0]
                urgent = category in MEDICAL_CATEGORIES and rng.random() < 0.45
                klass = DeadlineClass.EMERGENCY if urgent else rng.choice(classes)
                is_open = i in open_ids
                if is_open:
                    # Deadlines from 10 days past to 20 days ahead (emergencies: -12 h to +4 h).
                    if klass == DeadlineClass.EMERGENCY:
                        deadline = now + dt.timedelta(minutes=rng.randint(-720, 240))
                        received = deadline - dt.timedelta(hours=4)
                    else:
                        last = (now + dt.timedelta(days=rng.uniform(-10, 20))).astimezone(tz).date()
                        deadline = dt.datetime.combine(last, dt.time(23, 59, 59), tzinfo=tz)
                        received = deadline - dt.timedelta(days=WORKING_DAYS[klass] * 1.4 + 0.3)
                    status = rng.choice(open_mix)
                else:
                    received = now - dt.timedelta(minutes=rng.randint(60 * 24 * 3, 60 * 24 * 730))
                    deadline = calendar.deadline(received, klass)
                    status = rng.choice(closed_statuses)
                received = min(received, now - dt.timedelta(minutes=5))
                dispatched = status not in (TicketStatus.RECEIVED, TicketStatus.ACCEPTED)
                department_id = assigned_id = None
                if dispatched:
                    key = ("health" if category in MEDICAL_CATEGORIES else "ops" if category == Category.UTILITIES
                           else "affairs" if category == Category.ELDERLY_CARE else None)
                    if key is None:
                        assigned_id = committee.pk
                    else:
                        department_id = departments[(street_of[committee.pk], key)].pk
                replied = status in (TicketStatus.REPLIED, TicketStatus.CLOSED, TicketStatus.CALLED_BACK,
                                     TicketStatus.REOPENED)
                handle_minutes = rng.randint(20, 240) if klass == DeadlineClass.EMERGENCY else rng.randint(60, 6000)
                replied_at = received + dt.timedelta(minutes=handle_minutes) if replied else None
                closed_at = replied_at + dt.timedelta(minutes=30) if status in closed_statuses and replied_at else None
                extension = ""
                if is_open and klass == DeadlineClass.COMPLEX and complex_waiting < 100 and deadline > now:
                    extension, complex_waiting = "requested", complex_waiting + 1
                escalation = Escalation.NONE
                if is_open and deadline < now:
                    escalation = Escalation.STREET if deadline < now - dt.timedelta(days=1) else Escalation.HEAD
                values = {
                    "id": pk, "number": f"GD{i:011d}", "source": source,
                    "external_number": f"12345-B-{i:09d}" if source == "hotline" else "",
                    "category": category, "urgency": "urgent" if urgent else "normal", "deadline_class": klass,
                    "description": "压测工单:居民求助内容", "committee_id": committee.pk, "household_id": None,
                    "requester_name": "压测", "requester_phone": "13900000000", "received_at": received,
                    "deadline_at": deadline, "status": status, "department_id": department_id,
                    "assigned_committee_id": assigned_id, "reply_text": "已办理" if replied else "",
                    "satisfaction": rng.randint(3, 5) if status == TicketStatus.CALLED_BACK else None,
                    "reopened_count": 1 if status == TicketStatus.REOPENED else 0, "closed_at": closed_at,
                    "replied_at": replied_at, "escalation": escalation, "extension": extension,
                    "extension_days": 5 if extension else None, "extension_reason": "压测" if extension else "",
                    "original_deadline_at": None,
                    "follow_token_hash": hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
                    "created_by_id": None if source == "door_qr" else staff[committee.pk].pk,
                }
                row = []
                for f in fields:
                    if f.attname in values:
                        value = values[f.attname]
                        row.append(value.value if isinstance(value, enum.Enum) else value)
                    else:  # fields added later (door-request keys, photo): their defaults
                        default = f.get_default()
                        row.append(None if default is None and f.null else ("" if default is None else default))
                ticket_rows.append(row)
                # History: create, accept, dispatch, start, reply, close, call back, reopen, reminders.
                actor = staff[committee.pk].pk
                handler = handlers[department_id].pk if department_id else actor
                steps = [("create", received, None, "", TicketStatus.RECEIVED)]
                chain = [("accept", TicketStatus.ACCEPTED, actor), ("dispatch", TicketStatus.DISPATCHED, actor),
                         ("start", TicketStatus.HANDLING, handler), ("reply", TicketStatus.REPLIED, handler),
                         ("close", TicketStatus.CLOSED, actor), ("call_back", TicketStatus.CALLED_BACK, actor)]
                target = {TicketStatus.REOPENED: TicketStatus.CALLED_BACK}.get(status, status)
                at, before = received, TicketStatus.RECEIVED
                for action, to_status, who in chain:
                    if before == target:
                        break
                    step = dt.timedelta(minutes=rng.randint(2, 30))
                    at = replied_at if action == "reply" and replied_at else at + step
                    steps.append((action, min(at, now), who, before, to_status))
                    before = to_status
                if status == TicketStatus.REOPENED:
                    steps.append(("reopen", min(at + dt.timedelta(hours=5), now), actor, before, status))
                if escalation:
                    steps.append(("escalate", min(deadline + dt.timedelta(minutes=5), now), None, status, status))
                for action, when, who, from_status, to_status in steps:
                    event_rows.append((pk, when, who, action, str(from_status), str(to_status), ""))
                if len(ticket_rows) >= 5000:
                    for r in ticket_rows:
                        copy_t.write_row(r)
                    ticket_rows.clear()
            for r in ticket_rows:
                copy_t.write_row(r)
        with cursor.cursor.copy(f"COPY tickets_ticketevent ({', '.join(event_columns)}) FROM STDIN") as copy_e:
            for r in event_rows:
                copy_e.write_row(r)
        events = len(event_rows)
        cursor.execute("SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), (SELECT max(id) FROM "
                       "tickets_ticket))")
        cursor.execute("VACUUM ANALYZE tickets_ticket")
        cursor.execute("VACUUM ANALYZE tickets_ticketevent")
        cursor.execute("ANALYZE")
    first_street = streets[0]
    first_committee = committees[0]
    health = departments[(first_street.pk, "health")]
    open_qs = Ticket.objects.filter(status__in=OPEN_STATUSES)
    return {
        "events": events,
        "roles": [
            ("district", User.objects.get(username=DISTRICT_USER), open_qs.count()),
            ("street", User.objects.get(username=f"bench_street_{first_street.pk}"),
             open_qs.filter(committee__parent=first_street).count()),
            ("committee", staff[first_committee.pk],
             open_qs.filter(committee=first_committee).count()
             + open_qs.filter(assigned_committee=first_committee).exclude(committee=first_committee).count()),
            ("department", handlers[health.pk], open_qs.filter(department=health).count()),
        ],
        "open": open_qs.count(),
        "orders": Ticket.objects.count(),
    }


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def board_page_available() -> bool:
    """Whether "tickets:board" is a real page (not just a name waiting for its view)."""
    from django.urls import NoReverseMatch, resolve, reverse

    try:
        match = resolve(reverse("tickets:board"))
    except NoReverseMatch:
        return False
    return callable(match.func)


def measure(args, world: dict) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from xiuhua.tickets import selectors

    use_page = board_page_available() and not args.selectors
    url = reverse("tickets:board") if use_page else ""
    print(f"measuring: {'GET ' + url + ' (the board page, test client)' if use_page else 'selectors only'}")

    def selector_call(user) -> None:
        from xiuhua.tickets.calendar import WorkCalendar

        qs = selectors.board_queryset(user)
        selectors.board_counts(qs)
        rows = selectors.board_rows(qs, page=1, calendar=WorkCalendar())
        assert len(rows) <= selectors.BOARD_PAGE_SIZE

    results: dict[str, list[float]] = {}
    for role, user, visible_open in world["roles"]:
        user.active_membership = user.memberships.select_related("org_unit").get()
        client = Client()
        client.force_login(user)

        def once(client=client, user=user, role=role):
            if use_page:
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{role}: HTTP {response.status_code}")
            else:
                selector_call(user)

        for _ in range(args.warmup):
            once()
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            once()
            timings.append((time.perf_counter() - started) * 1000)
        results[role] = timings
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            once()
            one = (time.perf_counter() - started) * 1000
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        print(f"{role:<11} open orders visible={visible_open:>6,}  n={len(timings)}  "
              f"p50={statistics.median(timings):7.1f} ms  p95={percentile(timings, 0.95):7.1f} ms  "
              f"max={max(timings):7.1f} ms  (one request: {len(captured.captured_queries)} queries, "
              f"{sql_ms:.0f} of {one:.0f} ms in SQL)")
        if args.explain:
            explain(connection, captured.captured_queries)
    worst = max(percentile(t, 0.95) for t in results.values())
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"orders={world['orders']} open={world['open']} p95_ms={worst:.0f}")


def explain(connection, queries: list[dict], top: int = 3) -> None:
    for q in sorted(queries, key=lambda q: -float(q["time"]))[:top]:
        sql = q["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
        print(f"  -- {float(q['time']) * 1000:.1f} ms: {sql[:300]}{'…' if len(sql) > 300 else ''}\n{plan}")


if __name__ == "__main__":
    main()
