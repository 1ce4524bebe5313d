"""Models of the volunteers module (issue 16): volunteers and their talents, duty tables, and
mutual aid between committees (the last in models_aid.py).

A `Volunteer` belongs to the committee whose compound they serve; a roster resident is linked
(`resident`), an outsider keeps only a name, a mobile and the compound. Their `Talent`s carry
the detail a search needs (a specialty, languages); those that need proof stay 待确认 until
committee staff confirm them (the `volunteer_talent` workflow). A `Post` is a duty post of a
compound (gate, screening queue …) with `Shift`s; a `Duty` is one volunteer on one shift, from
signing up through check-in and check-out (the `volunteer_duty` workflow). `Shift.filled` counts
the live duties and is only ever raised by one conditional UPDATE (filled < needed), so the last
places of a shift cannot be given twice. A `VolunteerTask` is a work order or an isolation case
handed to one volunteer: it holds only what the volunteer needs to see.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit


class Skill(models.TextChoices):
    DOCTOR = "doctor", _("医生")
    NURSE = "nurse", _("护士")
    PHARMACIST = "pharmacist", _("药师")
    TRANSLATOR = "translator", _("翻译")
    REPAIR = "repair", _("维修")
    DRIVER = "driver", _("驾驶员")
    PSYCHOLOGIST = "psychologist", _("心理咨询")
    OTHER = "other", _("其他")


# Qualifications a person can claim but staff must see proof of (a licence, a driving licence).
NEEDS_PROOF: frozenset[str] = frozenset({Skill.DOCTOR, Skill.NURSE, Skill.PHARMACIST, Skill.PSYCHOLOGIST,
                                         Skill.DRIVER})
# What the detail field asks for, by skill.
DETAIL_LABELS = {
    Skill.DOCTOR: _("专科(如内科、全科、妇产科)"),
    Skill.NURSE: _("专科(如外科、儿科)"),
    Skill.TRANSLATOR: _("语言(如英语、日语、韩语)"),
    Skill.REPAIR: _("类别(如水电、门锁)"),
    Skill.DRIVER: _("准驾车型"),
    Skill.OTHER: _("说明"),
}


class TalentStatus(models.TextChoices):
    SELF = "self", _("无需证明")
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    REJECTED = "rejected", _("未通过")


# A talent the directory's "confirmed only" counts: confirmed by staff, or one that needs no proof.
USABLE: tuple[str, ...] = (TalentStatus.SELF, TalentStatus.CONFIRMED)


class VolunteerQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_volunteers"


class Volunteer(models.Model):
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("服务小区"))
    # A roster resident (matched by mobile or chosen by staff); none for an outsider.
    resident = models.ForeignKey("residents.Resident", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    name = models.CharField(_("姓名"), max_length=50)
    mobile = models.CharField(_("手机号"), max_length=20)
    # Weekdays the person is usually free, as digits 1 (Monday) to 7, and the hours.
    available_days = models.CharField(_("可服务日"), max_length=7, blank=True)
    available_from = models.TimeField(_("可服务开始"), null=True, blank=True)
    available_to = models.TimeField(_("可服务结束"), null=True, blank=True)
    # Staff who entered the sign-up for the person; none when they signed up on their phone.
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    # Hours of completed duties, kept with each check-out (the directory sorts and shows it).
    minutes_served = models.PositiveIntegerField(_("服务时长(分钟)"), default=0)
    # The talents as one searchable line, rewritten by the services with every talent change in
    # the same transaction (services.talents_index): " doctor/u/全科 translator/p/英语·日语 ", one
    # token per talent: skill, u (usable: confirmed or needing no proof) or p, the detail. The
    # directory filters this one column instead of joining the talent table (bench/volunteers.py).
    talents_index = models.CharField(max_length=400, blank=True, default="", editable=False)

    objects = VolunteerQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿者")
        verbose_name_plural = _("志愿者")
        constraints = [
            models.UniqueConstraint(fields=["committee", "mobile"], name="volunteer_once_per_committee"),
        ]
        indexes = [
            models.Index(fields=["mobile"], name="volunteer_mobile"),
            models.Index(fields=["committee", "compound"], name="volunteer_compound"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.compound.committee_id  # type: ignore[assignment]  # a compound has one
        super().save(*args, **kwargs)

    @property
    def days_label(self) -> str:
        """"周一、周三、周日" for "137"."""
        names = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
        return "、".join(str(names[int(d) - 1]) for d in self.available_days if d in "1234567")


class TalentQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_volunteers"


class Talent(models.Model):
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="talents")
    # Copied from the volunteer: the directory's search is one indexed scan per committee.
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    skill = models.CharField(_("技能"), max_length=16, choices=Skill.choices)
    detail = models.CharField(_("专长"), max_length=60, blank=True)
    status = models.CharField(_("资质"), max_length=12, choices=TalentStatus.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TalentQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿者技能")
        verbose_name_plural = _("志愿者技能")
        constraints = [
            models.UniqueConstraint(fields=["volunteer", "skill"], name="volunteer_talent_once"),
        ]
        indexes = [
            models.Index(fields=["committee", "skill", "status"], name="volunteer_talent_search"),
            models.Index(fields=["compound", "skill"], name="volunteer_talent_compound"),
        ]

    def __str__(self) -> str:
        return f"{self.get_skill_display()} {self.detail}".strip()

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.volunteer.committee_id
        self.compound_id = self.volunteer.compound_id
        super().save(*args, **kwargs)


class PostKind(models.TextChoices):
    GATE = "gate", _("门岗")
    SCREENING = "screening", _("核酸排队引导")
    DELIVERY = "delivery", _("物资配送")
    DISINFECTION = "disinfection", _("消杀")
    DOOR = "door", _("上门服务")
    PHONE = "phone", _("电话联系")
    OTHER = "other", _("其他")


class PostQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_volunteers"


class Post(models.Model):
    """A duty post of a compound (SOP 岗位): what it is, the skill it requires, whether each
    shift needs a health statement."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    kind = models.CharField(_("岗位类型"), max_length=16, choices=PostKind.choices)
    name = models.CharField(_("岗位名称"), max_length=40)
    duties = models.CharField(_("岗位职责"), max_length=200, blank=True)
    required_skill = models.CharField(_("要求技能"), max_length=16, choices=Skill.choices, blank=True)
    health_statement = models.BooleanField(_("每班需健康承诺"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿者岗位")
        verbose_name_plural = _("志愿者岗位")
        indexes = [models.Index(fields=["committee", "compound"], name="volunteer_post_compound")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.compound.committee_id  # type: ignore[assignment]  # a compound has one
        super().save(*args, **kwargs)


class ShiftQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_volunteers"


class Shift(models.Model):
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="shifts")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    # The Beijing day the shift starts on, and its aware start and end.
    day = models.DateField(_("日期"))
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    needed = models.PositiveSmallIntegerField(_("需要人数"))
    # Live duties (signed up, on duty, done): raised only by `filled < needed` in one UPDATE.
    filled = models.PositiveSmallIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = ShiftQuerySet.as_manager()

    class Meta:
        verbose_name = _("班次")
        verbose_name_plural = _("班次")
        constraints = [
            models.CheckConstraint(condition=Q(filled__lte=F("needed")), name="volunteer_shift_not_overfilled"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="volunteer_shift_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["committee", "day"], name="volunteer_shift_day"),
            models.Index(fields=["compound", "day"], name="volunteer_shift_compound_day"),
        ]

    def __str__(self) -> str:
        return f"{self.post} {self.day}"

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.post.committee_id
        self.compound_id = self.post.compound_id
        super().save(*args, **kwargs)

    @property
    def gap(self) -> int:
        return max(self.needed - self.filled, 0)


class DutyStatus(models.TextChoices):
    SIGNED = "signed", _("已报名")
    ON_DUTY = "on_duty", _("在岗")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


LIVE_DUTY: tuple[str, ...] = (DutyStatus.SIGNED, DutyStatus.ON_DUTY, DutyStatus.DONE)


class DutyQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_volunteers"


class Duty(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="duties")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="duties")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    status = models.CharField(_("状态"), max_length=12, choices=DutyStatus.choices, default=DutyStatus.SIGNED)
    # Copied from the shift, so a volunteer's overlapping duties are one indexed query.
    starts_at = models.DateTimeField(editable=False)
    ends_at = models.DateTimeField(editable=False)
    # Staff who put the volunteer on the shift; none when they signed up on their phone.
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The health statement ticked on the phone for this shift (when the post asks for one).
    health_declared_at = models.DateTimeField(_("健康承诺时间"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    minutes = models.PositiveIntegerField(_("服务时长(分钟)"), null=True, blank=True)

    objects = DutyQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿者排班")
        verbose_name_plural = _("志愿者排班")
        constraints = [
            models.UniqueConstraint(fields=["shift", "volunteer"], condition=~Q(status="cancelled"),
                                    name="volunteer_duty_once_per_shift"),
        ]
        indexes = [
            models.Index(fields=["volunteer", "starts_at"], name="volunteer_duty_when"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.shift}"

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.shift.committee_id
        self.starts_at = self.shift.starts_at
        self.ends_at = self.shift.ends_at
        super().save(*args, **kwargs)


class TaskSource(models.TextChoices):
    TICKET = "ticket", _("工单")
    ISOLATION = "isolation", _("居家隔离")


class TaskStatus(models.TextChoices):
    ASSIGNED = "assigned", _("已派")
    DONE = "done", _("已完成")
    WITHDRAWN = "withdrawn", _("已撤回")


class TaskQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_volunteers"


class VolunteerTask(models.Model):
    """A work order or an isolation case handed to a volunteer with the talent it needs. It keeps
    only what the volunteer sees (what, where, by when, whom to call), written by staff, never a
    copy of the record; `source` and `source_id` link back to it for staff."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="tasks")
    source = models.CharField(_("来源"), max_length=12, choices=TaskSource.choices)
    source_id = models.PositiveBigIntegerField()
    skill = models.CharField(_("所需技能"), max_length=16, choices=Skill.choices, blank=True)
    what = models.CharField(_("任务"), max_length=200)
    place = models.CharField(_("地点"), max_length=60)
    due_at = models.DateTimeField(_("完成时限"))
    contact = models.CharField(_("联系人及电话"), max_length=60)
    status = models.CharField(_("状态"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.ASSIGNED)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("志愿者任务")
        verbose_name_plural = _("志愿者任务")
        indexes = [
            models.Index(fields=["committee", "status"], name="volunteer_task_status"),
            models.Index(fields=["source", "source_id"], name="volunteer_task_source"),
        ]

    def __str__(self) -> str:
        return self.what


# Mutual aid between committees lives in its own module; imported here so Django finds its models.
from .models_aid import *  # noqa: E402,F401,F403
