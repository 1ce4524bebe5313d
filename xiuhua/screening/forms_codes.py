"""Forms of the sampling-code pages: the walk-in registration (the service checks the values)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class WalkInForm(forms.Form):
    """A person not on the roster: committee, name, mobile, and where they live if here."""

    committee = forms.TypedChoiceField(label=_("居委会"), coerce=int)
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    phone = forms.CharField(label=_("手机号码"), max_length=20, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    building = forms.TypedChoiceField(label=_("楼栋(住在本小区的填写)"), coerce=int, required=False,
                                      empty_value=None)
    room = forms.CharField(label=_("室号"), max_length=20, required=False)

    def __init__(self, *args, committees, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].choices = [(c.pk, c.name) for c in committees]
        if len(committees) == 1:
            self.fields["committee"].initial = committees[0].pk
        self.fields["building"].choices = [("", _("(不住在本小区)"))] + [
            (b.pk, f"{b.parent.name}{b.name}") for b in buildings]
