"""The volunteers' services: sign-up (roster residents linked, outsiders with the minimum),
qualifications confirmed by staff, shifts and their places, overlaps, check-in windows, hours,
the passport stamp, the evening text, tasks handed from a work order."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.passport.models import Stamp, StampKind
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting
from xiuhua.volunteers import selectors as sel
from xiuhua.volunteers import services
from xiuhua.volunteers.models import Duty, DutyStatus, Shift, Skill, Talent, TalentStatus, Volunteer
from xiuhua.volunteers.services import TalentInput

from .conftest import OUTSIDER_PHONE, at, make_shift, outsider

pytestmark = pytest.mark.django_db


def test_an_outsider_signs_up_on_the_phone_with_the_minimum(world):
    volunteer = outsider(world, talents=[TalentInput(Skill.NURSE, "外科"), TalentInput(Skill.REPAIR, "水电")])
    assert (volunteer.name, volunteer.mobile, volunteer.compound, volunteer.committee, volunteer.resident,
            volunteer.entered_by) == ("周志强", OUTSIDER_PHONE, world.compound_a1, world.committee_a1, None, None)
    talents = {t.skill: (t.detail, t.status) for t in volunteer.talents.all()}
    # A nurse needs proof: 待确认 until staff confirm; repair needs none.
    assert talents == {"nurse": ("外科", TalentStatus.PENDING), "repair": ("水电", TalentStatus.SELF)}
    event = AuditEvent.objects.get(action="volunteer_sign_up")
    assert (event.subject_label, event.detail["roster"], event.detail["by_staff"]) == ("周** 国和一村", False, False)


def test_a_roster_resident_is_linked_by_mobile_and_keeps_the_roster_name(world):
    volunteer = services.volunteer_sign_up(actor=None, compound=world.compound_a1, mobile="13812345678",
                                           name="随便写的")
    assert (volunteer.resident, volunteer.name) == (world.resident_a1, "张秀英")


def test_staff_sign_up_for_their_committee_only(world):
    staff = acting(world.staff_a1)
    volunteer = services.volunteer_sign_up(actor=staff, compound=world.compound_a1, mobile="13900001111", name="吴晓东")
    assert volunteer.entered_by == world.staff_a1
    with pytest.raises(PermissionDenied):
        services.volunteer_sign_up(actor=staff, compound=world.compound_a2, mobile="13900001112", name="郑红梅")
    with pytest.raises(PermissionDenied):
        services.volunteer_sign_up(actor=acting(world.street_officer), compound=world.compound_a1,
                                   mobile="13900001113", name="冯建华")
    assert Volunteer.objects.count() == 1


@pytest.mark.parametrize("mobile, name, field, message", [
    ("12345", "周志强", "mobile", None),
    (OUTSIDER_PHONE, "", "name", "请填写姓名"),
    (OUTSIDER_PHONE, "周\u202e强", "name", "含有不能使用的字符"),
])
def test_bad_sign_up_is_refused_in_chinese_and_writes_nothing(world, mobile, name, field, message):
    with pytest.raises(ValidationError) as caught:
        services.volunteer_sign_up(actor=None, compound=world.compound_a1, mobile=mobile, name=name)
    assert field in caught.value.message_dict
    if message:
        assert caught.value.message_dict[field] == [message]
    assert (Volunteer.objects.count(), AuditEvent.objects.count()) == (0, 0)


def test_a_second_sign_up_with_the_same_phone_is_refused(world):
    outsider(world)
    with pytest.raises(ValidationError) as caught:
        outsider(world, name="另一个")
    assert caught.value.message_dict["mobile"] == ["这个手机号已登记为本居委会的志愿者"]


def test_staff_confirm_a_qualification_with_who_and_when(world):
    volunteer = outsider(world, talents=[TalentInput(Skill.DOCTOR, "全科")])
    talent = volunteer.talents.get()
    services.talent_decide(actor=acting(world.staff_a1), talent=talent, confirm=True)
    talent.refresh_from_db()
    assert (talent.status, talent.decided_by) == (TalentStatus.CONFIRMED, world.staff_a1)
    assert talent.decided_at is not None
    assert AuditEvent.objects.filter(action="volunteer_talent_confirm").count() == 1
    # Another committee's staff cannot.
    with pytest.raises(PermissionDenied):
        services.talent_decide(actor=acting(world.staff_a2), talent=talent, confirm=False)


def test_changing_a_claim_asks_for_proof_again(world):
    volunteer = outsider(world, talents=[TalentInput(Skill.DOCTOR, "全科")])
    services.talent_decide(actor=acting(world.staff_a1), talent=volunteer.talents.get(), confirm=True)
    services.volunteer_update(actor=None, volunteer=volunteer, talents=[TalentInput(Skill.DOCTOR, "全科")],
                              days="135", available_from=dt.time(8), available_to=dt.time(12))
    assert volunteer.talents.get().status == TalentStatus.CONFIRMED
    services.volunteer_update(actor=None, volunteer=volunteer, talents=[TalentInput(Skill.DOCTOR, "儿科")],
                              days="135", available_from=dt.time(8), available_to=dt.time(12))
    assert (volunteer.talents.get().detail, volunteer.talents.get().status) == ("儿科", TalentStatus.PENDING)


def test_the_last_places_and_the_refusals_of_a_sign_up(world):
    shift = make_shift(world, needed=2)
    first, second, third = (outsider(world, phone=f"1390000100{i}", name=f"志愿者{i}") for i in range(3))
    services.duty_sign_up(actor=None, shift=shift, volunteer=first)
    with pytest.raises(ValidationError, match="已报名这个班次"):
        services.duty_sign_up(actor=None, shift=shift, volunteer=first)
    services.duty_sign_up(actor=acting(world.staff_a1), shift=shift, volunteer=second)
    with pytest.raises(ValidationError, match="这个班次已报满"):
        services.duty_sign_up(actor=None, shift=shift, volunteer=third)
    shift.refresh_from_db()
    assert (shift.filled, Duty.objects.count()) == (2, 2)
    assert AuditEvent.objects.filter(action="volunteer_duty_sign_up").count() == 2


def test_overlapping_shifts_are_refused(world):
    morning = make_shift(world, start=8, end=12)
    noon = make_shift(world, post=morning.post, start=11, end=14)
    afternoon = make_shift(world, post=morning.post, start=12, end=16)
    volunteer = outsider(world)
    services.duty_sign_up(actor=None, shift=morning, volunteer=volunteer)
    with pytest.raises(ValidationError, match="与已报名的班次时间重叠:东门门岗"):
        services.duty_sign_up(actor=None, shift=noon, volunteer=volunteer)
    # Back to back is not an overlap.
    services.duty_sign_up(actor=None, shift=afternoon, volunteer=volunteer)
    noon.refresh_from_db()
    assert noon.filled == 0


def test_a_post_that_requires_a_skill_takes_only_confirmed_holders(world):
    shift = make_shift(world, required_skill=Skill.NURSE, name="医疗保障组")
    nurse = outsider(world, talents=[TalentInput(Skill.NURSE, "外科")])
    with pytest.raises(ValidationError, match="这个岗位需要已确认的“护士”技能"):
        services.duty_sign_up(actor=None, shift=shift, volunteer=nurse)
    services.talent_decide(actor=acting(world.staff_a1), talent=nurse.talents.get(), confirm=True)
    services.duty_sign_up(actor=None, shift=shift, volunteer=nurse)


def test_another_committees_shift_is_refused(world):
    staff_a2 = acting(world.staff_a2)
    post = services.post_create(actor=staff_a2, compound=world.compound_a2, kind="gate", name="北门")
    shift = services.shift_create(actor=staff_a2, post=post, day=timezone.localdate() + dt.timedelta(days=1),
                                  start=dt.time(8), end=dt.time(10), needed=2)
    with pytest.raises(PermissionDenied):
        services.duty_sign_up(actor=None, shift=shift, volunteer=outsider(world))


def test_check_in_only_within_the_window_after_the_health_statement(world):
    day = timezone.localdate() + dt.timedelta(days=1)
    shift = make_shift(world, day=day, start=9, end=12, health_statement=True)
    volunteer = outsider(world)
    duty = services.duty_sign_up(actor=None, shift=shift, volunteer=volunteer)
    with pytest.raises(ValidationError, match="还没到签到时间"):
        services.duty_check_in(actor=None, duty=duty, now=at(day, 8, 29))
    with pytest.raises(ValidationError, match="请先填写今天的健康承诺"):
        services.duty_check_in(actor=None, duty=duty, now=at(day, 8, 31))
    with pytest.raises(ValidationError, match="健康承诺请在值班当天填写"):
        services.duty_health_declare(duty=duty, now=at(day, 8, 0) - dt.timedelta(days=1))
    services.duty_health_declare(duty=duty, now=at(day, 8, 30))
    with pytest.raises(ValidationError, match="签到时间已过"):
        services.duty_check_in(actor=None, duty=duty, now=at(day, 12, 31))
    services.duty_check_in(actor=None, duty=duty, now=at(day, 8, 50))
    duty.refresh_from_db()
    assert (duty.status, duty.checked_in_at) == (DutyStatus.ON_DUTY, at(day, 8, 50))
    out = services.duty_check_out(actor=None, duty=duty, now=at(day, 12, 5))
    assert (out.status, out.minutes) == (DutyStatus.DONE, 195)
    volunteer.refresh_from_db()
    assert volunteer.minutes_served == 195
    # Forgotten check-out: counted only to the end of the window.
    later = make_shift(world, post=shift.post, day=day, start=13, end=14)
    other = services.duty_sign_up(actor=None, shift=later, volunteer=volunteer)
    services.duty_health_declare(duty=other, now=at(day, 13, 0))
    services.duty_check_in(actor=None, duty=other, now=at(day, 13, 0))
    assert services.duty_check_out(actor=acting(world.staff_a1), duty=other, now=at(day, 20, 0)).minutes == 90


def test_a_roster_volunteers_completed_shift_stamps_the_household_once_a_week(world):
    day = timezone.localdate()
    volunteer = services.volunteer_sign_up(actor=None, compound=world.compound_a1, mobile="13812345678")
    first = make_shift(world, day=day, start=0, end=1)
    second = make_shift(world, post=first.post, day=day, start=1, end=2)
    for shift in (first, second):
        duty = Duty.objects.create(shift=shift, volunteer=volunteer)  # signed up before the shift began
        services.duty_check_in(actor=None, duty=duty, now=shift.starts_at)
        services.duty_check_out(actor=None, duty=duty, now=shift.ends_at)
    stamp = Stamp.objects.get()
    assert (stamp.household, stamp.kind, stamp.stamped_on, stamp.stamped_by) == (
        world.household_a1, StampKind.VOLUNTEER, day, world.staff_a1)
    # An outsider's completed shift stamps nothing.
    stranger = outsider(world)
    third = make_shift(world, post=first.post, day=day, start=2, end=3)
    duty = Duty.objects.create(shift=third, volunteer=stranger)
    services.duty_check_in(actor=None, duty=duty, now=third.starts_at)
    services.duty_check_out(actor=None, duty=duty, now=third.ends_at)
    assert Stamp.objects.count() == 1


def test_cancelling_gives_the_place_back(world):
    shift = make_shift(world, needed=1)
    volunteer = outsider(world)
    duty = services.duty_sign_up(actor=None, shift=shift, volunteer=volunteer)
    services.duty_cancel(actor=None, duty=duty)
    shift.refresh_from_db()
    assert shift.filled == 0
    # And the volunteer may take it again.
    services.duty_sign_up(actor=None, shift=shift, volunteer=volunteer)
    shift.refresh_from_db()
    assert shift.filled == 1


def test_the_evening_text_goes_once_per_volunteer_and_day(world):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    gate = make_shift(world, day=tomorrow, start=7, end=9)
    queue = make_shift(world, day=tomorrow, start=10, end=12, name="核酸点排队引导")
    volunteer = outsider(world)
    services.duty_sign_up(actor=None, shift=gate, volunteer=volunteer)
    services.duty_sign_up(actor=None, shift=queue, volunteer=volunteer)
    today = timezone.localdate()
    assert services.duty_texts_send(now=at(today, 19, 59)) == 0
    assert services.duty_texts_send(now=at(today, 20, 0)) == 1
    assert services.duty_texts_send(now=at(today, 20, 10)) == 0
    sms = OutboundSms.objects.get(purpose="volunteer_duty")
    assert sms.phone == OUTSIDER_PHONE
    assert f"明天({tomorrow.month}月{tomorrow.day}日)" in sms.text
    assert "07:00-09:00 东门门岗;10:00-12:00 核酸点排队引导" in sms.text and "周**" in sms.text


def test_gaps_and_overlaps_on_the_day_table(world):
    day = timezone.localdate() + dt.timedelta(days=1)
    morning = make_shift(world, day=day, start=8, end=10, needed=2)
    later = make_shift(world, post=morning.post, day=day, start=10, end=12, needed=1)
    volunteer = outsider(world)
    one = services.duty_sign_up(actor=None, shift=morning, volunteer=volunteer)
    two = services.duty_sign_up(actor=None, shift=later, volunteer=volunteer)
    staff = acting(world.staff_a1)
    table = sel.day_table(services.Post.objects.visible_to(staff), day)
    assert (table.gaps, table.overlaps) == (1, 0)
    # The morning shift is moved to end later: the volunteer now stands at two places at 10:30.
    services.shift_update(actor=staff, shift=morning, start=dt.time(8), end=dt.time(11), needed=2)
    table = sel.day_table(services.Post.objects.visible_to(staff), day)
    assert (table.gaps, table.overlaps) == (1, 2)
    assert {d for s in table.posts[0].shifts for d in s.overlaps} == {one.pk, two.pk}
    with pytest.raises(ValidationError, match="需要人数不能少于报名人数"):
        services.shift_update(actor=staff, shift=later, start=dt.time(10), end=dt.time(12), needed=0)


def test_shift_set_up_refusals(world):
    staff = acting(world.staff_a1)
    post = services.post_create(actor=staff, compound=world.compound_a1, kind="gate", name="东门")
    with pytest.raises(ValidationError) as caught:
        services.shift_create(actor=staff, post=post, day=timezone.localdate(), start=dt.time(12), end=dt.time(9),
                              needed=0)
    assert caught.value.message_dict == {"end": ["结束时间应晚于开始时间"], "needed": ["需要人数应在1到200之间"]}
    with pytest.raises(ValidationError, match="请填写岗位名称"):
        services.post_create(actor=staff, compound=world.compound_a1, kind="gate", name=" ")
    assert Shift.objects.count() == 0


def test_the_directory_finds_by_skill_detail_compound_confirmation_and_time(world):
    staff = acting(world.staff_a1)
    english = outsider(world, phone="13900002001", name="陈思远", talents=[TalentInput(Skill.TRANSLATOR, "英语 日语")])
    nurse = outsider(world, phone="13900002002", name="褚美玲", talents=[TalentInput(Skill.NURSE, "外科")])
    services.volunteer_update(actor=None, volunteer=nurse, talents=[TalentInput(Skill.NURSE, "外科")], days="1234567",
                              available_from=dt.time(8), available_to=dt.time(18))

    def found(**search):
        return [v.name for v in sel.directory(staff, sel.Search(**search), now=at(timezone.localdate(), 9))]

    assert found(skill=Skill.TRANSLATOR, detail="英语") == ["陈思远"]
    assert found(detail="韩语") == []
    assert found(skill=Skill.NURSE) == ["褚美玲"]
    assert found(skill=Skill.NURSE, confirmed_only=True) == []
    assert found(available_now=True) == ["褚美玲"]
    assert sorted(found(compound_id=world.compound_a1.pk)) == ["褚美玲", "陈思远"]
    assert found(compound_id=world.compound_a2.pk) == []
    # Other committees see none of them; the street sees them all.
    assert list(sel.directory(acting(world.staff_a2), sel.Search())) == []
    assert len(sel.directory(acting(world.street_officer), sel.Search())) == 2
    # Skill, detail and confirmation must hold for one and the same talent.
    both = outsider(world, phone="13900002003", name="卫国平",
                    talents=[TalentInput(Skill.DOCTOR, "儿科"), TalentInput(Skill.TRANSLATOR, "英语")])
    assert found(skill=Skill.DOCTOR, detail="英语") == []
    assert found(skill=Skill.DOCTOR, detail="儿") == ["卫国平"]
    assert found(skill=Skill.DOCTOR, confirmed_only=True) == []
    services.talent_decide(actor=staff, talent=both.talents.get(skill=Skill.DOCTOR), confirm=True)
    assert found(skill=Skill.DOCTOR, confirmed_only=True, detail="儿科") == ["卫国平"]
    assert sorted(found(detail="英语")) == ["卫国平", "陈思远"]
    assert found(detail="doctor") == [] and found(detail=".*") == []
    assert english.pk


def test_a_work_order_is_handed_to_a_nurse_who_sees_only_the_task(world):
    from xiuhua.tickets.models import Ticket

    staff = acting(world.staff_a1)
    ticket = Ticket.objects.create(number="T1", source="call", category="wound_care", urgency="normal",
                                   deadline_class="help", description="小朋友手术伤口需要处理,家长张秀英 13812345678",
                                   committee=world.committee_a1, household=world.household_a1,
                                   received_at=timezone.now(), deadline_at=timezone.now() + dt.timedelta(days=1),
                                   follow_token_hash="x" * 64)
    nurse = outsider(world, talents=[TalentInput(Skill.NURSE, "外科")])
    due = timezone.now() + dt.timedelta(hours=3)
    with pytest.raises(ValidationError) as caught:
        services.task_assign(actor=staff, source="ticket", source_id=ticket.pk, volunteer=nurse, what="伤口换药",
                             place="国和一村5号302室", due_at=due, contact="李慧敏 65430000", skill=Skill.NURSE)
    assert caught.value.message_dict["volunteer"] == ["这位志愿者没有已确认的“护士”技能"]
    services.talent_decide(actor=staff, talent=nurse.talents.get(), confirm=True)
    task = services.task_assign(actor=staff, source="ticket", source_id=ticket.pk, volunteer=nurse, what="伤口换药",
                                place="国和一村5号302室", due_at=due, contact="李慧敏 65430000", skill=Skill.NURSE)
    assert (task.committee, task.volunteer, task.what) == (world.committee_a1, nurse, "伤口换药")
    sms = OutboundSms.objects.get(purpose="volunteer_task")
    assert sms.phone == OUTSIDER_PHONE and "伤口换药" in sms.text and "张秀英" not in sms.text
    services.task_finish(actor=None, task=task)
    task.refresh_from_db()
    assert task.status == "done" and task.done_at is not None
    # Another committee's staff cannot hand this work order.
    with pytest.raises(Http404):
        services.task_assign(actor=acting(world.staff_a2), source="ticket", source_id=ticket.pk, volunteer=nurse,
                             what="x", place="x", due_at=due, contact="x")
    assert Talent.objects.count() == 1
