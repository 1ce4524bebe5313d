"""Exports: masked by default, audited; large ones made by the worker and downloaded once.

A large export's steps are declared actions of workflows.ROSTER_EXPORT, moved by
core.workflow.move with one audit event each; the export of the data itself is audited as such
(roster_export, or roster_export_full with the reason), whether made at once or by the worker.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership, require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import decrypt_text, mask_identity, mask_phone
from xiuhua.core.idnumbers import IdType, normalise
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit

from ..models import LivingStatus, Relation, Resident, RosterExport, Sex, Tag
from ..selectors import resident_search
from .columns import COLUMNS
from .worker import enqueue

logger = logging.getLogger(__name__)


def roster_export_queryset(user, *, q: str = "", tag: str = "", status: str = "",
                           committee: OrgUnit | None = None, compound: OrgUnit | None = None,
                           building: OrgUnit | None = None) -> QuerySet[Resident]:
    """The residents an export holds: the search filters, plus a committee, compound or building."""
    residents = resident_search(user, q=q, tag=tag, status=status)
    if committee is not None:
        residents = residents.filter(committee_id=committee.pk)
    if compound is not None:
        residents = residents.filter(household__compound_id=compound.pk)
    if building is not None:
        residents = residents.filter(household__building_id=building.pk)
    return residents.order_by(
        "household__compound_id", "household__building_id", "household__room", "pk"
    ).select_related("household__building", "household__compound", "household__grid", "household__micro_grid")


def _describe(filters: dict, units: dict[str, OrgUnit | None]) -> str:
    parts = [str(unit) for unit in (units.get("committee"), units.get("compound"), units.get("building")) if unit]
    q = normalise(filters.get("q") or "")
    if q:
        if re.fullmatch(r"(\+?86)?1\d{10}", q):
            q = mask_phone(q[-11:])
        elif re.fullmatch(r"[A-Z0-9]{8,18}", q) and not q.isalpha():
            q = mask_identity(q)
        parts.append(_("关键词:%(q)s") % {"q": q})
    if filters.get("tag"):
        parts.append(_("标签:%(tag)s") % {"tag": Tag(filters["tag"]).label})
    if filters.get("status"):
        parts.append(_("状态:%(status)s") % {"status": LivingStatus(filters["status"]).label})
    return " · ".join(parts) or _("全部居民")


def _export_committee_id(actor, units: dict[str, OrgUnit | None]) -> int | None:
    for key in ("building", "compound", "committee"):
        unit = units.get(key)
        if unit is not None:
            return unit.pk if unit.kind == Kind.COMMITTEE else unit.committee_id
    membership = active_membership(actor)
    if membership is not None and membership.org_unit.kind == Kind.COMMITTEE:
        return membership.org_unit_id
    return None


def _check_units(actor, filters: dict) -> dict[str, OrgUnit | None]:
    units: dict[str, OrgUnit | None] = {}
    visible = OrgUnit.objects.visible_to(actor)
    kinds = {"committee": Kind.COMMITTEE, "compound": Kind.COMPOUND, "building": Kind.BUILDING}
    for key, kind in kinds.items():
        value = filters.get(key)
        if value in (None, ""):
            units[key] = None
            continue
        pk = value.pk if isinstance(value, OrgUnit) else int(str(value))
        unit = visible.filter(pk=pk, kind=kind).first()
        if unit is None:
            raise PermissionDenied
        units[key] = unit
    return units


def _export_rows(residents: QuerySet[Resident], full_ids: bool) -> Iterator[list]:
    labels = {
        "sex": dict(Sex.choices), "id_type": dict(IdType.choices), "relation": dict(Relation.choices),
        "living_status": dict(LivingStatus.choices), "tags": dict(Tag.choices),
    }
    yes, no = _("是"), _("否")
    for resident in residents.prefetch_related("tags").iterator(chunk_size=2000):
        household = resident.household
        number = decrypt_text(resident.id_encrypted) if full_ids else resident.id_masked
        # Beside a masked number, the birth date only as far as it cannot help rebuild the number.
        birth = resident.birth_date if full_ids else resident.birth_shown
        yield [
            household.compound.name, household.building.name, household.room, resident.name,
            str(labels["sex"].get(resident.sex, resident.sex)), birth,
            str(labels["id_type"].get(resident.id_type, resident.id_type)), number, resident.mobile,
            str(labels["relation"].get(resident.relation, resident.relation)),
            str(labels["living_status"].get(resident.living_status, resident.living_status)),
            resident.away_until, "、".join(str(labels["tags"][t.tag]) for t in resident.tags.all()),
            resident.language, resident.specialty, resident.skills, yes if household.is_rental else no,
            household.landlord_name, household.landlord_phone,
            household.grid.name if household.grid else "", household.micro_grid.name if household.micro_grid else "",
            resident.vaccine_doses, resident.vaccinated_on or "",
        ]


def _write_export(residents: QuerySet[Resident], full_ids: bool, target) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("花名册"))
    for index, column in enumerate(COLUMNS):
        sheet.column_dimensions[get_column_letter(index + 1)].width = column.width
    sheet.append([str(c.header) for c in COLUMNS])
    count = 0
    for row in _export_rows(residents, full_ids):
        sheet.append([_as_text(sheet, value) for value in row])
        count += 1
    workbook.save(target)
    return count


def _as_text(sheet, value: Any) -> Any:
    """Text that starts with "=" stays text: openpyxl would write it as a formula."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


@dataclass
class ExportResult:
    """Either the file, at once, or a RosterExport that the worker is preparing."""

    content: bytes | None = None
    filename: str = ""
    rows: int = 0
    queued: RosterExport | None = None


def export_filename() -> str:
    return _("花名册_%(date)s.xlsx") % {"date": timezone.localtime().strftime("%Y%m%d_%H%M")}


def roster_export(*, actor, filters: dict, full_ids: bool = False, reason: str = "",
                  background: bool | None = None) -> ExportResult:
    """Export residents to xlsx, ID numbers masked unless full_ids (reveal_id and a reason)."""
    membership = require(actor, Cap.EXPORT_ROSTER)
    reason = (reason or "").strip()[:200]
    if full_ids:
        if not membership.has(Cap.REVEAL_ID):
            raise PermissionDenied
        if len(reason) < 2:
            raise ValidationError({"reason": _("导出完整证件号须填写事由")})
    units = _check_units(actor, filters)
    plain = {k: str(filters.get(k) or "") for k in ("q", "tag", "status")}
    if plain["tag"] and plain["tag"] not in Tag.values:
        raise ValidationError({"tag": _("未知的标签")})
    if plain["status"] and plain["status"] not in LivingStatus.values:
        raise ValidationError({"status": _("未知的居住状态")})
    residents = roster_export_queryset(actor, q=plain["q"], tag=plain["tag"], status=plain["status"], **units)
    description = _describe(plain, units)
    committee_id = _export_committee_id(actor, units)
    if background is None:
        background = residents.count() > settings.ROSTER_EXPORT_INLINE_MAX_ROWS
    if background:
        with transaction.atomic():
            export = RosterExport.objects.create(
                requested_by=actor, membership=membership, committee_id=committee_id,
                filters={**plain, **{k: (u.pk if u else None) for k, u in units.items()}},
                description=description[:200], full_ids=full_ids, reason=reason,
            )
            enqueue("roster_export_task", export.pk)
        return ExportResult(queued=export)
    buffer = io.BytesIO()
    count = _write_export(residents, full_ids, buffer)
    _audit_export(actor, full_ids=full_ids, reason=reason, count=count, description=description,
                  committee_id=committee_id, filters=plain, units=units)
    return ExportResult(content=buffer.getvalue(), filename=export_filename(), rows=count)


def _audit_export(actor, *, full_ids: bool, reason: str, count: int, description: str,
                  committee_id: int | None, filters: dict, units: dict, obj: Any = None) -> None:
    detail = {"rows": count, "tag": filters.get("tag", ""), "status": filters.get("status", ""),
              **{k: (u.pk if u else None) for k, u in units.items()}}
    audit(actor=actor, action="roster_export_full" if full_ids else "roster_export", obj=obj,
          committee_id=committee_id, subject_label=description, reason=reason, personal=True, detail=detail)


def exports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def roster_export_run(*, export: RosterExport) -> RosterExport:
    """Produce a queued export (in the worker), acting as the user and membership who asked."""
    try:
        running = move(export, "run", actor=None)
    except ValidationError:
        return RosterExport.objects.get(pk=export.pk)  # taken by another worker, or done
    actor = export.requested_by
    setattr(actor, "active_membership", export.membership)  # noqa: B010 - as the middleware does
    path = None
    try:
        require(actor, Cap.EXPORT_ROSTER)
        if export.full_ids:
            require(actor, Cap.REVEAL_ID)
        units = _check_units(actor, export.filters)
        plain = {k: str(export.filters.get(k) or "") for k in ("q", "tag", "status")}
        residents = roster_export_queryset(actor, q=plain["q"], tag=plain["tag"], status=plain["status"],
                                           **units)
        name = secrets.token_hex(16) + ".xlsx"
        path = exports_dir() / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            count = _write_export(residents, export.full_ids, handle)

        def ready(locked: RosterExport) -> dict:
            locked.row_count, locked.file_name, locked.finished_at = count, name, timezone.now()
            return {"rows": count}

        with transaction.atomic():
            _audit_export(actor, full_ids=export.full_ids, reason=export.reason, count=count,
                          description=export.description, committee_id=export.committee_id,
                          filters=plain, units=units, obj=export)
            return move(running, "finish", actor=None, change=ready)
    except Exception as exc:
        if path is not None and path.exists():
            path.unlink()
        logger.exception("roster export %s failed", export.pk)
        message = _("没有导出权限") if isinstance(exc, PermissionDenied) else _("导出失败,请重试")

    def failed(locked: RosterExport) -> None:
        locked.error, locked.finished_at = message, timezone.now()

    return move(running, "fail", actor=None, change=failed)


def roster_export_download(*, actor, export: RosterExport):
    """The prepared file, once: it is deleted from disk as it is handed over."""
    handle = None

    def hand_over(locked: RosterExport) -> None:
        nonlocal handle
        gone = ValidationError(_("该导出文件不存在或已下载过"))
        if not locked.file_name:
            raise gone
        path = exports_dir() / locked.file_name
        try:
            handle = open(path, "rb")  # noqa: SIM115 - handed to the response, which closes it
        except FileNotFoundError:
            raise gone from None
        path.unlink()
        locked.file_name = ""

    move(export, "download", actor=actor, change=hand_over)
    return handle
