"""Test fixtures shared by every app: a small but complete slice of the five-level tree."""

import datetime as dt
import itertools
from types import SimpleNamespace

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.places.models import CompoundType, Grid, Kind, OrgUnit
from xiuhua.residents.identity import identity_fields
from xiuhua.residents.models import Household, Relation, Resident, ResidentTag

PASSWORD = "Xiuhua-test-2026"
_sequence = itertools.count(1)


def unit(kind, name, parent=None, **extra) -> OrgUnit:
    obj = OrgUnit(kind=kind, name=name, parent=parent, **extra)
    obj.full_clean()
    obj.save()
    return obj


def make_user(username: str, role: str, org_unit: OrgUnit, grid: Grid | None = None) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, display_name=username)
    Membership.objects.create(user=user, org_unit=org_unit, role=role, grid=grid)
    return user


def make_resident(
    household: Household,
    name: str,
    *,
    birth=dt.date(1980, 5, 17),
    sex="M",
    relation=Relation.HEAD,
    mobile="",
    tags=(),
    region="310110",
) -> Resident:
    seq = next(_sequence) * 2 % 1000 + (1 if sex == "M" else 0)
    number = make_resident_id(region, birth, seq)
    resident = Resident.objects.create(
        household=household,
        name=name,
        sex=sex,
        birth_date=birth,
        relation=relation,
        mobile=mobile,
        **identity_fields(IdType.RESIDENT_ID, number),
    )
    resident.plain_id = number  # type: ignore[attr-defined]  # the clear number, for assertions
    for tag in tags:
        ResidentTag.objects.create(resident=resident, tag=tag, committee_id=resident.committee_id)
    return resident


# Where a member of each role sits in build_world (an attribute of the world it returns).
ROLE_UNITS = {
    Role.DISTRICT_OFFICER: "district",
    Role.STREET_OFFICER: "street_a",
    Role.COMMITTEE_STAFF: "committee_a1",
    Role.GRID_WORKER: "committee_a1",
    Role.HEALTH_CENTRE: "street_a",
    Role.DEPARTMENT_STAFF: "street_a",
    Role.VOLUNTEER: "committee_a1",
    Role.PHARMACY_CLERK: "street_a",
    Role.GROUPBUY_LEADER: "compound_a1",
    Role.BUSINESS_CONTACT: "street_a",
    Role.LAB: "street_a",
    Role.SYSADMIN: "city",
}


def build_world() -> SimpleNamespace:
    """Two streets; street A has committees A1 and A2; B1 is in street B. One user per role."""
    w = SimpleNamespace()
    w.city = unit(Kind.CITY, "上海市")
    w.district = unit(Kind.DISTRICT, "杨浦区", w.city)
    w.street_a = unit(Kind.STREET, "长海路街道", w.district, code="310110012000")
    w.street_b = unit(Kind.STREET, "五角场街道", w.district, code="310110013000")
    w.committee_a1 = unit(Kind.COMMITTEE, "国和一村居委会", w.street_a, code="310110012001")
    w.committee_a2 = unit(Kind.COMMITTEE, "国和二村居委会", w.street_a, code="310110012002")
    w.committee_b1 = unit(Kind.COMMITTEE, "政立路居委会", w.street_b, code="310110013001")
    w.compound_a1 = unit(Kind.COMPOUND, "国和一村", w.committee_a1, compound_type=CompoundType.ENCLOSED)
    w.compound_a2 = unit(Kind.COMPOUND, "国和二村", w.committee_a2, compound_type=CompoundType.OPEN)
    w.compound_b1 = unit(Kind.COMPOUND, "政立小区", w.committee_b1, compound_type=CompoundType.ENCLOSED)
    w.building_a1 = unit(Kind.BUILDING, "5号", w.compound_a1)
    w.building_a1b = unit(Kind.BUILDING, "6号", w.compound_a1)
    w.building_a2 = unit(Kind.BUILDING, "12号", w.compound_a2)
    w.building_b1 = unit(Kind.BUILDING, "3号", w.compound_b1)
    w.grid_a1 = Grid.objects.create(committee=w.committee_a1, kind=Grid.GridKind.GRID, name="第一网格")
    w.micro_a1 = Grid.objects.create(
        committee=w.committee_a1, kind=Grid.GridKind.MICRO, name="5号楼微网格", parent=w.grid_a1
    )

    w.household_a1 = Household.objects.create(building=w.building_a1, room="302", grid=w.grid_a1, micro_grid=w.micro_a1)
    w.household_a1b = Household.objects.create(building=w.building_a1b, room="101")
    w.household_a2 = Household.objects.create(
        building=w.building_a2, room="201", is_rental=True, landlord_name="王先生", landlord_phone="13900000001"
    )
    w.household_b1 = Household.objects.create(building=w.building_b1, room="401")
    w.resident_a1 = make_resident(
        w.household_a1, "张秀英", sex="F", mobile="13812345678", birth=dt.date(1946, 3, 8), tags=["elderly_alone"]
    )
    w.resident_a1b = make_resident(w.household_a1b, "李建国", mobile="13812340000")
    w.resident_a2 = make_resident(w.household_a2, "王芳", sex="F", mobile="13700001111", tags=["pregnant"])
    w.resident_b1 = make_resident(w.household_b1, "赵强", mobile="13600002222", tags=["dialysis"])

    w.district_officer = make_user("district", Role.DISTRICT_OFFICER, w.district)
    w.street_officer = make_user("street_a", Role.STREET_OFFICER, w.street_a)
    w.street_officer_b = make_user("street_b", Role.STREET_OFFICER, w.street_b)
    w.staff_a1 = make_user("staff_a1", Role.COMMITTEE_STAFF, w.committee_a1)
    w.staff_a2 = make_user("staff_a2", Role.COMMITTEE_STAFF, w.committee_a2)
    w.staff_b1 = make_user("staff_b1", Role.COMMITTEE_STAFF, w.committee_b1)
    w.grid_worker = make_user("grid_a1", Role.GRID_WORKER, w.committee_a1, grid=w.grid_a1)
    w.volunteer = make_user("volunteer", Role.VOLUNTEER, w.committee_a1)
    w.pharmacy_clerk = make_user("pharmacy", Role.PHARMACY_CLERK, w.street_a)
    w.sysadmin = make_user("sysadmin", Role.SYSADMIN, w.city)
    w.no_role = User.objects.create_user(username="nobody", password=PASSWORD)
    return w


def acting(user: User) -> User:
    """The user with their first membership active, as the middleware would set it."""
    user.active_membership = (  # type: ignore[attr-defined]
        Membership.objects.filter(user=user, active=True)
        .select_related("org_unit", "grid")
        .order_by("org_unit__path", "role")
        .first()
    )
    return user


def as_user(client, user):
    """The test client, logged in as `user`."""
    client.force_login(user)
    return client


def run_parallel(fn, count: int) -> list:
    """Run fn(i) in `count` threads released together by a barrier, each closing its own database
    connection; returns each call's result, or the exception it raised (for the assertions)."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def wait_for(condition, what: str, timeout: float = 60.0):
    """Wait until `condition()` is true and return its value; fail the test, naming `what`, after
    `timeout` seconds. For what other threads or processes do: a test waits for a state, never for
    a length of time."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling interval, not a timing assumption
    raise AssertionError(f"timed out waiting for {what}")


def use_up_lookups(user: User) -> None:
    """Spend the user's ten-minute allowance of personal-key lookups, as a walk of guesses would."""
    from xiuhua.core.lookups import lookup_counters
    from xiuhua.core.ratelimit import rate_hit

    counter = next(c for c in lookup_counters(actor=user) if c.rule.window == 600)
    rate_hit(counter.key, limit=counter.rule.limit, window=counter.rule.window, cost=counter.rule.limit)


def qr_codes_in_pdf(pdf: bytes, *, dpi: int = 150) -> list[list[tuple[str, str]]]:
    """Every barcode a phone would find on each page of `pdf`, as (format, text) per page: the
    pages rendered to PNG by poppler's pdftoppm and read by zxing-cpp, as a camera would."""
    import os
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    import pytest
    import zxingcpp
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        reason = "needs pdftoppm (Debian: apt install poppler-utils) to render the sheet"
        if os.environ.get("XIUHUA_REQUIRE_BROWSER"):
            pytest.fail(reason)  # CI installs it: a missing renderer is a failure there
        pytest.skip(reason)

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(Path(folder) / "page")], check=True)
        pages = []
        for png in sorted(Path(folder).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
            with Image.open(png) as image:
                found = zxingcpp.read_barcodes(image)
            pages.append([(found_code.format.name, found_code.text) for found_code in found])
        return pages


def qr_codes_in_png(png: bytes) -> list[tuple[str, str]]:
    """Every barcode zxing-cpp finds in a PNG (a browser's screenshot of a page or an element),
    as (format, text): what a phone's camera would read off the screen."""
    import io

    import zxingcpp
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return [(found.format.name, found.text) for found in zxingcpp.read_barcodes(image)]


def assert_moved_once(workflow, action: str, record, act) -> None:
    """`act()`, a call of the service the pages use, moves `record` to the target state of the
    workflow's `action` and writes exactly one audit event named after it (each app's
    test_workflow_audit.py drives every declared action through this)."""
    from xiuhua.core.models import AuditEvent

    name = workflow.audit_action(action)
    before = AuditEvent.objects.filter(action=name).count()
    act()
    record.refresh_from_db()
    assert getattr(record, workflow.field) == workflow.actions[action].target
    assert AuditEvent.objects.filter(action=name).count() == before + 1
