"""Services of the round and its plan: exact outcomes, refusals that write nothing."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.screening import services_rounds as svc
from xiuhua.screening.models import (
    CallSlot,
    Line,
    PoolRule,
    RoundCompound,
    RoundStatus,
    ScreeningExemption,
    ScreeningPlan,
    ScreeningRound,
    ScreeningRule,
    Site,
)
from xiuhua.testing import acting, make_resident

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(ScreeningRound.objects.values_list("pk", "status", "name")),
        sorted(RoundCompound.objects.values_list("pk", "pool_rule")),
        sorted(Site.objects.values_list("pk", "name", "address", "active")),
        sorted(Line.objects.values_list("pk", "rate_per_hour", "active")),
        sorted(ScreeningExemption.objects.values_list("pk", "reason")),
        sorted(CallSlot.objects.values_list("pk", "starts_at")),
        ScreeningPlan.objects.count(),
        AuditEvent.objects.count(),
    )


def kinds():
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def new_round(world, **extra):
    today = timezone.localdate()
    values = {"scope": world.street_a, "name": "第二轮筛查", "first_day": today, "last_day": today, **extra}
    return svc.screening_round_create(actor=acting(world.street_officer), **values)


def test_a_round_copies_the_rule_in_force_that_day_and_takes_the_streets_compounds(world):
    today = timezone.localdate()
    ScreeningRule.objects.create(effective_from=today - dt.timedelta(days=30), line_rate_per_hour=150)
    ScreeningRule.objects.create(effective_from=today - dt.timedelta(days=2), line_rate_per_hour=180, queue_min=20,
                                 queue_max=60, default_pool_rule=PoolRule.FIVE)
    ScreeningRule.objects.create(effective_from=today + dt.timedelta(days=5), line_rate_per_hour=100)
    r = new_round(world, day_starts=dt.time(6, 30), day_ends=dt.time(20, 0))
    r.refresh_from_db()
    assert (r.line_rate_per_hour, r.queue_min, r.queue_max, r.min_open_lines, r.status) == (180, 20, 60, 3, "draft")
    assert (r.day_starts, r.day_ends, r.created_by) == (dt.time(6, 30), dt.time(20, 0), world.street_officer)
    assert sorted(RoundCompound.objects.filter(round=r).values_list("compound__name", "pool_rule", "committee_id")) == [
        ("国和一村", "5", world.committee_a1.pk), ("国和二村", "5", world.committee_a2.pk)]
    assert kinds() == ["screening_round_create"]
    event = AuditEvent.objects.get()
    assert event.detail["numbers"]["line_rate_per_hour"] == 180 and event.detail["compounds"] == 2


def test_a_round_without_any_rule_creates_the_default_rule(world):
    r = new_round(world, compounds=[world.compound_a2])
    assert ScreeningRule.objects.get().effective_from == dt.date(2020, 1, 1)
    assert (r.line_rate_per_hour, r.queue_min, r.queue_max, r.no_show_percent) == (200, 30, 80, 10)
    assert list(RoundCompound.objects.filter(round=r).values_list("compound", "pool_rule")) == [
        (world.compound_a2.pk, "10")]


@pytest.mark.parametrize("who", ["staff_a1", "street_officer_b", "volunteer", "pharmacy_clerk", "no_role"])
def test_a_round_is_opened_only_by_the_managers_of_its_scope(world, who):
    ScreeningRule.objects.create(effective_from=dt.date(2020, 1, 1))
    before = snapshot()
    with pytest.raises(PermissionDenied):
        svc.screening_round_create(actor=acting(getattr(world, who)), scope=world.street_a, name="x",
                                   first_day=timezone.localdate(), last_day=timezone.localdate())
    assert snapshot() == before


def test_a_district_officer_opens_a_round_for_the_district(world):
    r = svc.screening_round_create(actor=acting(world.district_officer), scope=world.district, name="全区筛查",
                                   first_day=timezone.localdate(), last_day=timezone.localdate())
    assert RoundCompound.objects.filter(round=r).count() == 3


@pytest.mark.parametrize("extra, field, message", [
    ({"name": "  "}, "name", "请填写轮次名称"),
    ({"last_day": timezone.localdate() - dt.timedelta(days=1)}, "last_day", "采样末日不能早于首日"),
    ({"last_day": timezone.localdate() + dt.timedelta(days=14)}, "last_day", "一轮筛查最多 14 天"),
    ({"day_starts": dt.time(19, 0), "day_ends": dt.time(7, 0)}, "day_ends", "每日结束时间须晚于开始时间"),
    ({"compounds": []}, "compounds", "请至少选择一个小区"),
    ({"compounds": "b1"}, "compounds", "所选小区不在本轮筛查范围内"),
    ({"scope": "committee"}, "scope", "筛查轮次由街道或区开设"),
])
def test_bad_round_input_is_refused_with_a_message_and_writes_nothing(world, extra, field, message):
    ScreeningRule.objects.create(effective_from=dt.date(2020, 1, 1))
    if extra.get("compounds") == "b1":
        extra = {"compounds": [world.compound_b1]}
    if extra.get("scope") == "committee":
        extra = {"scope": world.committee_a1}
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        new_round(world, **extra)
    assert caught.value.message_dict == {field: [message]}
    assert snapshot() == before


def test_the_round_moves_through_its_workflow_with_one_audit_event_each(world, screening):
    officer = acting(world.street_officer)
    r = svc.screening_round_move(actor=officer, screening_round=screening.round, action="close")
    assert r.status == RoundStatus.CLOSED
    r = svc.screening_round_move(actor=officer, screening_round=r, action="reopen")
    r = svc.screening_round_move(actor=officer, screening_round=r, action="close")
    r = svc.screening_round_move(actor=officer, screening_round=r, action="finish")
    assert r.status == RoundStatus.FINISHED
    assert kinds() == ["screening_round_close", "screening_round_reopen", "screening_round_close",
                       "screening_round_finish"]
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_round_move(actor=officer, screening_round=r, action="open")
    assert caught.value.messages == ["筛查轮次不能从“已结束”改为“采样中”"]
    # A finished round is history: its sites and lines no longer change.
    with pytest.raises(ValidationError) as caught:
        svc.screening_site_add(actor=officer, screening_round=r, committee=world.committee_a1, name="新点")
    assert caught.value.messages == ["轮次已结束,不能再修改"]
    assert snapshot() == before


@pytest.mark.parametrize("who", ["street_officer_b", "staff_a1", "volunteer"])
def test_other_streets_and_committees_cannot_move_the_round(world, screening, who):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        svc.screening_round_move(actor=acting(getattr(world, who)), screening_round=screening.round, action="close")
    assert snapshot() == before


def test_compounds_are_added_once_and_their_pool_rule_changed_with_old_and_new(world, screening):
    officer = acting(world.street_officer)
    svc.screening_compound_change(actor=officer, round_compound=screening.compound_a1, pool_rule=PoolRule.HOUSEHOLD)
    assert RoundCompound.objects.get(pk=screening.compound_a1.pk).pool_rule == "household"
    event = AuditEvent.objects.get()
    assert (event.action, event.detail, event.committee_id) == (
        "screening_compound_change", {"pool_rule": ["10", "household"]}, world.committee_a1.pk)
    before = snapshot()
    for compound, message in ((world.compound_a1, "该小区已在本轮筛查中"),
                              (world.compound_b1, "所选小区不在本轮筛查范围内"),
                              (world.building_a1, "所选小区不在本轮筛查范围内")):
        with pytest.raises(ValidationError) as caught:
            svc.screening_compound_add(actor=officer, screening_round=screening.round, compound=compound)
        assert caught.value.message_dict == {"compound": [message]}
    with pytest.raises(ValidationError) as caught:
        svc.screening_compound_change(actor=officer, round_compound=screening.compound_a1, pool_rule="3")
    assert caught.value.message_dict == {"pool_rule": ["请选择混采规则"]}
    with pytest.raises(PermissionDenied):
        svc.screening_compound_change(actor=acting(world.staff_a1), round_compound=screening.compound_a1,
                                      pool_rule=PoolRule.SINGLE)
    assert snapshot() == before


def test_sites_take_lines_at_the_rounds_rate_and_are_changed_and_deactivated(world, screening):
    officer = acting(world.street_officer)
    site = svc.screening_site_add(actor=officer, screening_round=screening.round, committee=world.committee_a2,
                                  name=" 国和二村东门 ", address="国和路 200 号", line_count=4)
    assert (site.name, site.address) == ("国和二村东门", "国和路 200 号")
    assert list(site.lines.values_list("number", "rate_per_hour", "active")) == [(n, 200, True) for n in range(1, 5)]
    line = svc.screening_line_add(actor=officer, site=screening.site_a1, rate_per_hour=240)
    assert (line.number, line.rate_per_hour) == (4, 240)
    svc.screening_line_change(actor=officer, line=line, rate_per_hour=220, active=False)
    svc.screening_site_change(actor=officer, site=site, active=False)
    assert (Line.objects.get(pk=line.pk).rate_per_hour, Line.objects.get(pk=line.pk).active) == (220, False)
    assert Site.objects.get(pk=site.pk).active is False
    assert kinds() == ["screening_site_add", "screening_line_add", "screening_line_change", "screening_site_change"]
    changed = AuditEvent.objects.filter(action="screening_site_change").get()
    assert changed.detail == {"changes": {"active": [True, False]}}
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_site_add(actor=officer, screening_round=screening.round, committee=world.committee_b1,
                               name="国和一村广场")
    assert caught.value.message_dict == {"name": ["本轮已有同名采样点"], "committee": ["所选居委会不在本轮筛查范围内"]}
    for rate in (0, "abc", 5000):
        with pytest.raises(ValidationError) as caught:
            svc.screening_line_change(actor=officer, line=line, rate_per_hour=rate)
        assert list(caught.value.message_dict) == ["rate_per_hour"]
    with pytest.raises(ValidationError) as caught:
        svc.screening_site_change(actor=officer, site=site, name="国和一村广场")
    assert caught.value.message_dict == {"name": ["本轮已有同名采样点"]}
    for who in ("street_officer_b", "staff_a1"):
        with pytest.raises(PermissionDenied):
            svc.screening_line_add(actor=acting(getattr(world, who)), site=screening.site_a1)
    with pytest.raises(PermissionDenied):
        svc.screening_site_add(actor=acting(world.street_officer), screening_round=screening.round_b,
                               committee=world.committee_b1, name="x")
    assert snapshot() == before


def test_the_committee_keeps_the_door_to_door_list_of_its_own_residents(world, screening):
    staff = acting(world.staff_a1)
    row = svc.screening_exemption_add(actor=staff, screening_round=screening.round, resident=world.resident_a1,
                                      reason="bedridden")
    assert (row.committee_id, row.building_id, row.door_to_door, row.created_by) == (
        world.committee_a1.pk, world.building_a1.pk, True, world.staff_a1)
    event = AuditEvent.objects.get()
    assert (event.action, event.detail) == (
        "screening_exemption_add", {"resident": world.resident_a1.pk, "reason": "bedridden", "door_to_door": True})
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_exemption_add(actor=staff, screening_round=screening.round, resident=world.resident_a1,
                                    reason="disabled")
    assert caught.value.message_dict == {"resident": ["该居民已在本轮的名单中"]}
    with pytest.raises(ValidationError) as caught:
        svc.screening_exemption_add(actor=staff, screening_round=screening.round, resident=world.resident_a1b,
                                    reason="other")
    assert caught.value.message_dict == {"note": ["原因为“其他”时请填写备注"]}
    # Another committee's resident, a volunteer, another street: refused alike.
    for who, resident in (("staff_a1", world.resident_a2), ("volunteer", world.resident_a1b),
                          ("street_officer_b", world.resident_a1b), ("grid_worker", world.resident_a1b)):
        with pytest.raises(PermissionDenied):
            svc.screening_exemption_add(actor=acting(getattr(world, who)), screening_round=screening.round,
                                        resident=resident, reason="bedridden")
    with pytest.raises(PermissionDenied):
        svc.screening_exemption_remove(actor=acting(world.staff_a2), exemption=row)
    assert snapshot() == before
    svc.screening_exemption_remove(actor=staff, exemption=row)
    assert not ScreeningExemption.objects.exists()
    assert kinds() == ["screening_exemption_add", "screening_exemption_remove"]


def test_a_resident_outside_the_rounds_compounds_is_refused(world, screening):
    RoundCompound.objects.filter(pk=screening.compound_a2.pk).delete()
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_exemption_add(actor=acting(world.street_officer), screening_round=screening.round,
                                    resident=world.resident_a2, reason="quarantined", door_to_door=False)
    assert caught.value.message_dict == {"resident": ["该居民所在小区不在本轮筛查范围内"]}
    assert snapshot() == before


def test_the_plan_gives_each_building_a_slot_and_replaces_the_last_plan(world, screening):
    officer = acting(world.street_officer)
    for n in range(2, 6):
        make_resident(world.household_a1, f"张{n}", mobile="")
    svc.screening_exemption_add(actor=officer, screening_round=screening.round, resident=world.resident_a1b,
                                reason="bedridden")
    plan = svc.screening_plan_make(actor=officer, screening_round=screening.round, phase_order="2-1")
    rows = list(CallSlot.objects.filter(round=screening.round).order_by("site", "position")
                .values_list("site_id", "building_id", "people", "expected", "phase", "position"))
    # 5号: five residents; 6号: its only resident is on the door-to-door list; 12号 goes to A2's site.
    assert rows == [(screening.site_a1.pk, world.building_a1.pk, 5, 4, 1, 0),
                    (screening.site_a2.pk, world.building_a2.pk, 1, 1, 1, 0)]
    slot = CallSlot.objects.get(building=world.building_a1)
    local = timezone.localtime(slot.starts_at)
    assert (slot.day, local.time(), slot.committee_id) == (
        screening.round.first_day, dt.time(7, 0), world.committee_a1.pk)
    # Six people at four lines: no queue reaches 30, and site A2 has one line of the three required.
    assert (plan.phase_order, plan.people, plan.warnings) == ("2-1", 6, [
        f"thin:{screening.site_a1.pk}:4", f"few_lines:{screening.site_a2.pk}:1", f"thin:{screening.site_a2.pk}:1"])
    assert set(plan.series) == {f"{screening.site_a1.pk}:0", f"{screening.site_a2.pk}:0"}
    again = svc.screening_plan_make(actor=officer, screening_round=screening.round)
    assert again.pk == plan.pk and again.phase_order == "" and CallSlot.objects.count() == 2
    assert kinds() == ["screening_exemption_add", "screening_plan_make", "screening_plan_make"]


def test_a_plan_is_refused_for_bad_input_and_for_those_who_do_not_manage_the_round(world, screening):
    officer = acting(world.street_officer)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_plan_make(actor=officer, screening_round=screening.round, phase_order="4-2-2-1")
    assert caught.value.message_dict == {"phase_order": ["分组呼叫顺序应由 1 到 n 的数字各出现一次组成,例如 4-2-3-1"]}
    for who in ("staff_a1", "street_officer_b", "volunteer"):
        with pytest.raises(PermissionDenied):
            svc.screening_plan_make(actor=acting(getattr(world, who)), screening_round=screening.round)
    Line.objects.update(active=False)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_plan_make(actor=officer, screening_round=screening.round)
    assert caught.value.messages == ["请先新增采样点并为其添加采样台"]
    assert snapshot() == before


def test_slot_texts_go_out_an_hour_before_each_buildings_slot(world, screening):
    from xiuhua.residents.models import Household
    from xiuhua.screening.models import CallSlot
    from xiuhua.sms.models import OutboundSms

    officer = acting(world.street_officer)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    ScreeningRound.objects.filter(pk=screening.round.pk).update(first_day=tomorrow, last_day=tomorrow)
    screening.round.refresh_from_db()
    svc.screening_plan_make(actor=officer, screening_round=screening.round)
    assert svc.screening_plan_sms(actor=officer, screening_round=screening.round) == 3
    slots = {slot.building_id: slot for slot in CallSlot.objects.filter(round=screening.round)}
    for sms in OutboundSms.objects.filter(purpose="screening_slot"):
        household = Household.objects.get(residents__mobile=sms.phone)
        assert sms.next_attempt_at == slots[household.building_id].starts_at - svc.SLOT_TEXT_LEAD


def draft(screening):
    ScreeningRound.objects.filter(pk=screening.round.pk).update(status=RoundStatus.DRAFT)
    screening.round.refresh_from_db()
    return screening.round


def change(world, screening_round, **values):
    stored = ScreeningRound.objects.get(pk=screening_round.pk)
    fields = {f: getattr(stored, f) for f in ("name", "first_day", "last_day", "day_starts", "day_ends")}
    return svc.screening_round_change(actor=acting(world.street_officer), screening_round=screening_round,
                                      **{**fields, **values})


def test_a_draft_round_moves_its_days_and_its_plan_is_dropped_with_the_old_and_new_values(world, screening):
    screening_round = draft(screening)
    officer = acting(world.street_officer)
    svc.screening_plan_make(actor=officer, screening_round=screening_round)
    later = screening_round.first_day + dt.timedelta(days=2)
    changed, dropped = change(world, screening_round, name=" 第一轮(改期) ", first_day=later, last_day=later)
    assert dropped is True
    assert (changed.name, changed.first_day, changed.last_day) == ("第一轮(改期)", later, later)
    assert (CallSlot.objects.count(), ScreeningPlan.objects.count()) == (0, 0)
    assert kinds() == ["screening_plan_make", "screening_plan_drop", "screening_round_change"]
    event = AuditEvent.objects.get(action="screening_round_change")
    assert event.detail == {"name": ["第一轮全员核酸筛查", "第一轮(改期)"],
                            "first_day": [str(later - dt.timedelta(days=2)), str(later)],
                            "last_day": [str(later - dt.timedelta(days=1)), str(later)]}
    # Saving the same values again changes and records nothing.
    assert change(world, changed) == (changed, False)
    assert AuditEvent.objects.filter(action="screening_round_change").count() == 1


def test_an_open_round_is_renamed_only_and_told_days_are_never_moved(world, screening):
    from xiuhua.sms.models import OutboundSms

    officer = acting(world.street_officer)
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        change(world, screening.round, last_day=screening.round.last_day + dt.timedelta(days=1))
    assert caught.value.messages == ["轮次已开始采样,只能修改名称;日期和时间只能在筹备中修改"]
    assert snapshot() == before
    renamed, dropped = change(world, screening.round, name="第一轮")
    assert (renamed.name, dropped) == ("第一轮", False)

    # Households were texted their slots: the plan stands, the days stay.
    screening_round = draft(screening)
    svc.screening_plan_make(actor=officer, screening_round=screening_round)
    assert svc.screening_plan_sms(actor=officer, screening_round=screening_round) > 0
    before = (snapshot(), OutboundSms.objects.count())
    with pytest.raises(ValidationError) as caught:
        change(world, screening_round, day_starts=dt.time(8, 0))
    assert caught.value.messages == ["已按现有排班给居民发送了时段短信,不能再改变;如需改期,请另开一轮筛查"]
    assert (snapshot(), OutboundSms.objects.count()) == before
    with pytest.raises(ValidationError) as caught:
        change(world, screening_round, name="", last_day=screening_round.first_day - dt.timedelta(days=1))
    assert caught.value.message_dict == {"name": ["请填写轮次名称"], "last_day": ["采样末日不能早于首日"]}
    for who in ("staff_a1", "street_officer_b"):
        with pytest.raises(PermissionDenied):
            svc.screening_round_change(actor=acting(getattr(world, who)), screening_round=screening_round,
                                       name="x", first_day=screening_round.first_day,
                                       last_day=screening_round.last_day, day_starts=dt.time(7), day_ends=dt.time(19))
    assert (snapshot(), OutboundSms.objects.count()) == before


def test_a_compound_leaves_a_draft_round_until_its_codes_are_made(world, screening):
    from xiuhua.screening.models import SamplingCode

    screening_round = draft(screening)
    officer = acting(world.street_officer)
    svc.screening_plan_make(actor=officer, screening_round=screening_round)
    SamplingCode.objects.create(round=screening_round, reference="RM0000001", committee=world.committee_a1,
                                building=world.building_a1, walk_in=True, name_masked="访*1")
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        svc.screening_compound_remove(actor=officer, round_compound=screening.compound_a1)
    assert caught.value.messages == ["该小区已生成采样码,不能移出本轮筛查"]
    assert snapshot() == before
    with pytest.raises(PermissionDenied):
        svc.screening_compound_remove(actor=acting(world.staff_a2), round_compound=screening.compound_a2)
    # A2 has no codes: it leaves, and the plan that called its building is dropped.
    assert svc.screening_compound_remove(actor=officer, round_compound=screening.compound_a2) is True
    assert list(RoundCompound.objects.filter(round=screening_round).values_list("compound", flat=True)) == [
        world.compound_a1.pk]
    assert ScreeningPlan.objects.count() == 0
    assert kinds()[-2:] == ["screening_plan_drop", "screening_compound_remove"]
    SamplingCode.objects.all().delete()
    with pytest.raises(ValidationError) as caught:
        svc.screening_compound_remove(actor=officer, round_compound=screening.compound_a1)
    assert caught.value.messages == ["一轮筛查至少要有一个小区"]
