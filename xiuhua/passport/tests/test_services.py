"""Passport services and stamps: exact outcomes, audit events, refusals that change nothing."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from xiuhua.core.models import AuditEvent
from xiuhua.passport import periods
from xiuhua.passport import selectors as sel
from xiuhua.passport.models import PassportHousehold, Stamp, StampStatus
from xiuhua.passport.services import stamp_record, stamp_withdraw
from xiuhua.testing import acting, make_resident

from .helpers import sample, vaccinate

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 9)  # a Wednesday; its week runs 7 to 13 December
WEEK = periods.current(TODAY)


def stamps_this_week(world, household, period=WEEK) -> dict:
    found = sel.stamps_of(PassportHousehold.objects.filter(pk=household.pk), [period])
    return {kind: (shown.on, shown.source) for kind, shown in found.get(household.pk, {}).get(period.start, {}).items()}


def test_weeks_run_monday_to_sunday_and_a_future_week_is_this_one():
    assert (WEEK.start, WEEK.end, WEEK.label) == (dt.date(2026, 12, 7), dt.date(2026, 12, 13), "12月7日—12月13日")
    assert periods.parse("2026-12-03", TODAY).start == dt.date(2026, 11, 30)
    assert periods.parse("2027-01-05", TODAY) == WEEK
    assert periods.parse("nonsense", TODAY) == WEEK
    assert [p.start.isoformat() for p in periods.recent(3, TODAY)] == ["2026-12-07", "2026-11-30", "2026-11-23"]


def test_a_recorded_stamp_with_its_audit_event(world):
    staff = acting(world.staff_a1)
    stamp = stamp_record(actor=staff, household=world.household_a1, kind="volunteer",
                         stamped_on=dt.date(2026, 12, 8), note="  代购  药品 ", today=TODAY)
    assert (stamp.kind, stamp.period_start, stamp.stamped_on, stamp.note, stamp.stamped_by, stamp.committee_id,
            stamp.status) == ("volunteer", dt.date(2026, 12, 7), dt.date(2026, 12, 8), "代购 药品", world.staff_a1,
                              world.committee_a1.pk, StampStatus.ACTIVE)
    event = AuditEvent.objects.get(action="passport_stamp_record")
    assert (event.actor, event.committee_id, event.object_id, event.subject_label, event.personal) == (
        world.staff_a1, world.committee_a1.pk, stamp.pk, "国和一村5号302室 志愿服务 2026-12-07", False)
    assert event.detail == {"kind": "volunteer", "week": "2026-12-07", "on": "2026-12-08"}
    assert stamps_this_week(world, world.household_a1) == {"volunteer": (dt.date(2026, 12, 8), "staff_a1")}


def test_the_same_stamp_twice_in_a_week_is_refused_and_another_week_is_not(world):
    grid_worker = acting(world.grid_worker)
    stamp_record(actor=grid_worker, household=world.household_a1, kind="convenience", stamped_on=dt.date(2026, 12, 7),
                 today=TODAY)
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        stamp_record(actor=grid_worker, household=world.household_a1, kind="convenience",
                     stamped_on=dt.date(2026, 12, 9), today=TODAY)
    assert refused.value.message_dict == {"kind": ["本户12月7日—12月13日已盖过便民服务章,不能重复盖章"]}
    assert (Stamp.objects.count(), AuditEvent.objects.count()) == (1, audits)
    stamp_record(actor=grid_worker, household=world.household_a1, kind="convenience", stamped_on=dt.date(2026, 12, 6),
                 today=TODAY)
    stamp_record(actor=grid_worker, household=world.household_a1, kind="volunteer", stamped_on=dt.date(2026, 12, 9),
                 today=TODAY)
    assert Stamp.objects.count() == 3


@pytest.mark.parametrize(("kind", "day", "note", "errors"), [
    ("nucleic", dt.date(2026, 12, 8), "", {"kind": ["请选择志愿服务或便民服务"]}),
    ("volunteer", None, "", {"stamped_on": ["请填写服务日期"]}),
    ("volunteer", dt.date(2026, 12, 10), "", {"stamped_on": ["服务日期不能晚于今天"]}),
    ("volunteer", dt.date(2026, 10, 18), "", {"stamped_on": ["只能补盖最近8周的章(2026-10-19 以后)"]}),
    ("volunteer", dt.date(2026, 12, 8), "x" * 101, {"note": ["说明不能超过100个字"]}),
    ("volunteer", dt.date(2026, 12, 8), "代购\u202e品药", {"note": ["说明中有不能使用的字符"]}),
])
def test_bad_input_is_refused_in_chinese_and_writes_nothing(world, kind, day, note, errors):
    with pytest.raises(ValidationError) as refused:
        stamp_record(actor=acting(world.staff_a1), household=world.household_a1, kind=kind, stamped_on=day, note=note,
                     today=TODAY)
    assert refused.value.message_dict == errors
    assert not Stamp.objects.exists() and not AuditEvent.objects.exists()


def test_scope_and_role(world):
    with pytest.raises(Http404):  # another committee's household: as if it did not exist
        stamp_record(actor=acting(world.staff_b1), household=world.household_a1, kind="volunteer",
                     stamped_on=TODAY, today=TODAY)
    with pytest.raises(Http404):  # outside the grid worker's grid
        stamp_record(actor=acting(world.grid_worker), household=world.household_a1b, kind="volunteer",
                     stamped_on=TODAY, today=TODAY)
    with pytest.raises(PermissionDenied):  # a street officer sees passports but does not stamp
        stamp_record(actor=acting(world.street_officer), household=world.household_a1, kind="volunteer",
                     stamped_on=TODAY, today=TODAY)
    assert not Stamp.objects.exists() and not AuditEvent.objects.exists()


def test_a_withdrawn_stamp_is_audited_and_may_be_given_again(world):
    staff = acting(world.staff_a1)
    stamp = stamp_record(actor=staff, household=world.household_a1, kind="volunteer", stamped_on=TODAY, today=TODAY)
    with pytest.raises(ValidationError) as refused:
        stamp_withdraw(actor=staff, stamp=stamp, reason=" ")
    assert refused.value.message_dict == {"reason": ["请填写撤销原因"]}
    with pytest.raises(PermissionDenied):
        stamp_withdraw(actor=acting(world.staff_b1), stamp=stamp, reason="录错了户")
    stamp.refresh_from_db()
    assert stamp.status == StampStatus.ACTIVE
    stamp_withdraw(actor=acting(world.grid_worker), stamp=stamp, reason="录错了户")
    stamp.refresh_from_db()
    assert (stamp.status, stamp.withdrawn_by, stamp.withdraw_reason) == ("withdrawn", world.grid_worker, "录错了户")
    assert stamp.withdrawn_at is not None
    event = AuditEvent.objects.get(action="passport_stamp_withdraw")
    assert (event.actor, event.reason, event.detail) == (
        world.grid_worker, "录错了户", {"from": "active", "to": "withdrawn", "kind": "volunteer", "week": "2026-12-07"})
    assert stamps_this_week(world, world.household_a1) == {}
    with pytest.raises(ValidationError) as refused:
        stamp_withdraw(actor=staff, stamp=stamp, reason="再撤一次")
    assert refused.value.messages == ["该印章已撤销,不能再次撤销"]
    again = stamp_record(actor=staff, household=world.household_a1, kind="volunteer", stamped_on=TODAY, today=TODAY)
    assert again.pk != stamp.pk


def test_the_nucleic_stamp_comes_from_a_member_sampled_in_the_week(world):
    sample(world, world.resident_a1, dt.datetime(2026, 12, 6, 23, 30))  # Sunday: the week before
    assert stamps_this_week(world, world.household_a1) == {}
    sample(world, world.resident_a1, dt.datetime(2026, 12, 9, 8, 15))
    sample(world, world.resident_a1, dt.datetime(2026, 12, 8, 0, 5))  # the earliest in the week is shown
    assert stamps_this_week(world, world.household_a1) == {"nucleic": (dt.date(2026, 12, 8), "核酸采样")}
    assert stamps_this_week(world, world.household_a1, WEEK.previous()) == {
        "nucleic": (dt.date(2026, 12, 6), "核酸采样")}
    assert stamps_this_week(world, world.household_a1b) == {}


def test_the_vaccine_stamp_needs_every_member_vaccinated_by_the_weeks_end(world):
    other = make_resident(world.household_a1, "张小明", relation="child")
    vaccinate(world.resident_a1, 3, dt.date(2022, 4, 1))
    assert stamps_this_week(world, world.household_a1) == {}  # 张小明 has no dose recorded
    vaccinate(other, 1, dt.date(2026, 12, 10))
    assert stamps_this_week(world, world.household_a1) == {"vaccine": (dt.date(2026, 12, 10), "居民信息")}
    assert stamps_this_week(world, world.household_a1, WEEK.previous()) == {}  # not yet vaccinated then
    other.living_status = "moved_out"
    other.vaccine_doses, other.vaccinated_on = 0, None
    other.save()
    assert stamps_this_week(world, world.household_a1, WEEK.previous()) == {
        "vaccine": (dt.date(2022, 4, 1), "居民信息")}
    vaccinate(world.resident_a1b, 2, None)  # doses without a day: every week
    assert stamps_this_week(world, world.household_a1b) == {"vaccine": (None, "居民信息")}


def test_coverage_counts_per_grid_and_micro_grid(world):
    staff = acting(world.staff_a1)
    sample(world, world.resident_a1, dt.datetime(2026, 12, 8, 9, 0))
    vaccinate(world.resident_a1)
    stamp_record(actor=staff, household=world.household_a1, kind="volunteer", stamped_on=TODAY, today=TODAY)
    stamp_record(actor=staff, household=world.household_a1, kind="convenience", stamped_on=TODAY, today=TODAY)
    stamp_record(actor=staff, household=world.household_a1b, kind="convenience", stamped_on=TODAY, today=TODAY)
    rows, total, _stamps = sel.coverage(sel.households_for(staff), WEEK, by="grid")
    assert [(r.label, r.households, r.counts, r.complete) for r in rows] == [
        ("第一网格", 1, {"nucleic": 1, "vaccine": 1, "volunteer": 1, "convenience": 1}, 1),
        ("", 1, {"nucleic": 0, "vaccine": 0, "volunteer": 0, "convenience": 1}, 0),
    ]
    assert (total.households, total.counts["convenience"], total.share(total.counts["convenience"]),
            total.complete_share) == (2, 2, 100, 50)
    # A street officer sees both committees of the street, by committee.
    officer = acting(world.street_officer)
    rows, total, _stamps = sel.coverage(sel.households_for(officer), WEEK, by="committee")
    assert [(r.label, r.households, r.complete) for r in rows] == [("国和一村居委会", 2, 1), ("国和二村居委会", 1, 0)]
    # The grid worker sees their grid only.
    rows, total, _stamps = sel.coverage(sel.households_for(acting(world.grid_worker)), WEEK, by="micro_grid")
    assert [(r.label, r.households) for r in rows] == [("5号楼微网格", 1)]
    # Roles without the passport see nothing.
    assert not sel.households_for(acting(world.volunteer)).exists()
