"""Forms of the round and plan pages: they parse input; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.places.models import Kind, OrgUnit

from .models import PoolRule
from .models_plan import ExemptionReason

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class _CompoundChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.parent.name} · {obj.name}"


class _CompoundChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.parent.name} · {obj.name}"


class RoundEditForm(forms.Form):
    name = forms.CharField(label=_("轮次名称"), max_length=100)
    first_day = forms.DateField(label=_("采样首日"), widget=_DATE)
    last_day = forms.DateField(label=_("采样末日"), widget=_DATE)
    day_starts = forms.TimeField(label=_("每日开始时间"), widget=_TIME, initial=dt.time(7, 0))
    day_ends = forms.TimeField(label=_("每日结束时间"), widget=_TIME, initial=dt.time(19, 0))


class RoundForm(RoundEditForm):
    compounds = _CompoundChoices(
        label=_("小区"), queryset=OrgUnit.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("不选即为范围内全部小区"),
    )

    def __init__(self, *args, scope: OrgUnit, **kwargs):
        kwargs.setdefault("initial", {"first_day": timezone.localdate(), "last_day": timezone.localdate()})
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["compounds"])
        field.queryset = (OrgUnit.objects.filter(kind=Kind.COMPOUND, path__startswith=scope.path)
                          .select_related("parent").in_natural_order())

    def clean_compounds(self):
        chosen = list(self.cleaned_data.get("compounds") or [])
        return chosen or None  # none chosen: the whole scope


class CompoundAddForm(forms.Form):
    compound = _CompoundChoice(label=_("小区"), queryset=OrgUnit.objects.none())
    pool_rule = forms.ChoiceField(label=_("混采规则"), choices=PoolRule.choices, initial=PoolRule.TEN)

    def __init__(self, *args, screening_round, **kwargs):
        super().__init__(*args, **kwargs)
        taken = screening_round.compounds.values("compound_id")
        field = cast(forms.ModelChoiceField, self.fields["compound"])
        field.queryset = (OrgUnit.objects.filter(kind=Kind.COMPOUND, path__startswith=screening_round.scope.path)
                          .exclude(pk__in=taken).select_related("parent").in_natural_order())


class PoolRuleForm(forms.Form):
    pool_rule = forms.ChoiceField(label=_("混采规则"), choices=PoolRule.choices)


class SiteForm(forms.Form):
    committee = forms.ModelChoiceField(label=_("所在居委会"), queryset=OrgUnit.objects.none())
    name = forms.CharField(label=_("采样点名称"), max_length=100)
    address = forms.CharField(label=_("位置"), max_length=200, required=False)
    line_count = forms.IntegerField(label=_("采样台数"), min_value=0, max_value=30, initial=4)
    rate_per_hour = forms.IntegerField(label=_("每个采样台每小时采样人数"), min_value=1, max_value=2000, required=False,
                                       help_text=_("不填即为本轮规则的人数"))

    def __init__(self, *args, screening_round, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["committee"]).queryset = OrgUnit.objects.filter(
            kind=Kind.COMMITTEE, path__startswith=screening_round.scope.path).in_natural_order()


class SiteEditForm(forms.Form):
    name = forms.CharField(label=_("采样点名称"), max_length=100)
    address = forms.CharField(label=_("位置"), max_length=200, required=False)
    active = forms.BooleanField(label=_("启用"), required=False)


class LineForm(forms.Form):
    rate_per_hour = forms.IntegerField(label=_("每小时采样人数"), min_value=1, max_value=2000)
    active = forms.BooleanField(label=_("启用"), required=False)


class LineAddForm(forms.Form):
    rate_per_hour = forms.IntegerField(label=_("每小时采样人数"), min_value=1, max_value=2000, required=False)


class ExemptionForm(forms.Form):
    resident = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("原因"), choices=ExemptionReason.choices)
    door_to_door = forms.BooleanField(label=_("上门采样"), required=False, initial=True)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class PlanForm(forms.Form):
    phase_order = forms.CharField(
        label=_("分组呼叫顺序"), max_length=60, required=False,
        help_text=_("例如 4-2-3-1:每个小区的楼栋按楼号分成 4 组,先叫第 4 组,再叫第 2、3、1 组;不填即按楼号顺序"),
    )
