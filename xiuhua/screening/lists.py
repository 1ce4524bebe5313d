"""The "not yet sampled" list as a working list (core.sheets): columns declared once for the page's
table header and the Excel download, and the values each row gives the download (what the page
shows, plus the blank column door-knockers write in)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from xiuhua.core.crypto import mask_phone
from xiuhua.core.sheets import Column, list_columns

NOT_SAMPLED_COLUMNS = list_columns(
    Column(_("楼栋"), width=16), Column(_("室号"), width=8), Column(_("姓名"), width=10),
    Column(_("联系手机"), width=13), Column(_("采样码"), width=16), Column(_("上门情况"), width=18, css="print-only"),
)


def phone_shown(code, *, full: bool) -> str:
    """Staff who see the roster call the person; others see the number masked."""
    if not code.phone:
        return ""
    return code.phone if full else mask_phone(code.phone)


def not_sampled_rows(codes: Iterable, *, full_phone: bool) -> Iterator[list]:
    for code in codes:
        building = code.building
        label = f"{building.parent.name if building and building.parent else ''}{building.name if building else ''}"
        yield [label, code.room, code.name_masked, phone_shown(code, full=full_phone), code.reference, ""]


DOOR_TO_DOOR_COLUMNS = list_columns(
    Column(_("楼栋"), width=16), Column(_("室号"), width=8), Column(_("姓名"), width=10),
    Column(_("原因"), width=14), Column(_("联系手机"), width=13), Column(_("备注"), width=20),
    Column(_("上门采样情况"), width=18, css="print-only"),
)


def door_to_door_rows(exemptions: Iterable) -> Iterator[list]:
    """What the mobile team needs at each door: the address, the name as the roster shows it to
    staff, why the person cannot come, and a phone to call ahead."""
    for row in exemptions:
        resident = row.resident
        building = row.building
        label = f"{building.parent.name if building.parent else ''}{building.name}"
        yield [label, resident.household.room, resident.name, row.get_reason_display(), resident.mobile, row.note, ""]
