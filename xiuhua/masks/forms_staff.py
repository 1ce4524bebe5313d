"""Forms of the staff pages of the mask module: they parse input; the services decide."""

import uuid
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.models import Membership
from xiuhua.core.idnumbers import IdType
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household

from .models import AllocationMode, Channel, MaskRound, Pharmacy
from .selectors import household_from_label, household_label

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
    # Typed, with suggestions as one types (masks/household_search.js fills the datalist from
    # the scoped search endpoint); the text is resolved exactly within the user's households.
    household = forms.CharField(
        label=_("住户(本居委会)"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={
            "list": "household-options", "autocomplete": "off", "data-household-search": "",
            "placeholder": _("输入楼号、室号或户主姓氏,从提示中选择"),
        }),
        help_text=_("花名册中没有此人时选择其住户(小区 楼号 室号);不选则填写地址,进入核实队列"),
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
        self.households = households if households is not None else Household.objects.none()
        initial = self.initial.get("household")
        if isinstance(initial, int):  # pre-filled from the roster: shown as its label
            found = self.households.filter(pk=initial).select_related("compound", "building").first()
            self.initial["household"] = household_label(found) if found else ""

    def clean_household(self):
        text = self.cleaned_data.get("household", "").strip()
        if not text:
            return None
        household = household_from_label(self.households, text)
        if household is None:
            raise forms.ValidationError(
                _("没有找到本居委会的这一住户,请从提示中选择(小区 楼号 室号),或留空并填写地址"))
        return household


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


# Designated pharmacies (set up by street and district officers)


class PharmacyForm(forms.Form):
    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=OrgUnit.objects.none(), error_messages={"invalid_choice": _("请选择您管辖的街道")}
    )
    name = forms.CharField(label=_("药店名称"), max_length=100, error_messages={"required": _("请填写药店名称")})
    address = forms.CharField(label=_("地址"), max_length=200, error_messages={"required": _("请填写药店地址")})
    opening_hours = forms.CharField(
        label=_("营业时间"), max_length=100, required=False, help_text=_("例如:每天 9:00-20:00")
    )

    def __init__(self, *args, streets=None, **kwargs):
        super().__init__(*args, **kwargs)
        if streets is None:  # editing: the street is fixed
            del self.fields["street"]
        else:
            field = cast(forms.ModelChoiceField, self.fields["street"])
            field.queryset = streets
            only = list(streets[:2])
            if len(only) == 1:
                self.initial.setdefault("street", only[0].pk)


class CommitteeChoiceField(forms.ModelMultipleChoiceField):
    """Each committee of the street, with the pharmacy that serves it now (or none)."""

    def __init__(self, *args, serving: dict[int, str] | None = None, **kwargs):
        self.serving = serving or {}
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        current = self.serving.get(obj.pk)
        if current is None:
            return _("%(committee)s(尚无指定药店)") % {"committee": obj.name}
        return _("%(committee)s(现由%(name)s服务)") % {"committee": obj.name, "name": current}


class PharmacyCommitteesForm(forms.Form):
    committees = CommitteeChoiceField(
        label=_("服务的居委会"),
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("请选择本街道的居委会")},
        help_text=_("勾选由本店服务的居委会;已由其他药店服务的居委会勾选后改由本店服务。"),
    )

    def __init__(self, *args, committees=None, serving=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(CommitteeChoiceField, self.fields["committees"])
        field.serving = serving or {}
        if committees is not None:
            field.queryset = committees


class ClerkChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        user = obj.user
        return f"{user.display_name or user.username}({user.username})"


class AttachClerkForm(forms.Form):
    membership = ClerkChoiceField(
        label=_("已有的店员账号"),
        queryset=Membership.objects.none(),
        empty_label=_("请选择"),
        error_messages={"required": _("请选择店员账号"), "invalid_choice": _("只能添加本街道的指定药店店员账号")},
    )

    def __init__(self, *args, memberships=None, **kwargs):
        super().__init__(*args, **kwargs)
        if memberships is not None:
            cast(forms.ModelChoiceField, self.fields["membership"]).queryset = memberships


class NewClerkForm(forms.Form):
    username = forms.CharField(
        label=_("登录用户名"),
        max_length=30,
        help_text=_("英文字母、数字或 _ . @ + -,3到30位"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
        error_messages={"required": _("请填写登录用户名")},
    )
    display_name = forms.CharField(label=_("店员姓名"), max_length=50, error_messages={"required": _("请填写店员姓名")})
    mobile = forms.CharField(
        label=_("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        error_messages={"required": _("请填写店员的手机号码")},
    )
