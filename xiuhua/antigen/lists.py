"""The not-yet-reported list as a working list (core.sheets): columns declared once for the page's
table header and the Excel download (plus the blank column door-knockers write in)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from xiuhua.core.crypto import mask_name, mask_phone
from xiuhua.core.sheets import Column, list_columns

NOT_REPORTED_COLUMNS = list_columns(
    Column(_("楼栋"), width=16), Column(_("室号"), width=8), Column(_("姓名"), width=10),
    Column(_("联系手机"), width=13), Column(_("上门情况"), width=18, css="print-only"),
)


def phone_shown(resident, *, full: bool) -> str:
    if not resident.mobile:
        return ""
    return resident.mobile if full else mask_phone(resident.mobile)


def building_label(building) -> str:
    return f"{building.parent.name if building.parent else ''}{building.name}"


def not_reported_rows(residents: Iterable, *, full_phone: bool) -> Iterator[list]:
    for resident in residents:
        household = resident.household
        yield [building_label(household.building), household.room, mask_name(resident.name),
               phone_shown(resident, full=full_phone), ""]
