"""The form a person arriving from a key region fills in on their phone (来沪人员自主登记)."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.core.idnumbers import IdType
from xiuhua.places.addresses import room_key
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.selectors import find_building, find_household

from .models import Transport

_BIG = {"class": "big"}


class SelfArrivalForm(forms.Form):
    """Name, identity document (any type the roster takes: resident ID, passport, the Hong Kong,
    Macau and Taiwan permits ...), address and journey. The number is checked by the roster's own
    check (core.idnumbers.check_id, in services.arrival_register). The address must be a household of the committee's
    roster; no household is created from here (the committee adds missing ones)."""

    name = forms.CharField(
        label=_("姓名"), max_length=50, error_messages={"required": _("请填写姓名")},
        widget=forms.TextInput(attrs=_BIG | {"autocomplete": "name"}),
    )
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=IdType.choices, required=False, initial=IdType.RESIDENT_ID,
        error_messages={"invalid_choice": _("请选择证件类型")},
        widget=forms.Select(attrs=_BIG),
    )
    id_number = forms.CharField(
        label=_("证件号码"), max_length=24, error_messages={"required": _("请填写证件号码")},
        widget=forms.TextInput(attrs=_BIG | {"autocomplete": "off", "autocapitalize": "characters"}),
    )
    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=OrgUnit.objects.none(), empty_label=None,
        error_messages={"required": _("请选择小区"), "invalid_choice": _("请选择本居委会的小区")},
    )
    building = forms.CharField(
        label=_("楼号"), max_length=20, error_messages={"required": _("请填写楼号")},
        widget=forms.TextInput(attrs=_BIG | {"placeholder": _("如 5号")}),
    )
    room = forms.CharField(
        label=_("室号"), max_length=20, error_messages={"required": _("请填写室号")},
        widget=forms.TextInput(attrs=_BIG | {"placeholder": _("如 302"), "inputmode": "numeric"}),
    )
    origin_text = forms.CharField(
        label=_("从哪里来(省、市)"), max_length=60, error_messages={"required": _("请填写从哪里来")},
        widget=forms.TextInput(attrs=_BIG | {"placeholder": _("如 湖北省武汉市")}),
    )
    transport = forms.ChoiceField(
        label=_("交通方式"), choices=[("", _("请选择")), *Transport.choices],
        error_messages={"required": _("请选择交通方式"), "invalid_choice": _("请选择交通方式")},
    )
    transport_number = forms.CharField(
        label=_("车次/航班/车牌(可不填)"), max_length=20, required=False,
        widget=forms.TextInput(attrs=_BIG | {"placeholder": _("如 G1722"), "autocapitalize": "characters"}),
    )
    arrival_date = forms.DateField(
        label=_("抵沪日期"), input_formats=["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"],
        error_messages={"required": _("请填写抵沪日期"), "invalid": _("请按“2020-02-03”的样子填写日期")},
        widget=forms.DateInput(attrs=_BIG | {"type": "date"}, format="%Y-%m-%d"),
    )
    household_size = forms.IntegerField(
        # No value given beforehand: a phone keyboard types after it, and "1" became 11.
        label=_("同行/同住人数(含本人)"), min_value=1, max_value=20,
        error_messages={
            "required": _("请填写人数"), "invalid": _("请填写人数"),
            "min_value": _("同住人数应在1到20之间"), "max_value": _("同住人数应在1到20之间"),
        },
        widget=forms.NumberInput(attrs=_BIG | {"min": 1, "max": 20, "inputmode": "numeric", "placeholder": _("如 1")}),
    )

    def __init__(self, *args, committee: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.committee = committee
        field = cast(forms.ModelChoiceField, self.fields["compound"])
        field.queryset = OrgUnit.objects.filter(kind=Kind.COMPOUND, committee=committee).order_by("name")

    def clean_id_type(self) -> str:
        # A page loaded before the field existed sends none: it asked for the resident ID.
        return self.cleaned_data.get("id_type") or IdType.RESIDENT_ID

    def clean(self):
        data = super().clean()
        compound = data.get("compound")
        building_text = data.get("building")
        room = data.get("room")
        if compound is None or not building_text or not room:
            return data
        building = find_building(compound, building_text)
        household = find_household(building, room) if building is not None else None
        if household is None:
            address = f"{compound.name}{building.name if building else building_text}{room_key(room)}室"
            self.add_error(
                None,
                _("居民名单中没有“%(address)s”这一户。请核对楼号和室号;如确实住在这里,请联系%(committee)s登记。")
                % {"address": address, "committee": self.committee.name},
            )
            return data
        data["household"] = household
        return data
