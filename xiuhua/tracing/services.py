"""Every write of the tracing module: import a list, match it to the roster, assign, report.

Import (batch_import): the file is read with the roster's hardened reader and its own columns;
each row is checked on its own. A row without a name, or with nothing to find the person by
(identity number, mobile, address), is reported and skipped; a wrong identity number or mobile is
reported and dropped while the row goes on with what is left, because the person must still be
found. The same file uploaded again to the same street is the same batch.

Matching (_match), set-based, in this order, each step only for entries still unmatched:
1. identity number: the roster's keyed hash, one query for the whole batch (confidence 100);
2. mobile: residents with that mobile; one household only (80), several households: no match,
   noted for triage;
3. address: the compound, building and room read from the free text (xiuhua.places.addresses),
   then the household (60; 75 when a resident of it has the listed name, who is then the match).
A matched entry is assigned to the household's committee; the rest wait in the importing street's
triage queue. The import is one audit event; every later move of an entry goes through its
declared workflow (workflows.TRACING_ENTRY), which writes its EntryEvent and its audit event.

The match looks at every street's roster, because a list names people wherever they live and
they must reach their committee the same day. So it is a governed lookup (design rule 8): one
`lookup_throttle` hit per list, one `routing_match` audit event with counts only, and the
importing street sees of an entry held elsewhere nothing but its own row, forwarded
(selectors.as_seen); an ambiguous mobile is noted only with the households of its own street.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_unit, covers, require
from xiuhua.core.audit import audit
from xiuhua.core.idnumbers import IdNumberError, check_id, guess_id_type, normalise
from xiuhua.core.lookups import LookupKey, lookup_throttle, routing_match_record
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.core.workflow import move
from xiuhua.places import addresses
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.identity import identity_fields, identity_hash
from xiuhua.residents.models import Household, LivingStatus, Resident
from xiuhua.residents.roster.columns import cell_text, squash
from xiuhua.residents.roster.files import HeaderSpec, RosterFileError, open_table

from .models import (
    BatchProblem,
    EntryEvent,
    EntryStatus,
    ListedPerson,
    ListEntry,
    ListSource,
    MatchMethod,
    TracingBatch,
)
from .workflows import REPORT_ACTIONS

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# Columns beyond the known ones (途经地, 备注 ...) are kept on the entry, within these limits.
MAX_EXTRA_COLUMNS = 20
EXTRA_LABEL_CHARS = 40
EXTRA_VALUE_CHARS = 200

CONFIDENCE_ID = 100
CONFIDENCE_PHONE = 80
CONFIDENCE_ADDRESS_AND_NAME = 75
CONFIDENCE_ADDRESS = 60

ROUTING_PURPOSE = "tracing_import"

# Column keys and the header texts lists use for them (telecom, port and pharmacy lists differ).
COLUMN_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员姓名", "Name"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "证件号", "公民身份号码", "ID number"),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "手机", "Mobile", "Phone"),
    "address": ("地址", "住址", "现住址", "居住地址", "在沪地址", "详细地址", "Address"),
    "arrival_date": ("抵沪日期", "到达日期", "来沪日期", "抵达日期", "入境日期", "Arrival date"),
}
COLUMN_LABELS = {
    "name": gettext_lazy("姓名"),
    "id_number": gettext_lazy("证件号码"),
    "phone": gettext_lazy("手机号"),
    "address": gettext_lazy("地址"),
    "arrival_date": gettext_lazy("抵沪日期"),
}


def _header_index() -> dict[str, str]:
    return {squash(text): key for key, texts in COLUMN_HEADERS.items() for text in texts}


LIST_HEADERS = HeaderSpec(
    index=_header_index,
    required=frozenset({"name"}),
    label=lambda key: str(COLUMN_LABELS[key]),
    order=tuple(COLUMN_HEADERS),
    not_found=lambda: _("没有找到表头:清单至少要有“姓名”列,以及证件号码、手机号或地址中的一列"),
)


# ---------------------------------------------------------------- reading rows


@dataclass
class ListRow:
    row: int
    name: str
    id_type: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    arrival_date: dt.date | None = None
    # The columns the list has beyond the ones above (途经地, 备注 ...), as [header, value] pairs in
    # the file's order: kept on the entry and shown to whoever works on it.
    extra: list[list[str]] = field(default_factory=list)


_DATE_FORMS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def _parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value).replace(" ", "")
    if not text:
        return None
    text = text.split("T")[0].split(" ")[0]
    for form in _DATE_FORMS:
        found = form.match(text)
        if found:
            try:
                return dt.date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                break
    raise ValueError(text)


# A list's own row counter: the entry keeps its row in the file, and pages number their rows.
ROW_COUNTER_HEADERS = frozenset({"序号", "序", "No", "No."})


def extra_columns(table) -> list[tuple[int, str]]:
    """(position, header) of the columns the list spec does not know, in the file's order; a
    column without a header text, or the list's own row counter (序号), is not kept."""
    known = set(table.columns.values())
    out = []
    for position, value in enumerate(table.header):
        label = cell_text(value).strip()[:EXTRA_LABEL_CHARS]
        if label and position not in known and squash(label) not in ROW_COUNTER_HEADERS:
            out.append((position, label))
    return out[:MAX_EXTRA_COLUMNS]


def read_rows(table) -> tuple[list[ListRow], list[tuple[int, str, str]]]:
    """The rows that can be used, and the problems as (row, column key, message)."""
    rows: list[ListRow] = []
    problems: list[tuple[int, str, str]] = []
    extras = extra_columns(table)

    def cell(values: list, key: str):
        position = table.columns.get(key)
        return values[position] if position is not None and position < len(values) else ""

    for number, values in table.rows:
        item = ListRow(row=number, name=cell_text(cell(values, "name")).strip()[:50])
        for position, label in extras:
            text = cell_text(values[position]).strip() if position < len(values) else ""
            if text:
                item.extra.append([label, text[:EXTRA_VALUE_CHARS]])
        # Normalised as the roster does (core.idnumbers.normalise: full-width, spaces, case)
        # before its type is guessed: "310110 19430211 1048" is a resident ID, not a passport.
        raw_id = normalise(cell_text(cell(values, "id_number")))
        if raw_id:
            id_type = guess_id_type(raw_id)
            try:
                item.id_number = check_id(id_type, raw_id).number
                item.id_type = id_type
            except IdNumberError as exc:
                problems.append((number, "id_number", _("证件号码有误(%(why)s),已按其他信息查找") % {"why": exc}))
        raw_phone = cell_text(cell(values, "phone")).strip()
        if raw_phone:
            try:
                item.phone = normalise_mobile(raw_phone)
            except PhoneError:
                problems.append((number, "phone", _("手机号格式不正确,已按其他信息查找")))
        item.address = cell_text(cell(values, "address")).strip()[:200]
        try:
            item.arrival_date = _parse_date(cell(values, "arrival_date"))
        except ValueError:
            problems.append((number, "arrival_date", _("日期无法识别,请写成 2020-02-10")))
        if not item.name:
            problems.append((number, "name", _("缺少姓名,该行未导入")))
            continue
        try:
            check_person_name(item.name)
        except ValidationError:
            problems.append((number, "name", _("姓名含有不可见或控制字符,该行未导入")))
            continue
        if not (item.id_number or item.phone or item.address):
            problems.append((number, "", _("没有可用的证件号码、手机号或地址,该行未导入")))
            continue
        rows.append(item)
    return rows, problems


# ---------------------------------------------------------------- import


def batch_import(
    *,
    actor,
    street: OrgUnit,
    source: str,
    reference: str,
    received_at: dt.datetime,
    data: bytes,
    filename: str,
    client_ip: str = "",
    now: dt.datetime | None = None,
) -> TracingBatch:
    """Take a list into a street: good rows become entries (matched and assigned at once), bad
    rows are reported by row. The same file again for the same street returns the same batch.
    Raises LookupThrottled when the actor has looked up too much (a list counts as one lookup)."""
    access_unit(actor, street, Cap.IMPORT_TRACING)
    if street.kind != Kind.STREET:
        raise PermissionDenied
    if source not in ListSource.values:
        raise ValidationError({"source": _("请选择清单来源")})
    reference = (reference or "").strip()[:100]
    if not reference:
        raise ValidationError({"reference": _("请填写批次名称")})
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": _("文件超过10MB,请拆分后上传")})
    now = now or timezone.now()
    if received_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": _("清单到达时间不能晚于现在")})
    file_hash = hashlib.sha256(data).hexdigest()
    existing = TracingBatch.objects.filter(street=street, file_hash=file_hash).first()
    if existing is not None:
        return existing
    try:
        table = open_table(data, filename, LIST_HEADERS)
    except RosterFileError as exc:
        raise ValidationError({"file": exc.messages}) from None
    if len(table.rows) > MAX_ROWS:
        raise ValidationError({"file": _("一个文件最多%(n)s行,请拆分后上传") % {"n": MAX_ROWS}})
    if not ({"id_number", "phone", "address"} & table.columns.keys()):
        raise ValidationError({"file": LIST_HEADERS.not_found()})
    rows, problems = read_rows(table)
    lookup_throttle(actor=actor, client_ip=client_ip, purpose=ROUTING_PURPOSE)
    for attempt in range(3):
        try:
            return _write_batch(
                actor=actor, street=street, source=source, reference=reference, received_at=received_at,
                filename=filename, file_hash=file_hash, rows_total=len(table.rows), rows=rows, problems=problems,
                now=now,
            )
        except IntegrityError:
            # Another import wrote the same file or the same person meanwhile: read again.
            existing = TracingBatch.objects.filter(street=street, file_hash=file_hash).first()
            if existing is not None:
                return existing
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _write_batch(
    *, actor, street, source, reference, received_at, filename, file_hash, rows_total, rows, problems, now
) -> TracingBatch:
    batch = TracingBatch.objects.create(
        street=street, source=source, reference=reference, received_at=received_at, filename=filename[:200],
        file_hash=file_hash, rows_total=rows_total, rows_bad=rows_total - len(rows), created_by=actor,
    )
    BatchProblem.objects.bulk_create(
        [BatchProblem(batch=batch, row=r, column=c, message=m[:200]) for r, c, m in problems]
    )
    hashes = [identity_hash(r.id_type, r.id_number) if r.id_number else "" for r in rows]
    matches, notes = _match(rows, hashes, street)
    entries = _create_entries(batch, rows, street, matches, notes, now)
    matched = _record_matches(entries, matches, actor=actor, now=now)
    routing_match_record(
        actor=actor, purpose=ROUTING_PURPOSE, matched=matched,
        keys={
            LookupKey.ID_NUMBER.value: sum(1 for r in rows if r.id_number),
            LookupKey.PHONE.value: sum(1 for r in rows if r.phone),
            LookupKey.ADDRESS.value: sum(1 for r in rows if r.address),
        },
        outside_scope=sum(1 for e in entries if e.street_id != street.pk),
    )
    audit(
        actor=actor,
        action="tracing_batch_import",
        obj=batch,
        subject_label=reference,
        personal=True,
        detail={"rows": rows_total, "entries": len(entries), "bad": batch.rows_bad, "matched": matched},
    )
    return batch


def _create_entries(
    batch: TracingBatch,
    rows: list[ListRow],
    street: OrgUnit,
    matches: list[_Match | None],
    notes: list[tuple[str, dict]],
    now: dt.datetime,
) -> list[ListEntry]:
    """The entries, written once with their match and assignment (no second pass to update)."""
    persons = _persons_for(rows)
    streets = dict(
        OrgUnit.objects.filter(pk__in={m.committee_id for m in matches if m}).values_list("pk", "parent_id")
    )
    entries = []
    for r, person, m, note in zip(rows, persons, matches, notes, strict=True):
        # Each entry is created in its first state: assigned when matched, else in triage.
        placed: dict = {"street_id": street.pk, "status": EntryStatus.TRIAGE, "match_note": note[0],
                        "match_params": note[1]}
        if m is not None:
            placed = {
                "household_id": m.household_id, "resident_id": m.resident_id, "committee_id": m.committee_id,
                "street_id": streets[m.committee_id], "match_method": m.method, "match_confidence": m.confidence,
                "match_note": m.note, "status": EntryStatus.ASSIGNED, "assigned_at": now,
            }
        entries.append(ListEntry(
            batch=batch, person=person, row=r.row, name=r.name, phone=r.phone, address_text=r.address,
            arrival_date=r.arrival_date, extra=r.extra, **placed,
        ))
    return ListEntry.objects.bulk_create(entries, batch_size=2000)


def _persons_for(rows: list[ListRow]) -> list[ListedPerson]:
    """One ListedPerson per row: the existing one with the same identity number (else the same
    mobile, for rows without a number), or a new one; new ones are written in one statement."""
    fields_by_row = [identity_fields(r.id_type, r.id_number) if r.id_number else None for r in rows]
    hashes = {f["id_hash"] for f in fields_by_row if f}
    phones = {r.phone for r, f in zip(rows, fields_by_row, strict=True) if f is None and r.phone}
    by_hash = {p.id_hash: p for p in ListedPerson.objects.filter(id_hash__in=hashes)} if hashes else {}
    by_phone = (
        {p.phone: p for p in ListedPerson.objects.filter(id_hash="", phone__in=phones)} if phones else {}
    )
    out: list[ListedPerson] = []
    new: list[ListedPerson] = []
    for r, fields in zip(rows, fields_by_row, strict=True):
        if fields is not None:
            person = by_hash.get(fields["id_hash"])
            if person is None:
                person = by_hash[fields["id_hash"]] = ListedPerson(name=r.name, phone=r.phone, **fields)
                new.append(person)
        elif r.phone:
            person = by_phone.get(r.phone)
            if person is None:
                person = by_phone[r.phone] = ListedPerson(name=r.name, phone=r.phone)
                new.append(person)
        else:
            person = ListedPerson(name=r.name)
            new.append(person)
        out.append(person)
    # A concurrent import of the same person waits on the unique index, then fails with an
    # IntegrityError and batch_import runs again, finding that person.
    ListedPerson.objects.bulk_create(new, batch_size=2000)
    return out


# ---------------------------------------------------------------- matching

_LIVING = (LivingStatus.HERE, LivingStatus.AWAY)


@dataclass
class _Match:
    household_id: int
    committee_id: int
    resident_id: int | None
    method: str
    confidence: int
    note: str = ""


def _match(
    rows: list[ListRow], id_hashes: list[str], street: OrgUnit
) -> tuple[list[_Match | None], list[tuple[str, dict]]]:
    """Each row's match (or None) and a note for the unmatched ones (id_hashes: each row's
    identity hash, or ""; street: the importing street, the only one a note may speak of)."""
    found: list[_Match | None] = [None] * len(rows)
    # Notes are kept in the source language with their values and shown in the viewer's.
    notes: list[tuple[str, dict]] = [("", {})] * len(rows)
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, id_hash in enumerate(id_hashes):
        if id_hash:
            by_hash[id_hash].append(i)
    if by_hash:
        for rid, hid, cid, h in Resident.objects.filter(id_hash__in=list(by_hash)).values_list(
            "pk", "household_id", "committee_id", "id_hash"
        ):
            for i in by_hash[h]:
                found[i] = _Match(hid, cid, rid, MatchMethod.ID, CONFIDENCE_ID)

    by_phone: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if found[i] is None and r.phone:
            by_phone[r.phone].append(i)
    if by_phone:
        households: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
        for rid, hid, cid, mobile in Resident.objects.filter(
            mobile__in=list(by_phone), living_status__in=_LIVING
        ).values_list("pk", "household_id", "committee_id", "mobile"):
            households[mobile][hid] = (cid, rid)
        own_committees: set[int] = set()
        if any(len(homes) > 1 for homes in households.values()):
            own_committees = set(
                OrgUnit.objects.filter(kind=Kind.COMMITTEE, parent=street).values_list("pk", flat=True)
            )
        for phone, listed in by_phone.items():
            homes = households.get(phone, {})
            if len(homes) == 1:
                (hid, (cid, rid)), = homes.items()
                for i in listed:
                    found[i] = _Match(hid, cid, rid, MatchMethod.PHONE, CONFIDENCE_PHONE)
            elif len(homes) > 1:
                # Only the street's own households are counted: a count that included other
                # streets' would tell the importer about people outside its scope.
                own = sum(1 for cid, _rid in homes.values() if cid in own_committees)
                if own > 1:
                    for i in listed:
                        notes[i] = (gettext_noop("手机号对应%(n)s户,需人工确认"), {"n": own})

    pending = [i for i, r in enumerate(rows) if found[i] is None and r.address]
    if pending:
        for i, match in zip(pending, _match_addresses([rows[i] for i in pending]), strict=True):
            if match is not None:
                found[i] = match
            elif not notes[i][0]:
                notes[i] = (gettext_noop("地址未能对应到花名册中的住户"), {})
    for i, m in enumerate(found):
        if m is None and not notes[i][0]:
            notes[i] = (gettext_noop("未匹配到花名册"), {})
    return found, notes


def _record_matches(entries: list[ListEntry], matches: list[_Match | None], *, actor, now: dt.datetime) -> int:
    events = [
        EntryEvent(
            entry=e, at=now, actor=actor, action="matched", to_unit_id=m.committee_id, status=EntryStatus.ASSIGNED,
            note=str(MatchMethod(m.method).label),
        )
        for e, m in zip(entries, matches, strict=True)
        if m is not None
    ]
    EntryEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)


def _gazetteer() -> addresses.CompoundGazetteer:
    compounds = OrgUnit.objects.filter(kind=Kind.COMPOUND).values_list(
        "pk", "name", "aliases", "committee__parent__parent__name", "committee__parent__name"
    )
    return addresses.CompoundGazetteer(list(compounds))


def _match_addresses(entries: list[ListRow]) -> list[_Match | None]:
    gazetteer = _gazetteer()
    parsed = [gazetteer.parse(e.address) for e in entries]
    compound_ids = {cid for p in parsed if p is not None for cid in p.compound_ids}
    if not compound_ids:
        return [None] * len(entries)
    buildings: dict[tuple[int, str], list[int]] = defaultdict(list)
    for bid, compound_id, name in OrgUnit.objects.filter(kind=Kind.BUILDING, parent_id__in=compound_ids).values_list(
        "pk", "parent_id", "name"
    ):
        buildings[(compound_id, addresses.building_key(name))].append(bid)
    wanted_buildings = set()
    for p in parsed:
        if p is not None:
            for cid in p.compound_ids:
                wanted_buildings.update(buildings.get((cid, p.building), []))
    homes: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for hid, bid, room, cid in Household.objects.filter(building_id__in=wanted_buildings).values_list(
        "pk", "building_id", "room", "committee_id"
    ):
        homes[(bid, addresses.room_key(room))].append((hid, cid))
    candidates: list[list[tuple[int, int]]] = []
    for p in parsed:
        if p is None:
            candidates.append([])
            continue
        found: list[tuple[int, int]] = []
        for cid in p.compound_ids:
            for bid in buildings.get((cid, p.building), []):
                found.extend(homes.get((bid, p.room), []))
        candidates.append(found)
    household_ids = {hid for found in candidates if len(found) == 1 for hid, _cid in found}
    members: dict[int, dict[str, int]] = defaultdict(dict)
    living = Resident.objects.filter(household_id__in=household_ids, living_status__in=_LIVING)
    for rid, hid, name in living.values_list("pk", "household_id", "name"):
        members[hid][name] = rid
    out: list[_Match | None] = []
    for e, found in zip(entries, candidates, strict=True):
        if len(found) != 1:
            out.append(None)
            continue
        hid, cid = found[0]
        rid = members[hid].get(e.name)
        if rid is not None:
            note = gettext_noop("地址与姓名相符")
            out.append(_Match(hid, cid, rid, MatchMethod.ADDRESS, CONFIDENCE_ADDRESS_AND_NAME, note))
        else:
            note = gettext_noop("地址相符,姓名不在该户")
            out.append(_Match(hid, cid, None, MatchMethod.ADDRESS, CONFIDENCE_ADDRESS, note))
    return out


# ---------------------------------------------------------------- assignment and outcomes


def _held_entry(actor, entry: ListEntry) -> ListEntry:
    """The entry, locked, if the actor's unit holds it (ListEntry.DoesNotExist otherwise: the
    importing street of a list does not act on entries forwarded to another street). Read under
    the lock before the move, because a resubmitted report, or a transfer to the queue the entry
    already waits in, is no move at all."""
    return ListEntry.objects.held_by(actor).select_for_update(of=("self",)).get(pk=entry.pk)


def _assign_change(membership, action: str, to: OrgUnit, now: dt.datetime):
    """The `change` of an assign or transfer move (checked under the entry's lock)."""

    def change(locked: ListEntry) -> dict:
        locked.handed_over_from = locked.committee or locked.street
        if action == "assign":
            if to.kind != Kind.COMMITTEE:
                raise ValidationError({"to": _("请选择居委会或街道")})
            if to.parent is None or not covers(membership, to):
                raise ValidationError({"to": _("只能分派给本街道的居委会")})
            locked.committee, locked.street, locked.assigned_at = to, to.parent, now
            if locked.match_method == MatchMethod.NONE:
                locked.match_method = MatchMethod.MANUAL
        else:
            locked.committee, locked.street, locked.assigned_at = None, to, None
        locked.outcome_at, locked.outcome_by, locked.outcome_note = None, None, ""
        return {"to_unit": to.pk}

    return change


def _hand_on(actor, membership, entry: ListEntry, to: OrgUnit, note: str, now: dt.datetime) -> tuple[ListEntry, bool]:
    """Move one entry (locked, held) on to `to`; (the entry, whether it moved)."""
    action = "transfer" if to.kind == Kind.STREET else "assign"
    current = _held_entry(actor, entry)
    if action == "transfer" and to.pk == current.street_id and current.committee_id is None:
        return current, False  # already waiting in that street's queue
    return move(current, action, actor=actor, change=_assign_change(membership, action, to, now), note=note,
                now=now), True


def entry_assign(*, actor, entry: ListEntry, to: OrgUnit, note: str = "", now: dt.datetime | None = None) -> ListEntry:
    """A street officer sends an entry to a committee of their street (assign), or to another
    street's triage queue (transfer). Any open entry, or one reported "not at this address", can
    be sent on; the history stays with it."""
    membership = require(actor, Cap.IMPORT_TRACING)
    now = now or timezone.now()
    note = (note or "").strip()[:200]
    with transaction.atomic():
        return _hand_on(actor, membership, entry, to, note, now)[0]


MAX_BULK_ASSIGN = 500


def entries_assign(
    *, actor, entry_ids: list[int], to: OrgUnit, note: str = "", now: dt.datetime | None = None
) -> int:
    """Several entries sent on to one committee (or street queue) at once: one act of the officer.
    Each entry still moves through its workflow (its own guard, history row and audit event), all
    in one transaction: when one of them cannot be sent on (reported or taken meanwhile, or not
    the street's), nothing moves and the message names it. Returns how many moved.

    core.workflow.move_many is not used: the action's guard (the unit must hold the entry) is
    asked row by row, and each entry keeps its own history across transfers."""
    membership = require(actor, Cap.IMPORT_TRACING)
    now = now or timezone.now()
    note = (note or "").strip()[:200]
    ids = sorted({int(pk) for pk in entry_ids})
    if not ids:
        raise ValidationError({"entries": _("请先勾选要分派的人员")})
    if len(ids) > MAX_BULK_ASSIGN:
        raise ValidationError({"entries": _("一次最多分派%(n)s人") % {"n": MAX_BULK_ASSIGN}})
    moved = 0
    with transaction.atomic():
        entries = list(ListEntry.objects.held_by(actor).filter(pk__in=ids).order_by("pk"))
        if len(entries) != len(ids):
            raise ValidationError({"entries": _("所选人员中有的已不由本街道负责,请刷新页面后重新勾选")})
        for entry in entries:
            try:
                moved += _hand_on(actor, membership, entry, to, note, now)[1]
            except ListEntry.DoesNotExist:
                raise ValidationError(
                    {"entries": _("所选人员中有的已不由本街道负责,请刷新页面后重新勾选")}
                ) from None
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "to" in exc.error_dict:
                    raise
                raise ValidationError({"entries": _("%(name)s(第%(row)s行):%(why)s") % {
                    "name": entry.name, "row": entry.row, "why": " ".join(exc.messages)}}) from None
    return moved


NOTE_REQUIRED = {
    EntryStatus.NOT_HERE: gettext_lazy("请写明此人现在何处(或已离沪)"),
    EntryStatus.WRONG_INFO: gettext_lazy("请写明哪项信息有误"),
}


def entry_report(
    *, actor, entry: ListEntry, status: str, note: str = "", now: dt.datetime | None = None
) -> ListEntry:
    """The committee reports what it found (one action per outcome, workflows.REPORT_ACTIONS).
    Reporting the same outcome again changes nothing."""
    require(actor, Cap.REPORT_TRACING)
    now = now or timezone.now()
    action = REPORT_ACTIONS.get(status)
    if action is None:
        raise ValidationError({"status": _("请选择落实结果")})
    note = (note or "").strip()[:200]
    if status in NOTE_REQUIRED and not note:
        raise ValidationError({"note": str(NOTE_REQUIRED[EntryStatus(status)])})

    def change(locked: ListEntry) -> None:
        locked.outcome_at, locked.outcome_by, locked.outcome_note = now, actor, note

    with transaction.atomic():
        current = _held_entry(actor, entry)
        if current.status == status and current.outcome_note == note:
            return current  # a resubmitted form
        return move(current, action, actor=actor, change=change, note=note, now=now)


__all__ = ["LIST_HEADERS", "batch_import", "entries_assign", "entry_assign", "entry_report", "read_rows"]
