"""Forms of the volunteers' pages (staff and phone)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PostKind, Skill
from .services import TalentInput

_BIG = {"class": "big"}
DAYS = [("1", _("一")), ("2", _("二")), ("3", _("三")), ("4", _("四")), ("5", _("五")), ("6", _("六")),
        ("7", _("日"))]
SKILL_CHOICES = [("", _("不限"))] + list(Skill.choices)


class TalentsForm(forms.Form):
    """Skills with their detail and the usual availability, shared by sign-up and edits."""

    skills = forms.MultipleChoiceField(label=_("技能和特长"), choices=Skill.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    doctor_detail = forms.CharField(label=_("医生专科"), max_length=60, required=False)
    nurse_detail = forms.CharField(label=_("护士专科"), max_length=60, required=False)
    translator_detail = forms.CharField(label=_("翻译语言"), max_length=60, required=False)
    repair_detail = forms.CharField(label=_("维修类别"), max_length=60, required=False)
    driver_detail = forms.CharField(label=_("准驾车型"), max_length=60, required=False)
    other_detail = forms.CharField(label=_("其他特长"), max_length=60, required=False)
    days = forms.MultipleChoiceField(label=_("一般哪几天有空(星期)"), choices=DAYS, required=False,
                                     widget=forms.CheckboxSelectMultiple)
    available_from = forms.TimeField(label=_("有空时间从"), required=False,
                                     widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    available_to = forms.TimeField(label=_("到"), required=False,
                                   widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def talents(self) -> list[TalentInput]:
        data = self.cleaned_data
        return [TalentInput(skill, data.get(f"{skill}_detail") or "") for skill in data.get("skills") or []]

    def days_value(self) -> str:
        return "".join(self.cleaned_data.get("days") or [])

    @staticmethod
    def initial_for(volunteer) -> dict:
        talents = list(volunteer.talents.all())
        initial = {"skills": [t.skill for t in talents], "days": list(volunteer.available_days),
                   "available_from": volunteer.available_from, "available_to": volunteer.available_to}
        for t in talents:
            initial[f"{t.skill}_detail"] = t.detail
        return initial


class StaffSignUpForm(TalentsForm):
    compound = forms.ChoiceField(label=_("服务小区"))
    mobile = forms.CharField(label=_("手机号码"), max_length=20)
    name = forms.CharField(label=_("姓名(花名册居民按手机号自动关联)"), max_length=50, required=False)
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)

    field_order = ["compound", "mobile", "name"]

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [(c.pk, c.name) for c in compounds]


class PhoneSignUpForm(TalentsForm):
    compound = forms.ChoiceField(label=_("为哪个小区服务"), widget=forms.RadioSelect)
    name = forms.CharField(label=_("姓名"), max_length=50, required=False,
                           help_text=_("花名册上的居民不用填,按手机号关联"))

    field_order = ["compound", "name"]

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [(c.pk, c.name) for c in compounds]


class SearchForm(forms.Form):
    skill = forms.ChoiceField(label=_("技能"), choices=SKILL_CHOICES, required=False)
    detail = forms.CharField(label=_("专科或语言"), max_length=30, required=False)
    compound = forms.TypedChoiceField(label=_("小区"), coerce=int, required=False, empty_value=None)
    confirmed = forms.BooleanField(label=_("只看已确认资质"), required=False)
    now = forms.BooleanField(label=_("现在有空"), required=False)

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [("", _("全部小区"))] + [(c.pk, c.name) for c in compounds]


class PostForm(forms.Form):
    compound = forms.ChoiceField(label=_("小区"))
    kind = forms.ChoiceField(label=_("岗位类型"), choices=PostKind.choices)
    name = forms.CharField(label=_("岗位名称(如 3号门、东门核酸点)"), max_length=40)
    duties = forms.CharField(label=_("岗位职责"), max_length=200, required=False)
    required_skill = forms.ChoiceField(label=_("要求技能"), choices=[("", _("无"))] + list(Skill.choices),
                                       required=False)
    health_statement = forms.BooleanField(label=_("每班签到前需填写健康承诺"), required=False)

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [(c.pk, c.name) for c in compounds]


class ShiftForm(forms.Form):
    day = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("开始"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(label=_("结束"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    needed = forms.IntegerField(label=_("需要人数"), min_value=1, max_value=200)


class ShiftEditForm(forms.Form):
    start = forms.TimeField(label=_("开始"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(label=_("结束"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    needed = forms.IntegerField(label=_("需要人数"), min_value=1, max_value=200)


class TaskForm(forms.Form):
    skill = forms.ChoiceField(label=_("所需技能"), choices=[("", _("不限"))] + list(Skill.choices), required=False)
    volunteer = forms.TypedChoiceField(label=_("志愿者"), coerce=int)
    what = forms.CharField(label=_("任务(志愿者只看到这里写的内容)"), max_length=200,
                           widget=forms.Textarea(attrs={"rows": 2}))
    place = forms.CharField(label=_("地点(楼栋、室)"), max_length=60)
    due_at = forms.DateTimeField(label=_("完成时限"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                             format="%Y-%m-%dT%H:%M"),
                                 input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    contact = forms.CharField(label=_("联系人及电话"), max_length=60)

    def __init__(self, *args, volunteers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volunteer"].choices = [("", "—")] + list(volunteers)
