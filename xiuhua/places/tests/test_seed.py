"""seed_demo and seed_scale: the shape of the data, its validity, the accounts, idempotency.

seed_demo runs once for the module (~10 s on SQLite), inside a transaction that is rolled back
at the end, so that other test modules still start from an empty database.
"""

import datetime as dt
import io
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.crypto import decrypt_text, mask_identity
from xiuhua.core.idnumbers import IdType, check_id
from xiuhua.core.phones import normalise_mobile
from xiuhua.isolation.models import Alert, Arrival, CaseStep, Contact, IsolationCase
from xiuhua.places.demo_data import (
    DEMO_PASSWORD,
    REFERENCE_DATE,
    STREET_CODE,
    PeopleFactory,
    cn_number,
)
from xiuhua.places.management.commands.seed_scale import (
    DISTRICT_NAME,
    residents_in,
    scale_district,
    scale_shape,
)
from xiuhua.places.models import CompoundType, Grid, Kind, OrgUnit
from xiuhua.residents.identity import identity_hash
from xiuhua.residents.models import Household, LivingStatus, Relation, Resident, ResidentTag, Tag
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting
from xiuhua.tickets import selectors
from xiuhua.tickets.calendar import WorkCalendar
from xiuhua.tickets.escalation import DeadlineState, deadline_state
from xiuhua.tickets.models import MEDICAL_CATEGORIES, Department, RoutingRule, Ticket, TicketEvent
from xiuhua.tracing.models import BatchProblem, EntryStatus, ListEntry, TracingBatch

MODELS = (
    OrgUnit, Grid, Household, Resident, ResidentTag, User, Membership, TracingBatch, ListEntry, Arrival, Contact,
    Department, RoutingRule, Ticket, TicketEvent, OutboundSms,
)
ROLES = {
    "district": (Role.DISTRICT_OFFICER, Kind.DISTRICT),
    "street": (Role.STREET_OFFICER, Kind.STREET),
    "committee": (Role.COMMITTEE_STAFF, Kind.COMMITTEE),
    "committee2": (Role.COMMITTEE_STAFF, Kind.COMMITTEE),
    "grid": (Role.GRID_WORKER, Kind.COMMITTEE),
    "volunteer": (Role.VOLUNTEER, Kind.COMMITTEE),
    "pharmacy": (Role.PHARMACY_CLERK, Kind.STREET),
    "groupbuy": (Role.GROUPBUY_LEADER, Kind.COMPOUND),
    "business": (Role.BUSINESS_CONTACT, Kind.STREET),
    "health": (Role.HEALTH_CENTRE, Kind.STREET),
    "admin": (Role.SYSADMIN, Kind.CITY),
    "dept": (Role.DEPARTMENT_STAFF, Kind.STREET),
    "dept_head": (Role.DEPARTMENT_STAFF, Kind.STREET),
    "dept2": (Role.DEPARTMENT_STAFF, Kind.STREET),
    "lab": (Role.LAB, Kind.STREET),
}


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def age(birth: dt.date) -> int:
    return REFERENCE_DATE.year - birth.year - ((REFERENCE_DATE.month, REFERENCE_DATE.day)
                                               < (birth.month, birth.day))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once; rolled back when the module is done."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            out = io.StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def street(demo, db) -> OrgUnit:
    return OrgUnit.objects.get(code=STREET_CODE)


@pytest.fixture
def residents(street):
    return Resident.objects.filter(committee__path__startswith=street.path)


def test_tree_shape(street):
    assert street.kind == Kind.STREET and street.name == "长海路街道"
    assert street.parent.name == "杨浦区" and street.parent.parent.name == "上海市"
    committees = list(OrgUnit.objects.filter(parent=street))
    assert len(committees) == 8
    for committee in committees:
        assert committee.kind == Kind.COMMITTEE
        assert re.fullmatch(r"\d{12}", committee.code) and committee.code[:9] == STREET_CODE[:9]
        assert committee.committee_id == committee.pk
        committee.full_clean()
    compounds = OrgUnit.objects.filter(path__startswith=street.path, kind=Kind.COMPOUND)
    assert 18 <= compounds.count() <= 22
    assert set(compounds.values_list("compound_type", flat=True)) == set(CompoundType.values)
    sizes = Household.objects.filter(compound__in=compounds).values("compound").annotate(n=Count("id"))
    assert max(row["n"] for row in sizes) >= 2000
    for unit in OrgUnit.objects.filter(path__startswith=street.path).order_by("?")[:50]:
        unit.full_clean()
        assert unit.path == f"{unit.parent.path}{unit.pk}/"
        if unit.kind in (Kind.COMPOUND, Kind.BUILDING):
            assert unit.committee_id == (unit.parent.committee_id)


def test_buildings_and_households(street):
    buildings = OrgUnit.objects.filter(path__startswith=street.path, kind=Kind.BUILDING)
    names = list(buildings.values_list("name", flat=True))
    assert all(re.fullmatch(r"\d+(号|幢)", name) for name in names)
    assert any(name.endswith("幢") for name in names) and any(name.endswith("号") for name in names)
    assert {"5号", "12幢"} <= set(names)
    households = Household.objects.filter(committee__parent=street)
    assert 7500 <= households.count() <= 8800
    assert all(re.fullmatch(r"\d{3,4}", room) for room in households.values_list("room", flat=True))
    # Denormalised columns written by bulk_create agree with the tree.
    assert not households.exclude(committee_id=F("building__committee_id")).exists()
    assert not households.exclude(compound_id=F("building__parent_id")).exists()
    rentals = households.filter(is_rental=True)
    share = rentals.count() / households.count()
    assert 0.10 <= share <= 0.20
    assert not rentals.filter(Q(landlord_name="") | Q(landlord_phone="")).exists()
    assert not households.filter(is_rental=False).exclude(landlord_name="").exists()
    # Every household has someone living in it and exactly one head.
    per_household = households.annotate(
        present=Count("residents", filter=Q(residents__living_status__in=["here", "away"])),
        heads=Count("residents", filter=Q(residents__relation=Relation.HEAD)),
    )
    assert not per_household.filter(present=0).exists()
    assert not per_household.exclude(heads=1).exists()


def test_grids(street):
    households = Household.objects.filter(committee__parent=street)
    assert not households.filter(Q(grid=None) | Q(micro_grid=None)).exists()
    assert not households.exclude(micro_grid__parent_id=F("grid_id")).exists()
    assert not households.exclude(grid__committee_id=F("committee_id")).exists()
    for committee in OrgUnit.objects.filter(parent=street):
        assert Grid.objects.filter(committee=committee, kind=Grid.GridKind.GRID).exists()
    micro = Grid.objects.filter(committee__parent=street, kind=Grid.GridKind.MICRO).annotate(
        n=Count("households"))
    sizes = [m.n for m in micro]
    assert min(sizes) >= 1 and max(sizes) <= 40
    assert sum(20 <= n <= 30 for n in sizes) / len(sizes) >= 0.8
    for grid in Grid.objects.filter(committee__parent=street).select_related("parent")[:100]:
        grid.full_clean()


def test_residents_and_identity_numbers(residents):
    total = residents.count()
    assert 19000 <= total <= 22000
    assert not residents.exclude(committee_id=F("household__committee_id")).exists()
    assert not ResidentTag.objects.filter(resident__in=residents).exclude(
        committee_id=F("resident__committee_id")).exists()
    sample = list(residents.order_by("pk")[::40])
    assert len(sample) >= 450
    for r in sample:
        number = decrypt_text(r.id_encrypted)
        checked = check_id(r.id_type, number)
        assert r.id_hash == identity_hash(r.id_type, number)
        assert r.id_last4 == number[-4:] and r.id_masked == mask_identity(number)
        if checked.birth_date is not None:
            assert checked.birth_date == r.birth_date and checked.sex == r.sex
        if r.id_type == IdType.RESIDENT_ID:
            assert number.startswith(("31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
                                      "51", "61", "23"))
        if r.mobile:
            assert normalise_mobile(r.mobile) == r.mobile
    types = Counter(residents.values_list("id_type", flat=True))
    assert types[IdType.RESIDENT_ID] / total > 0.97
    assert types[IdType.PASSPORT] > 0 and types[IdType.FOREIGN_PERMANENT] > 0
    shanghai = residents.filter(id_type=IdType.RESIDENT_ID, id_masked__startswith="310").count()
    assert shanghai / total > 0.85


def test_names_ages_and_phones(residents):
    total = residents.count()
    names = list(residents.filter(id_type=IdType.RESIDENT_ID).values_list("name", flat=True))
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name) for name in names)
    surnames = Counter(name[0] for name in names)
    assert {c for c, _ in surnames.most_common(6)} & {"张", "王", "陈", "李"}
    births = list(residents.values_list("birth_date", "mobile"))
    ages = [age(b) for b, _ in births]
    assert max(ages) <= 104 and min(ages) >= 0
    share_60 = sum(a >= 60 for a in ages) / total
    share_child = sum(a < 15 for a in ages) / total
    assert 0.20 <= share_60 <= 0.40 and 0.05 <= share_child <= 0.18
    no_phone_old = [not m for b, m in births if age(b) >= 85]
    no_phone_mid = [not m for b, m in births if 20 <= age(b) < 60]
    assert sum(no_phone_old) / len(no_phone_old) > 0.25 > sum(no_phone_mid) / len(no_phone_mid)
    relations = Counter(residents.values_list("relation", flat=True))
    assert {Relation.HEAD, Relation.SPOUSE, Relation.CHILD, Relation.PARENT, Relation.TENANT} <= set(relations)


def test_living_statuses(residents):
    total = residents.count()
    statuses = Counter(residents.values_list("living_status", flat=True))
    assert statuses[LivingStatus.HERE] / total >= 0.9
    for status in (LivingStatus.AWAY, LivingStatus.MOVED_OUT, LivingStatus.DECEASED):
        assert 0.002 <= statuses[status] / total <= 0.05
    away = residents.filter(living_status=LivingStatus.AWAY)
    assert not away.filter(away_until=None).exists()
    assert not away.filter(away_until__lt=timezone.localdate()).exists()
    assert not residents.exclude(living_status=LivingStatus.AWAY).exclude(away_until=None).exists()


SHARE_BOUNDS = {
    Tag.ELDERLY_ALONE: (0.015, 0.05),
    Tag.PREGNANT: (0.003, 0.008),
    Tag.DIALYSIS: (0.0005, 0.002),
    Tag.CHEMOTHERAPY: (0.001, 0.0035),
    Tag.DISABLED: (0.015, 0.025),
    Tag.LOW_INCOME: (0.015, 0.025),
    Tag.NO_SMARTPHONE: (0.06, 0.10),
    Tag.FOREIGN_NATIONAL: (0.006, 0.015),
    Tag.MEDICAL_PROFESSIONAL: (0.007, 0.013),
    Tag.OTHER_SKILLS: (0.007, 0.013),
}


def test_tag_shares(residents):
    total = residents.count()
    tags = ResidentTag.objects.filter(resident__in=residents)
    shares = {tag: tags.filter(tag=tag).count() / total for tag in Tag.values}
    for tag, (low, high) in SHARE_BOUNDS.items():
        assert low <= shares[tag] <= high, (tag, shares[tag])

    def tagged(tag):
        return residents.filter(tags__tag=tag)

    today = REFERENCE_DATE
    assert all(age(b) >= 65 for b in tagged(Tag.ELDERLY_ALONE).values_list("birth_date", flat=True))
    for r in tagged(Tag.ELDERLY_ALONE).select_related("household")[:200]:
        others = r.household.residents.exclude(pk=r.pk).filter(living_status__in=["here", "away"])
        assert not others.exists()
    pregnant = tagged(Tag.PREGNANT)
    assert not pregnant.exclude(sex="F").exists()
    assert all(20 <= age(b) <= 45 for b in pregnant.values_list("birth_date", flat=True))
    no_phone_ages = [age(b) for b in tagged(Tag.NO_SMARTPHONE).values_list("birth_date", flat=True)]
    assert sum(a >= 60 for a in no_phone_ages) / len(no_phone_ages) >= 0.7
    foreign = tagged(Tag.FOREIGN_NATIONAL)
    assert not foreign.filter(language="").exists()
    assert not foreign.exclude(id_type__in=[IdType.PASSPORT, IdType.FOREIGN_PERMANENT]).exists()
    assert not residents.filter(id_type__in=[IdType.PASSPORT, IdType.FOREIGN_PERMANENT]).exclude(
        tags__tag=Tag.FOREIGN_NATIONAL).exists()
    assert {"English", "日本語", "한국어"} <= set(foreign.values_list("language", flat=True))
    assert not tagged(Tag.MEDICAL_PROFESSIONAL).filter(specialty="").exists()
    assert not tagged(Tag.OTHER_SKILLS).filter(skills="").exists()
    # Nobody who has left or died is counted in a special group that needs care now.
    gone = residents.filter(living_status__in=[LivingStatus.MOVED_OUT, LivingStatus.DECEASED])
    assert not gone.filter(tags__tag__in=[Tag.PREGNANT, Tag.DIALYSIS, Tag.ELDERLY_ALONE]).exists()
    assert today  # reference date in use


@pytest.mark.parametrize("username", list(ROLES))
def test_account_exists_with_membership_and_logs_in(street, client, username):
    role, kind = ROLES[username]
    user = User.objects.get(username=username)
    memberships = list(user.memberships.select_related("org_unit", "grid"))
    assert len(memberships) == 1
    m = memberships[0]
    assert m.role == role and m.active and m.org_unit.kind == kind
    m.full_clean()
    if kind != Kind.CITY:
        assert m.org_unit.path.startswith(street.path) or street.path.startswith(m.org_unit.path)
    if username == "grid":
        assert m.grid is not None and m.grid.committee_id == m.org_unit_id
    if username == "admin":
        assert user.is_staff and user.is_superuser
    else:
        assert not user.is_superuser
    response = client.post(reverse("accounts:login"),
                           {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_committee_accounts_differ(street):
    one = Membership.objects.get(user__username="committee").org_unit
    two = Membership.objects.get(user__username="committee2").org_unit
    assert one != two and one.parent == two.parent == street


def test_command_output_and_docs_list_every_account(demo):
    doc = (Path(settings.BASE_DIR) / "docs" / "demo-accounts.md").read_text()
    for username in ROLES:
        assert re.search(rf"^\| {username} \|.*\| {DEMO_PASSWORD} \|$", demo, re.M), username
        assert re.search(rf"^\| {username} \|.*\| {DEMO_PASSWORD} \|$", doc, re.M), username


def test_demo_tracing_list(street):
    """Today's list for the demo street: 30 roster people and 5 from elsewhere, one bad row, and
    two of the demo committee's people already reported controlled."""
    batch = TracingBatch.objects.get(street=street)
    entries = ListEntry.objects.filter(batch=batch)
    assert (batch.rows_total, batch.rows_bad, entries.count()) == (36, 1, 35)
    assert list(BatchProblem.objects.filter(batch=batch).values_list("row", "column")) == [(37, "name")]
    assert entries.filter(match_method="id").count() == 15
    assert entries.exclude(status=EntryStatus.TRIAGE).count() == 30  # every roster person found
    assert entries.filter(status=EntryStatus.CONTROLLED, committee__name="国和一村居委会").count() == 2
    assert {e.name for e in entries.filter(status=EntryStatus.TRIAGE, match_method="")} >= {
        f"外来人员{i}" for i in range(1, 6)}


def test_demo_isolation_cases(street):
    cases = IsolationCase.objects.filter(committee__name="国和一村居委会", status="open")
    assert sorted(c.arrival.name for c in cases) == ["孙佳怡", "钱志远", "马国庆"]
    assert CaseStep.objects.filter(case__in=cases, done_at__isnull=False).count() == 6
    assert list(Alert.objects.values_list("kind", "reasons")) == [("fever", ["fever", "symptoms"])]
    assert all(a.id_masked and a.id_encrypted for a in Arrival.objects.all())
    # Registered before every step and every recorded contact; none of them is "new today".
    for case in cases:
        registered = case.arrival.created_at
        assert case.created_at == registered < timezone.now() and timezone.localdate(registered) < timezone.localdate()
        assert all(registered < s.done_at for s in case.steps.exclude(done_at=None))
        assert all(registered <= c.due_at < c.recorded_at for c in case.contacts.exclude(recorded_at=None))


def test_demo_departments_and_rules(street):
    departments = {d.name: d for d in Department.objects.filter(street=street)}
    assert set(departments) == {"社区卫生服务中心", "城运中心"}
    health, city_ops = departments["社区卫生服务中心"], departments["城运中心"]
    assert sorted(health.members.values_list("user__username", flat=True)) == ["dept", "dept_head"]
    assert list(city_ops.members.values_list("user__username", flat=True)) == ["dept2"]
    assert (health.head.user.username, city_ops.head.user.username) == ("dept_head", "dept2")
    rules = dict(RoutingRule.objects.filter(street=street, committee=None).values_list("category", "department"))
    assert rules == {category: health.pk for category in MEDICAL_CATEGORIES} | {"utilities": city_ops.pk}
    assert not RoutingRule.objects.exclude(committee=None).exists()
    assert set(User.objects.filter(username__in=["street", "dept", "dept2"]).values_list("mobile", flat=True)) == {
        "13900210001", "13900210004", "13900210006"}


def test_demo_tickets(street):
    """30 orders of the last two weeks in every state, through the services: their histories, one
    overdue (reported to the street), one emergency due within the hour, one reopened, one complex
    order waiting for the street to approve an extension."""
    tickets = Ticket.objects.filter(committee__parent=street)
    assert tickets.count() == Ticket.objects.count() == 30
    assert Counter(tickets.values_list("status", flat=True)) == {
        "received": 3, "accepted": 2, "dispatched": 2, "handling": 8, "replied": 2, "closed": 2,
        "called_back": 10, "reopened": 1}
    assert Counter(tickets.values_list("source", flat=True)) == {"hotline": 12, "door_qr": 9, "call": 6,
                                                                "walk_in": 3}
    assert tickets.filter(source="hotline").exclude(external_number__startswith="12345-").count() == 0
    assert tickets.filter(deadline_class="emergency").count() == 8
    assert tickets.filter(department__name="社区卫生服务中心").count() == 12
    assert tickets.filter(department__name="城运中心").count() == 5
    assert Counter(tickets.values_list("extension", flat=True)) == {"": 28, "requested": 1, "approved": 1}
    assert tickets.filter(reopened_count=1, status="reopened").count() == 1
    assert not tickets.filter(status="called_back", satisfaction=None).exists()
    now = timezone.now()
    states = Counter(deadline_state(t, now, WorkCalendar()) for t in tickets.open())
    assert states == {DeadlineState.OK: 16, DeadlineState.SOON: 1, DeadlineState.LONG_OVERDUE: 1}
    # Every order's history starts with its intake and follows the declared moves in time order.
    events = TicketEvent.objects.filter(ticket__in=tickets)
    assert events.count() == 150
    assert events.filter(action="create").count() == 30
    for ticket in tickets:
        times = list(ticket.events.values_list("at", flat=True))
        assert times == sorted(times) and times[0] == ticket.received_at and times[-1] <= now
    # The sweep ran once: the overdue 12345 order went to the street, the emergency to the centre.
    escalated = dict(events.filter(action="escalate").values_list("ticket__deadline_class", "ticket__escalation"))
    assert escalated == {"consultation": 3, "emergency": 1}
    reminders = sorted(OutboundSms.objects.filter(purpose="ticket_reminder").values_list("phone", flat=True))
    assert reminders == ["13900210001", "13900210004", "13900210005"]
    # What each demo account's board shows: (orders visible, open, overdue, due soon, extension asked).
    for username, figures in (("street", (30, 18, 1, 1, 1)), ("committee", (12, 6, 0, 1, 1)),
                              ("committee2", (9, 6, 1, 0, 0)), ("dept", (12, 5, 0, 1, 0)),
                              ("dept_head", (12, 5, 0, 1, 0)), ("dept2", (5, 3, 1, 0, 1))):
        user = acting(User.objects.get(username=username))
        counts = selectors.board_counts(selectors.board_queryset(user), now)
        assert (Ticket.objects.visible_to(user).count(), counts.open, counts.overdue, counts.soon,
                counts.extension_requested) == figures, username


def test_second_run_changes_nothing(street):
    before = counts()
    password_hash = User.objects.get(username="committee").password
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert counts() == before
    assert User.objects.get(username="committee").password == password_hash
    assert "already" in out.getvalue()


def test_people_factory_is_deterministic():
    def households(seed):
        factory = PeopleFactory(random.Random(seed))
        return [[(p.name, p.sex, p.birth_date, p.relation, p.number, p.mobile)
                 for p in factory.household(rental=i % 7 == 0)] for i in range(300)]

    assert households(5) == households(5)
    assert households(5) != households(6)


def test_cn_number():
    assert [cn_number(n) for n in (1, 9, 10, 12, 20, 35)] == ["一", "九", "十", "十二", "二十", "三十五"]


def test_scale_shape():
    assert scale_shape(1_000_000) == (11, 303)
    assert scale_shape(5000) == (1, 2)
    assert scale_shape(1) == (1, 1)


def test_seed_scale_exact_count_and_idempotent(demo, db):
    call_command("seed_scale", residents=5000, stdout=io.StringIO())
    district = scale_district()
    assert district is not None and district.name == DISTRICT_NAME
    assert residents_in(district) == 5000
    committees = OrgUnit.objects.filter(path__startswith=district.path, kind=Kind.COMMITTEE)
    assert committees.count() == 2
    assert all(re.fullmatch(r"\d{12}", c.code) for c in committees)
    per_committee = sorted(Resident.objects.filter(committee__in=committees)
                           .values("committee").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_committee == [2500, 2500]
    households = Household.objects.filter(committee__in=committees)
    assert not households.exclude(committee_id=F("building__committee_id")).exists()
    assert not households.filter(micro_grid=None).exists()
    sample = Resident.objects.filter(committee__in=committees).order_by("pk")[::100]
    for r in sample:
        check_id(r.id_type, decrypt_text(r.id_encrypted))
    for username, role, kind in (("scale_committee", Role.COMMITTEE_STAFF, Kind.COMMITTEE),
                                 ("scale_street", Role.STREET_OFFICER, Kind.STREET)):
        m = Membership.objects.get(user__username=username)
        assert m.role == role and m.org_unit.kind == kind
        assert m.org_unit.path.startswith(district.path)

    before = counts()
    out = io.StringIO()
    call_command("seed_scale", residents=5000, stdout=out)
    assert counts() == before
    assert "nothing to do" in out.getvalue()
    call_command("seed_scale", residents=4000, stdout=io.StringIO())
    assert counts() == before

    # More residents wanted: the district is rebuilt to the new size, the demo is untouched.
    demo_residents = residents_in(OrgUnit.objects.get(code=STREET_CODE))
    call_command("seed_scale", residents=6000, stdout=io.StringIO())
    assert residents_in(district) == 6000
    assert residents_in(OrgUnit.objects.get(code=STREET_CODE)) == demo_residents
    assert Membership.objects.filter(user__username__in=["scale_committee", "scale_street"]).count() == 2


def test_demo_pharmacies_serve_every_committee(street):
    from xiuhua.masks.models import MaskRound, Pharmacy, PharmacyCommittee, RoundStatus

    pharmacies = list(Pharmacy.objects.filter(street=street).order_by("name"))
    assert [p.name for p in pharmacies] == ["国和药房", "长海药房"]
    committees = OrgUnit.objects.filter(parent=street, kind=Kind.COMMITTEE)
    assert PharmacyCommittee.objects.filter(committee__in=committees).count() == committees.count() == 8
    assert all(list(p.clerks.values_list("user__username", flat=True)) == ["pharmacy"] for p in pharmacies)
    assert MaskRound.objects.get(scope=street).status == RoundStatus.OPEN


def test_demo_screening_round(street):
    """An open round over the demo committee's compounds: one site of three lines, every building
    with a slot, and a code for each of the committee's residents living here or away."""
    from xiuhua.residents.models import LivingStatus, Resident
    from xiuhua.screening.models import CallSlot, RoundCompound, SamplingCode, ScreeningRound

    screening_round = ScreeningRound.objects.get(scope=street)
    committee = OrgUnit.objects.get(name="国和一村居委会")
    assert (screening_round.name, screening_round.status) == ("长海路街道第1轮核酸筛查", "open")
    site = screening_round.sites.get()
    assert site.committee == committee and site.lines.count() == 3
    compounds = set(RoundCompound.objects.filter(round=screening_round).values_list("compound_id", flat=True))
    assert compounds == set(OrgUnit.objects.filter(kind=Kind.COMPOUND, parent=committee).values_list("pk", flat=True))
    buildings = OrgUnit.objects.filter(kind=Kind.BUILDING, parent__in=compounds)
    assert set(CallSlot.objects.filter(round=screening_round).values_list("building_id", flat=True)) == set(
        buildings.filter(households__residents__isnull=False).values_list("pk", flat=True))
    living = Resident.objects.filter(committee=committee, living_status__in=[LivingStatus.HERE, LivingStatus.AWAY])
    assert SamplingCode.objects.filter(round=screening_round).count() == living.count() > 0


def test_demo_passport(street, demo):
    """Vaccination on four residents in five of the demo committee; stamps on the grid worker's
    first micro-grid, recorded as the grid worker; the first page shows the grid worker the count."""
    from xiuhua.passport.models import Stamp
    from xiuhua.places.models import Grid

    grid = Membership.objects.get(user__username="grid").grid
    micro = Grid.objects.filter(parent=grid).order_by("name", "pk").first()
    stamps = Stamp.objects.filter(household__micro_grid=micro)
    assert stamps.exists() and set(stamps.values_list("stamped_by__username", flat=True)) == {"grid"}
    assert set(stamps.values_list("kind", flat=True)) == {"volunteer", "convenience"}
    assert not Stamp.objects.exclude(household__micro_grid=micro).exists()
    committee = Membership.objects.get(user__username="grid").org_unit
    assert Resident.objects.filter(committee=committee, vaccine_doses=2).exists()
    assert "Passport:" in demo
