"""Forms of the isolation pages: they parse input; the services decide."""

from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.core.idnumbers import IdType
from xiuhua.places.addresses import room_key
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.selectors import find_building, find_household

from .models import CaseStatus, ContactOutcome, KeyRegion, Transport, Whereabouts

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ArrivalForm(forms.Form):
    """An arrival at a household of the staff member's committee: compound, building and room
    must name a household of the roster."""

    compound = forms.ModelChoiceField(
        label=_("小区"), queryset=OrgUnit.objects.none(), empty_label=None,
        error_messages={"required": _("请选择小区"), "invalid_choice": _("请选择本居委会的小区")},
    )
    building = forms.CharField(
        label=_("楼号"), max_length=20, error_messages={"required": _("请填写楼号")},
        widget=forms.TextInput(attrs={"placeholder": _("如 5号")}),
    )
    room = forms.CharField(
        label=_("室号"), max_length=20, error_messages={"required": _("请填写室号")},
        widget=forms.TextInput(attrs={"placeholder": _("如 302"), "inputmode": "numeric"}),
    )
    name = forms.CharField(label=_("姓名"), max_length=50, error_messages={"required": _("请填写姓名")})
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID)
    id_number = forms.CharField(
        label=_("证件号码(可不填)"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("手机号"), max_length=20, required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    origin = forms.ModelChoiceField(
        label=_("来自重点地区"), queryset=KeyRegion.objects.none(), required=False,
        empty_label=_("不在名单中(请在下方填写)"),
    )
    origin_text = forms.CharField(
        label=_("来自(省市)"), max_length=60, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如 湖北省武汉市")}),
    )
    household_size = forms.IntegerField(
        # No value given beforehand: a phone keyboard types after it, and "1" became 11.
        label=_("同行/同住人数"), error_messages={"required": _("请填写人数"), "invalid": _("请填写人数")},
        widget=forms.NumberInput(attrs={"min": 1, "max": 20, "inputmode": "numeric", "placeholder": _("如 1")}),
    )
    transport = forms.ChoiceField(
        label=_("交通方式"), choices=[("", _("请选择")), *Transport.choices],
        error_messages={"required": _("请选择交通方式"), "invalid_choice": _("请选择交通方式")},
    )
    transport_number = forms.CharField(label=_("车次/航班/车牌"), max_length=20, required=False)
    arrival_date = forms.DateField(
        label=_("抵沪日期"), widget=_DATE, input_formats=["%Y-%m-%d"],
        error_messages={"required": _("请填写抵沪日期"), "invalid": _("请填写正确的日期")},
    )

    def __init__(self, *args, committee: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.committee = committee
        field = cast(forms.ModelChoiceField, self.fields["compound"])
        field.queryset = OrgUnit.objects.filter(kind=Kind.COMPOUND, committee=committee).order_by("name")
        self.fields["arrival_date"].initial = timezone.localdate
        cast(forms.ModelChoiceField, self.fields["origin"]).queryset = KeyRegion.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        compound = data.get("compound")
        building_text = data.get("building")
        room = data.get("room")
        if compound is None or not building_text or not room:
            return data
        building = find_building(compound, building_text)
        if building is None:
            self.add_error(
                "building",
                _("%(compound)s没有“%(building)s”这个楼号,请核对")
                % {"compound": compound.name, "building": building_text},
            )
            return data
        household = find_household(building, room)
        if household is None:
            self.add_error(
                "room",
                _("花名册中没有%(address)s这一户,请核对室号,或先在花名册中添加该户")
                % {"address": f"{compound.name}{building.name}{room_key(room)}室"},
            )
            return data
        data["household"] = household
        return data


class StepForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
    health_form = forms.BooleanField(label=_("健康登记表"), required=False)
    pledge_signed = forms.BooleanField(label=_("隔离承诺书已签"), required=False)
    kit_given = forms.BooleanField(label=_("防疫包已发放"), required=False)
    pledge_photo = forms.FileField(
        label=_("承诺书照片"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    # The person's signature drawn on the staff member's screen: the page's script puts the canvas
    # here as a PNG data URL on submit (services.clean_signature checks it). Without the script the
    # field stays empty and the photo is the way.
    pledge_signature = forms.CharField(label=_("本人签名"), required=False, widget=forms.HiddenInput)

    DOOR_VISIT_FIELDS = ("health_form", "pledge_signed", "kit_given", "pledge_photo", "pledge_signature")
    CHECKS = ("health_form", "pledge_signed", "kit_given")

    def __init__(self, *args, door_visit: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not door_visit:
            for name in self.DOOR_VISIT_FIELDS:
                del self.fields[name]

    def checks(self):
        """The door visit's three ticks, in order (the template lays the pledge out by itself)."""
        return [self[name] for name in self.CHECKS if name in self.fields]


class ExtendForm(forms.Form):
    days = forms.IntegerField(
        label=_("延长天数"), error_messages={"required": _("请填写延长天数"), "invalid": _("请填写延长天数")},
        widget=forms.NumberInput(attrs={"min": 1, "max": 28, "inputmode": "numeric"}),
    )
    note = forms.CharField(label=_("延长原因"), max_length=200, required=False)


CLOSE_CHOICES = [
    (CaseStatus.RELEASED.value, _("解除隔离")),
    (CaseStatus.TRANSFERRED.value, _("转出")),
    (CaseStatus.HOSPITAL.value, _("送医")),
]


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        label=_("结束方式"), choices=CLOSE_CHOICES, widget=forms.RadioSelect,
        error_messages={"required": _("请选择结束方式"), "invalid_choice": _("请选择结束方式")},
    )
    note = forms.CharField(
        label=_("说明"), max_length=200, required=False, help_text=_("转出或送医时写明转往何处"),
    )


class ArrivalRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("不予通过的原因"), max_length=200, error_messages={"required": _("请填写不予通过的原因")},
        widget=forms.TextInput(attrs={"placeholder": _("如:非本人登记、日期有误")}),
    )


class ContactForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("联系结果"),
        choices=[(o.value, o.label) for o in (ContactOutcome.WELL, ContactOutcome.UNWELL, ContactOutcome.NOT_REACHED)],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择联系结果"), "invalid_choice": _("请选择联系结果")},
    )
    temperature = forms.CharField(
        label=_("体温(℃)"), max_length=8, required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "36.5"}),
    )
    symptoms = forms.CharField(
        label=_("症状"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如 咳嗽、乏力;没有则不填")}),
    )


class RentalForm(forms.Form):
    tenants = forms.IntegerField(
        label=_("租住人数"), min_value=0, max_value=50,
        error_messages={"required": _("请填写租住人数"), "invalid": _("请填写租住人数")},
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    reached = forms.BooleanField(label=_("已联系上"), required=False)
    whereabouts = forms.ChoiceField(
        label=_("目前去向"), choices=Whereabouts.choices, widget=forms.RadioSelect,
        error_messages={"required": _("请选择目前去向"), "invalid_choice": _("请选择目前去向")},
    )
    away_place = forms.CharField(label=_("所在地(在外地时)"), max_length=60, required=False)
    return_date = forms.DateField(
        label=_("预计返沪日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("日期格式应为 2020-02-10")},
    )
    group_rental = forms.BooleanField(label=_("群租"), required=False)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class PurchaseForm(forms.Form):
    items = forms.CharField(
        label=_("代购物品"), max_length=200, error_messages={"required": _("请填写代购了什么")},
        widget=forms.TextInput(attrs={"placeholder": _("如 大米5斤、鸡蛋一盒、降压药")}),
    )
    amount = forms.CharField(
        label=_("金额(元)"), max_length=10, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    settled = forms.BooleanField(label=_("已结清"), required=False)
