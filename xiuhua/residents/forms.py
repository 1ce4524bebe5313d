from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.core.idnumbers import IdType
from xiuhua.places.models import Grid

from .models import LivingStatus, Relation, Sex, Tag


class SearchForm(forms.Form):
    q = forms.CharField(label=_("姓名/手机号/证件号或手机号后四位/地址"), required=False, max_length=50)
    tag = forms.ChoiceField(label=_("标签"), required=False, choices=[("", _("全部"))] + list(Tag.choices))
    status = forms.ChoiceField(
        label=_("居住状态"), required=False, choices=[("", _("全部"))] + list(LivingStatus.choices)
    )


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    sex = forms.ChoiceField(label=_("性别"), choices=Sex.choices)
    birth_date = forms.DateField(
        label=_("出生日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("居民身份证、港澳台居民居住证等号码中含出生日期的证件,可不填"),
    )
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices)
    id_number = forms.CharField(
        label=_("证件号码"), max_length=40, required=False,
        help_text=_("修改时留空表示不变"),
    )
    mobile = forms.CharField(label=_("手机号"), max_length=20, required=False)
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    living_status = forms.ChoiceField(label=_("居住状态"), choices=LivingStatus.choices)
    away_until = forms.DateField(
        label=_("预计返回日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    tags = forms.MultipleChoiceField(
        label=_("标签"), choices=Tag.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    language = forms.CharField(label=_("语言(外籍人士)"), max_length=30, required=False)
    specialty = forms.CharField(label=_("专业/科室(医务人员)"), max_length=50, required=False)
    skills = forms.CharField(label=_("其他技能"), max_length=100, required=False)
    vaccine_doses = forms.IntegerField(
        label=_("疫苗接种剂次"), min_value=0, max_value=5, required=False, initial=0,
        help_text=_("已接种的新冠疫苗剂次;家园护照的疫苗章由此而来"),
    )
    vaccinated_on = forms.DateField(
        label=_("末次接种日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["id_number"].required = True
            self.fields["id_number"].help_text = ""


class HouseholdForm(forms.Form):
    room = forms.CharField(label=_("室号"), max_length=20)
    is_rental = forms.BooleanField(label=_("出租房"), required=False)
    landlord_name = forms.CharField(label=_("房东姓名"), max_length=50, required=False)
    landlord_phone = forms.CharField(label=_("房东电话"), max_length=20, required=False)
    grid = forms.ModelChoiceField(label=_("网格"), queryset=Grid.objects.none(), required=False)
    micro_grid = forms.ModelChoiceField(label=_("微网格"), queryset=Grid.objects.none(), required=False)

    def __init__(self, *args, committee_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        grids = Grid.objects.filter(committee_id=committee_id)
        cast(forms.ModelChoiceField, self.fields["grid"]).queryset = grids.filter(kind=Grid.GridKind.GRID)
        cast(forms.ModelChoiceField, self.fields["micro_grid"]).queryset = grids.filter(kind=Grid.GridKind.MICRO)


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("查看事由"), max_length=200, min_length=2)
