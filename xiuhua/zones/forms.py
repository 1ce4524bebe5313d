"""Forms of the zone pages: a positive entered by the street, a zone drawn by hand, a rule version."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.places.models import Kind, OrgUnit

from .models import Level, SealUnit, ZoneRule

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _Building(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class PositiveForm(forms.Form):
    building = _Building(label=_("阳性所在楼栋"), queryset=OrgUnit.objects.none())
    day = forms.DateField(label=_("阳性日期(采样日)"), widget=_DATE)
    note = forms.CharField(label=_("说明(不写姓名)"), max_length=200, required=False,
                           help_text=_("例如:区疾控通报、外区协查;公示页不显示"))

    def __init__(self, *args, compound: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["building"])
        field.queryset = OrgUnit.objects.filter(parent=compound, kind=Kind.BUILDING).in_natural_order()


class DrawForm(forms.Form):
    level = forms.ChoiceField(label=_("调整为"), choices=Level.choices)
    reason = forms.CharField(label=_("原因"), max_length=200)


class RuleForm(forms.ModelForm):
    class Meta:
        model = ZoneRule
        fields = ["name", "effective_from", "explanation", "seal_unit", "compound_on_building_seal", "sealed_days",
                  "sealed_to", "sealed_test_day", "controlled_days", "controlled_test_day"]
        widgets = {"effective_from": _DATE, "explanation": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seal_unit"].choices = SealUnit.choices
        self.fields["compound_on_building_seal"].help_text = _("仅在按楼栋封控时适用")
        for name in ("sealed_test_day", "controlled_test_day"):
            self.fields[name].help_text = _("不要求全员核酸的留空")
