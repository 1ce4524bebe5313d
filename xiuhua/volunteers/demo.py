"""Demo volunteers and a duty table for the first demo committee, written through the services
as the demo committee staff (李慧敏, `committee`), so the audit page shows them too: 40
volunteers of its first compound (half of them roster residents, matched by mobile; doctors,
nurses, a pharmacist, translators, drivers, repairers; some qualifications still 待确认), three
posts (the east gate with a health statement, the screening queue, the medical team that needs a
confirmed doctor), today's and tomorrow's shifts, with places taken and some still open."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from . import services
from .models import PostKind, Skill, Talent, TalentStatus, Volunteer
from .services import TalentInput

OUTSIDERS = ["周志强", "吴晓东", "郑红梅", "冯建华", "陈思远", "褚美玲", "卫国平", "蒋文静", "沈立新", "韩雪",
             "杨帆", "朱丽娟", "秦海涛", "尤佳", "许文博", "何静", "吕明", "施燕", "张浩然", "孔祥瑞"]
TALENTS = [
    [TalentInput(Skill.DOCTOR, "全科")], [TalentInput(Skill.NURSE, "外科")],
    [TalentInput(Skill.TRANSLATOR, "英语 日语")], [TalentInput(Skill.DRIVER, "C1")],
    [TalentInput(Skill.REPAIR, "水电")], [TalentInput(Skill.PHARMACIST, "临床药师")],
    [TalentInput(Skill.DOCTOR, "妇产科")], [TalentInput(Skill.TRANSLATOR, "韩语")],
    [TalentInput(Skill.PSYCHOLOGIST, "")], [TalentInput(Skill.OTHER, "理发")],
]


def _acting(username: str) -> User | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    user.active_membership = user.memberships.select_related("org_unit", "grid").first()  # type: ignore[attr-defined]
    return user


def ensure_demo_volunteers() -> list[str]:
    staff = _acting("committee")
    membership = getattr(staff, "active_membership", None)
    if staff is None or membership is None:
        return []
    committee = membership.org_unit
    if Volunteer.objects.filter(committee=committee).exists():
        return []
    compound = OrgUnit.objects.filter(parent=committee, kind=Kind.COMPOUND).in_natural_order().first()
    if compound is None:
        return []
    today = timezone.localdate()
    with transaction.atomic():
        residents = list(Resident.objects.filter(household__compound=compound, living_status__in=services.LIVING)
                         .exclude(mobile="").order_by("pk")[:200])
        seen: set[str] = set()
        people: list[tuple[Resident | None, str, str]] = []
        for resident in residents:
            if resident.mobile not in seen and len(people) < 20:
                seen.add(resident.mobile)
                people.append((resident, resident.name, resident.mobile))
        for index, name in enumerate(OUTSIDERS):
            people.append((None, name, f"1390000{index:04d}"))
        volunteers = []
        for index, (resident, name, mobile) in enumerate(people):
            talents = TALENTS[index % len(TALENTS)] if index % 4 != 3 else []
            volunteers.append(services.volunteer_sign_up(
                actor=staff, compound=compound, mobile=mobile, name=name, resident=resident, talents=talents,
                days="1234567" if index % 2 else "67", available_from=dt.time(8), available_to=dt.time(18)))
        # The first half of the qualifications are confirmed, as if their papers had been seen.
        for talent in Talent.objects.filter(committee=committee, status=TalentStatus.PENDING).order_by("pk")[:6]:
            services.talent_decide(actor=staff, talent=talent, confirm=True)
        gate = services.post_create(actor=staff, compound=compound, kind=PostKind.GATE, name="东门门岗",
                                    duties="问询、登记、测温(三个务必)", health_statement=True)
        queue = services.post_create(actor=staff, compound=compound, kind=PostKind.SCREENING, name="核酸点排队引导",
                                     duties="分段排队、协助扫码,队伍控制在30到80人")
        medical = services.post_create(actor=staff, compound=compound, kind=PostKind.DOOR, name="医疗保障组",
                                       duties="上门处理小伤、配药指导", required_skill=Skill.DOCTOR)
        shifts = []
        for day in (today, today + dt.timedelta(days=1)):
            for post, start, end, needed in ((gate, 7, 12, 3), (gate, 12, 18, 3), (gate, 18, 22, 2),
                                             (queue, 7, 11, 6), (medical, 9, 17, 2)):
                shifts.append(services.shift_create(actor=staff, post=post, day=day, start=dt.time(start),
                                                    end=dt.time(end), needed=needed))
        doctors = list(Volunteer.objects.filter(committee=committee, talents__skill=Skill.DOCTOR,
                                                talents__status=TalentStatus.CONFIRMED))
        others = [v for v in volunteers if v not in doctors]
        taken = 0
        for shift_index, shift in enumerate(shifts):
            pool = doctors if shift.post_id == medical.pk else others
            # Leave a gap on the evening gate shift and the screening queue, to show how gaps look.
            count = shift.needed - (1 if shift_index % 5 in (2, 3) else 0)
            for volunteer in pool[(shift_index * 3) % max(len(pool), 1):][:count]:
                services.duty_sign_up(actor=staff, shift=shift, volunteer=volunteer,
                                      now=timezone.now() - dt.timedelta(days=1))
                taken += 1
    return [f"Volunteers: {len(volunteers)} in {compound.name}, 3 posts, {len(shifts)} shifts, {taken} places taken."]
