"""The reservation form of the resident pages (the phone and code forms are core.resident_phone's)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.core.idnumbers import IdType
from xiuhua.places.addresses import room_key
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.selectors import find_building, find_household

_BIG = {"class": "big"}


class ReservationForm(forms.Form):
    """Name, identity and address; the address must be one of the committee's compounds and a
    building of it. A room missing from the roster is accepted: it goes to verification."""

    name = forms.CharField(label=_("姓名"), max_length=50, widget=forms.TextInput(attrs=_BIG))
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID)
    id_number = forms.CharField(
        label=_("证件号码"), max_length=24, widget=forms.TextInput(attrs=_BIG | {"autocomplete": "off"})
    )
    compound = forms.ModelChoiceField(label=_("小区"), queryset=OrgUnit.objects.none(), empty_label=None)
    building = forms.CharField(label=_("楼号"), max_length=20, widget=forms.TextInput(attrs=_BIG))
    room = forms.CharField(label=_("室号"), max_length=20, widget=forms.TextInput(attrs=_BIG))

    def __init__(self, *args, committee: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.committee = committee
        field = self.fields["compound"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = OrgUnit.objects.filter(kind=Kind.COMPOUND, committee=committee).order_by("name")
        field.error_messages["invalid_choice"] = _("请选择本居委会的小区")

    def clean(self):
        data = super().clean()
        compound = data.get("compound")
        building_text = data.get("building")
        room = room_key(data.get("room") or "")
        if compound is None or not building_text:
            return data
        if not room:
            self.add_error("room", _("请填写室号"))
            return data
        building = find_building(compound, building_text)
        if building is None:
            self.add_error(
                "building",
                _("%(compound)s没有“%(building)s”这个楼号,请核对")
                % {"compound": compound.name, "building": building_text},
            )
            return data
        data["building_unit"] = building
        data["household"] = find_household(building, room)
        data["address_text"] = f"{compound.name}{building.name}{room}室"
        return data
