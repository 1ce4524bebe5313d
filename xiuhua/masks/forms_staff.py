"""Forms of the staff pages of the mask module: they parse input; the services decide."""

import uuid
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.core.idnumbers import IdType
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household

from .models import AllocationMode, Channel, MaskRound, Pharmacy

_LOCAL_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class RoundForm(forms.Form):
    name = forms.CharField(label=_("轮次名称"), max_length=100)
    scope = forms.ModelChoiceField(label=_("范围"), queryset=OrgUnit.objects.none())
    masks_per_household = forms.IntegerField(label=_("每户口罩数"), min_value=1, max_value=100, initial=5)
    opens_at = forms.DateTimeField(label=_("登记开始"), widget=_LOCAL_DT, input_formats=_DT_FORMATS)
    closes_at = forms.DateTimeField(label=_("登记截止"), widget=_LOCAL_DT, input_formats=_DT_FORMATS)
    allocation_mode = forms.ChoiceField(label=_("分配方式"), choices=AllocationMode.choices)
    lottery_seed = forms.CharField(label=_("摇号种子"), max_length=64, required=False)
    special_share_percent = forms.IntegerField(
        label=_("特殊群体每日预留比例(%)"), min_value=0, max_value=100, initial=10
    )
    voucher_valid_days = forms.IntegerField(label=_("凭证有效天数"), min_value=1, max_value=60, initial=3)

    def __init__(self, *args, scope_root: OrgUnit | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if scope_root is None:  # editing: the scope is fixed
            del self.fields["scope"]
        else:
            cast(forms.ModelChoiceField, self.fields["scope"]).queryset = OrgUnit.objects.filter(
                path__startswith=scope_root.path, kind__in=[Kind.CITY, Kind.DISTRICT, Kind.STREET]
            ).order_by("path")


class ReserveForm(forms.Form):
    """Desk or phone entry by staff on a resident's behalf."""

    channel = forms.ChoiceField(
        label=_("登记方式"),
        choices=[(Channel.DESK, Channel.DESK.label), (Channel.PHONE, Channel.PHONE.label)],
        widget=forms.RadioSelect,
        initial=Channel.DESK,
    )
    name = forms.CharField(label=_("姓名"), max_length=50, error_messages={"required": _("请填写姓名")})
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID)
    id_number = forms.CharField(
        label=_("证件号码"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("手机号"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    household = forms.ModelChoiceField(
        label=_("住户(本居委会)"),
        queryset=Household.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("请选择本居委会的住户")},
        help_text=_("花名册中没有此人时选择其住户;不选则填写地址,进入核实队列"),
    )
    address_text = forms.CharField(label=_("地址(小区、楼号、室号)"), max_length=200, required=False)
    paper_serial = forms.CharField(
        label=_("纸质登记单编号(可选)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, households=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["household"])
        if households is not None:
            field.queryset = households


class VerifyForm(forms.Form):
    household = forms.ModelChoiceField(
        label=_("住户"),
        queryset=Household.objects.none(),
        error_messages={"invalid_choice": _("请选择本居委会的住户"), "required": _("请选择住户")},
    )

    def __init__(self, *args, households=None, **kwargs):
        super().__init__(*args, **kwargs)
        if households is not None:
            cast(forms.ModelChoiceField, self.fields["household"]).queryset = households


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("未通过原因"), max_length=200, required=False)


class DeliveryForm(forms.Form):
    round = forms.ModelChoiceField(label=_("轮次"), queryset=MaskRound.objects.none())
    pharmacy = forms.ModelChoiceField(label=_("药店"), queryset=Pharmacy.objects.none())
    quantity = forms.IntegerField(
        label=_("到货数量(只)"),
        min_value=1,
        max_value=10_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    delivered_at = forms.DateTimeField(label=_("到货时间"), widget=_LOCAL_DT, input_formats=_DT_FORMATS)
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, rounds=None, pharmacies=None, **kwargs):
        super().__init__(*args, **kwargs)
        if rounds is not None:
            cast(forms.ModelChoiceField, self.fields["round"]).queryset = rounds
        if pharmacies is not None:
            cast(forms.ModelChoiceField, self.fields["pharmacy"]).queryset = pharmacies
        if not self.is_bound:
            # A fresh key per rendered form: a double click or a resent form records once.
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class RedeemForm(forms.Form):
    number = forms.CharField(
        label=_("凭证号(扫码或输入)"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "inputmode": "text",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "big-input",
            }
        ),
    )
    # The whole number of the document shown, never its last four: a card reader or scanner that
    # types what it reads can fill it.
    id_number = forms.CharField(
        label=_("证件号码(读卡或输入完整号码)"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "inputmode": "text",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "big-input",
            }
        ),
    )
