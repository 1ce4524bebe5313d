"""The roster template: header, one example row, drop-downs and an instructions sheet."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from xiuhua.core.idnumbers import IdType
from xiuhua.places.models import Kind, OrgUnit

from ..models import LivingStatus, Relation, Sex, Tag
from .columns import CHOICES, COLUMNS, EXAMPLE_ID_NUMBER, EXAMPLE_NAME


def _choice_list(key: str) -> list[str]:
    if key in CHOICES:
        return [str(label) for _value, label in CHOICES[key].choices]
    if key == "is_rental":
        return [_("是"), _("否")]
    return []


_HEADER_FILL = PatternFill("solid", fgColor="FFE8E8")


def roster_template(*, committee: OrgUnit | None = None) -> bytes:
    """The roster template: header, one example row, drop-downs and an instructions sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("花名册")
    headers = [str(c.header) for c in COLUMNS]
    sheet.append(headers)
    compound, building = _("国和一村"), _("5号")
    if committee is not None:
        first = (OrgUnit.objects.filter(parent__parent=committee, kind=Kind.BUILDING)
                 .select_related("parent").order_by("path").first())
        if first is not None:
            compound, building = first.parent.name, first.name
    example = {
        "compound": compound, "building": building, "room": "302", "name": str(EXAMPLE_NAME),
        "sex": str(Sex.MALE.label), "birth_date": "1980-05-17", "id_type": str(IdType.RESIDENT_ID.label),
        "id_number": EXAMPLE_ID_NUMBER, "mobile": "13812345678",
        "relation": str(Relation.HEAD.label),
        "living_status": str(LivingStatus.HERE.label),
        "tags": f"{Tag.NO_SMARTPHONE.label}、{Tag.MEDICAL_PROFESSIONAL.label}",
        "specialty": _("内科"), "is_rental": _("否"),
    }
    sheet.append([example.get(c.key, "") for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="B3261E" if column.required else "000000")
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = column.width
        if column.text:
            # Text, so that Excel keeps ID numbers, phones and rooms as typed (no 3.1E+17).
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
        sheet.cell(row=2, column=index).font = Font(italic=True, color="808080")
    sheet.freeze_panes = "A2"
    for key in ("sex", "id_type", "relation", "living_status", "is_rental"):
        letter = sheet.cell(row=1, column=[c.key for c in COLUMNS].index(key) + 1).column_letter
        options = ",".join(_choice_list(key))
        validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True, showErrorMessage=False)
        validation.add(f"{letter}2:{letter}5000")
        sheet.add_data_validation(validation)

    notes = workbook.create_sheet(_("填写说明"))
    notes.append([_("列"), _("必填"), _("说明"), _("可填的值")])
    for column in COLUMNS:
        values = "、".join(_choice_list(column.key))
        notes.append([str(column.header), _("是") if column.required else "", str(column.help), values])
    notes.append([])
    for line in (
        _("每行一位居民;同一楼栋、同一室号的居民为一户。楼栋须已在“地点”中建立,室号不存在时自动建立。"),
        _("证件号码已在本居委会登记的居民会按表格更新(可换到本居委会的另一户);已在其他居委会登记的会被拒绝。"),
        _("导入只新增和更新,不会删除表格中没有的居民。"),
        _("上传后先显示校验结果,有问题的行须修改后重新上传;确认无误后点击“确认导入”才会写入。"),
        _("全角数字、字母和多余的空格会自动转换、去除。"),
        _("支持 .xlsx 和 CSV(UTF-8 或 GBK 编码)。"),
    ):
        notes.append([line])
    for letter, width in zip("ABCD", (14, 6, 48, 60), strict=True):
        notes.column_dimensions[letter].width = width
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
