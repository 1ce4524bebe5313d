from django import forms
from django.utils.translation import gettext_lazy as _

from .models import StampKind

RECORDED_CHOICES = [(StampKind.VOLUNTEER.value, StampKind.VOLUNTEER.label),
                    (StampKind.CONVENIENCE.value, StampKind.CONVENIENCE.label)]


class StampForm(forms.Form):
    kind = forms.ChoiceField(label=_("印章"), choices=RECORDED_CHOICES, widget=forms.RadioSelect,
                             error_messages={"required": _("请选择志愿服务或便民服务"),
                                             "invalid_choice": _("请选择志愿服务或便民服务")})
    stamped_on = forms.DateField(label=_("服务日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                 error_messages={"required": _("请填写服务日期"),
                                                 "invalid": _("日期格式不正确,请写成 2022-04-20")})
    note = forms.CharField(label=_("说明"), max_length=100, required=False,
                           help_text=_("如:代购药品、参加核酸检测志愿服务"))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=100, error_messages={"required": _("请填写撤销原因")})
