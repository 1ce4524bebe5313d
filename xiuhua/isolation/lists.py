"""The contacts due (待联系) as a working list: its columns, declared once for the page's table
header and the Excel download (core.sheets), its one filter (a building) and the values each row
gives the download: what the page shows (the phone staff call), plus the blank column the
printed sheet leaves for the reading written in by hand."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.core.sheets import DATETIME, Column, list_columns
from xiuhua.places.models import Kind, OrgUnit

from .models import Contact

CONTACTS_DUE_COLUMNS = list_columns(
    Column(_("姓名"), width=10), Column(_("住址"), width=24), Column(_("应联系时间"), DATETIME, width=16),
    Column(_("手机号"), width=13), Column(_("体温/情况"), width=16, css="print-only"),
)


class ContactsDueFilter(forms.Form):
    """Which building's contacts: the buildings of the committee, in natural order. One of
    another committee is not offered, and sent anyway it is left out."""

    building = forms.ModelChoiceField(label=_("楼栋"), queryset=OrgUnit.objects.none(), required=False,
                                      empty_label=_("全部楼栋"))

    def __init__(self, *args, committee: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["building"]
        field.queryset = (  # type: ignore[attr-defined]
            OrgUnit.objects.filter(kind=Kind.BUILDING, committee=committee).select_related("parent").in_natural_order()
        )
        field.label_from_instance = lambda b: f"{b.parent.name}{b.name}"  # type: ignore[attr-defined]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


def contacts_due_rows(contacts: Iterable[Contact]) -> Iterator[list]:
    for c in contacts:
        yield [c.case.arrival.name, c.case.household.address, c.due_at, c.case.arrival.phone, ""]
