"""Helpers shared by the roster tests: roster files built in memory, and snapshots of the data."""

import csv
import datetime as dt
import io
import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max
from openpyxl import Workbook, load_workbook

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.residents import roster
from xiuhua.residents.models import Household, Resident, ResidentTag, RosterImport, RosterProblem

HEADERS = [str(c.header) for c in roster.COLUMNS]
_numbers = itertools.count(1)


def new_id(*, sex: str = "M", birth: dt.date = dt.date(1985, 3, 4), region: str = "310115") -> str:
    """A valid resident ID that no resident of the test world has."""
    sequence = next(_numbers) * 2 % 1000 + (1 if sex == "M" else 0)
    return make_resident_id(region, birth, sequence)


def person(**values) -> dict:
    """One roster row (header -> value) for committee A1's compound 国和一村, building 5号."""
    row = {
        "小区": "国和一村", "楼栋": "5号", "室号": "501", "姓名": "陈新", "性别": "男", "出生日期": "1985-03-04",
        "证件类型": "居民身份证", "证件号码": new_id(), "手机号": "13912345678", "与户主关系": "户主",
        "居住状态": "在住",
    }
    row.update(values)
    return row


def row_for(resident: Resident, **values) -> dict:
    """The row that describes a resident exactly as stored (importing it changes nothing)."""
    household = resident.household
    plain_id = resident.plain_id  # type: ignore[attr-defined]  # set by xiuhua.testing.make_resident
    row = {
        "小区": household.compound.name, "楼栋": household.building.name, "室号": household.room,
        "姓名": resident.name, "性别": resident.get_sex_display(), "出生日期": resident.birth_date.isoformat(),
        "证件类型": resident.get_id_type_display(), "证件号码": plain_id, "手机号": resident.mobile,
        "与户主关系": resident.get_relation_display(), "居住状态": resident.get_living_status_display(),
        "标签": "、".join(t.get_tag_display() for t in resident.tags.order_by("tag")),
    }
    row.update(values)
    return row


def xlsx(rows: list[dict], *, headers: list[str] = HEADERS, title: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict], *, encoding: str = "utf-8", headers: list[str] = HEADERS,
              delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def upload(data: bytes, name: str = "花名册.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def import_file(actor, committee, data: bytes, name: str = "花名册.xlsx", **kwargs) -> RosterImport:
    return roster.roster_import_upload(actor=actor, committee=committee, uploaded_file=upload(data, name), **kwargs)


def problems_of(roster_import: RosterImport) -> list[tuple[int, str, str]]:
    return [(p.row, p.column_label, p.text) for p in roster_import.problems.all()]


def snapshot() -> dict:
    """What a failed or refused step must leave exactly as it was."""
    return {
        "residents": list(Resident.objects.order_by("pk").values_list(
            "pk", "household_id", "name", "mobile", "living_status", "updated_at")),
        "households": list(Household.objects.order_by("pk").values_list("pk", "room", "is_rental", "updated_at")),
        "tags": list(ResidentTag.objects.order_by("pk").values_list("pk", "resident_id", "tag")),
        "audit": AuditEvent.objects.count(),
        "imports": RosterImport.objects.count(),
        "problems": RosterProblem.objects.count(),
        "max_updated": Resident.objects.aggregate(m=Max("updated_at"))["m"],
    }


def sheet_rows(content: bytes) -> list[list]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
