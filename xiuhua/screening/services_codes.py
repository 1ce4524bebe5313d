"""Sampling codes (采样码): made in bulk from the roster, registered for people not on it, looked
up at the station, printed for those without phones.

A code's reference is random (core.codes.random_code: 12 Crockford base-32 characters, 60 bits,
and a Luhn mod 32 check character), so it carries nothing personal and cannot be guessed from
another; the station shows the masked name, building and room to confirm the person. References
are unique across rounds, so a code scanned at the wrong round is recognised and refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, access_unit, has_cap, require
from xiuhua.core.audit import audit
from xiuhua.core.codes import ALPHABET, is_valid, normalise, random_code
from xiuhua.core.crypto import mask_name
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household, LivingStatus, Relation, Resident

from .models import RoundCompound, RoundStatus, SamplingCode, ScreeningRound

REFERENCE_CHUNKS = 4  # 4 x 3 characters + the check character
REFERENCE_LENGTH = 3 * REFERENCE_CHUNKS + 1
# Residents who get a code: those the roster counts as living there, as the mask module does
# (away residents come back within the round often enough to be called).
LIVING = (LivingStatus.HERE, LivingStatus.AWAY)
# Codes are printed before the first day and made at the desk while sampling goes on.
ISSUING = (RoundStatus.DRAFT, RoundStatus.OPEN)
BATCH = 2000

__all__ = [
    "CodeCard", "code_lookup", "codes_generate", "label_codes", "labels_export", "new_reference",
    "normalise_reference", "walk_in_register",
]


def new_reference() -> str:
    return random_code(REFERENCE_CHUNKS)


def _taken(references: list[str]) -> set[str]:
    """The references among these that are stored already."""
    if connection.vendor == "postgresql":
        # One array parameter: a 40,000-item IN list cost more to build and send than to look up.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT reference FROM {SamplingCode._meta.db_table} WHERE reference = ANY(%s)",
                           [references])
            return {row[0] for row in cursor.fetchall()}
    taken: set[str] = set()
    for start in range(0, len(references), BATCH):
        taken.update(SamplingCode.objects.filter(reference__in=references[start:start + BATCH])
                     .values_list("reference", flat=True))
    return taken


def _fresh_references(count: int) -> list[str]:
    """`count` new references, distinct among themselves and from every stored one (60 bits make a
    collision rare; it is simply drawn again)."""
    chosen: set[str] = set()
    while len(chosen) < count:
        batch = {new_reference() for _ in range(count - len(chosen))} - chosen
        chosen |= batch - _taken(list(batch))
    return list(chosen)


# The columns a generated code fills, in the order _insert_codes takes its rows.
CODE_COLUMNS = ("round_id", "reference", "committee_id", "building_id", "household_id", "resident_id",
                "name_masked", "room", "phone", "walk_in", "walk_in_name", "created_by_id", "created_at")


def _insert_codes(rows: list[tuple]) -> None:
    """Insert code rows (CODE_COLUMNS): COPY on PostgreSQL (a whole compound's codes at once, a
    third of bulk_create's time), bulk_create elsewhere. A reference a parallel run stored since
    we checked surfaces as IntegrityError either way."""
    if connection.vendor != "postgresql":
        SamplingCode.objects.bulk_create([SamplingCode(**dict(zip(CODE_COLUMNS, row, strict=True))) for row in rows],
                                         batch_size=BATCH)
        return
    import psycopg

    statement = f"COPY {SamplingCode._meta.db_table} ({', '.join(CODE_COLUMNS)}) FROM STDIN"
    try:
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.errors.UniqueViolation as exc:
        raise IntegrityError(str(exc)) from exc


def _issuing_round(actor, screening_round: ScreeningRound) -> ScreeningRound:
    """The round locked for this transaction (generation runs queue up behind each other), as the
    actor sees it; refused once sampling has ended."""
    locked = access_by_id(ScreeningRound.objects, actor, pk=screening_round.pk, lock=True)
    if locked.status not in ISSUING:
        raise ValidationError(_("本轮筛查已结束采样,不能再发放采样码"))
    return locked


def _household_phones(compound_ids: list[int]) -> dict[int, str]:
    """Per household, the mobile a relative without a phone gets: the head's first, then the
    longest-registered member's, of those living there."""
    rows = (
        Resident.objects.filter(household__compound_id__in=compound_ids, living_status__in=LIVING)
        .exclude(mobile="").values_list("household_id", "relation", "pk", "mobile")
    )
    best: dict[int, tuple[int, int, str]] = {}
    for household_id, relation, pk, mobile in rows:
        rank = (0 if relation == Relation.HEAD else 1, pk)
        current = best.get(household_id)
        if current is None or rank < current[:2]:
            best[household_id] = (*rank, mobile)
    return {household_id: value[2] for household_id, value in best.items()}


def codes_generate(*, actor, round: ScreeningRound, committee: OrgUnit | None = None,  # noqa: A002
                   compound: OrgUnit | None = None) -> int:
    """One code per roster resident living in the committee's (or the compound's) part of the
    round who has none yet; returns how many were made (0 on a rerun with nothing missing). One
    audit event with the count. Refused for a unit the actor does not cover or the round does not
    screen."""
    if (committee is None) == (compound is None):
        raise ValueError("give a committee or a compound")
    unit = committee if committee is not None else compound
    assert unit is not None
    expected = Kind.COMMITTEE if committee is not None else Kind.COMPOUND
    if unit.kind != expected:
        raise ValueError(f"not a {expected}")
    access_unit(actor, unit, Cap.ISSUE_CODES)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _generate(actor, round, unit)
        except IntegrityError:
            # A reference drawn here was stored by another round's run between our check and
            # our insert: draw again (astronomically rare; the resident constraint cannot fire
            # behind the round's lock).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _generate(actor, screening_round: ScreeningRound, unit: OrgUnit) -> int:
    locked = _issuing_round(actor, screening_round)
    places = RoundCompound.objects.filter(round=locked)
    places = places.filter(committee=unit) if unit.kind == Kind.COMMITTEE else places.filter(compound=unit)
    compound_ids = list(places.values_list("compound_id", flat=True))
    if not compound_ids:
        raise ValidationError(_("本轮筛查不包括%(unit)s") % {"unit": unit.name})
    has_code = SamplingCode.objects.filter(round=locked, resident=OuterRef("pk"))
    residents = list(
        Resident.objects.filter(household__compound_id__in=compound_ids, living_status__in=LIVING)
        .exclude(Exists(has_code))
        # Inserted in natural order, so a building's codes come out of the table as people count.
        .order_by("household__compound__sort_key", "household__building__sort_key", "household__building_id",
                  "household__room_sort", "household_id", "pk")
        .values_list("pk", "name", "mobile", "household_id", "household__building_id", "household__room",
                     "committee_id")
    )
    phones = _household_phones(compound_ids) if any(not row[2] for row in residents) else {}
    references = _fresh_references(len(residents))
    now = timezone.now()
    actor_id = actor.pk if actor is not None else None
    rows = [
        (locked.pk, reference, committee_id, building_id, household_id, pk, mask_name(name), room,
         mobile or phones.get(household_id, ""), False, "", actor_id, now)
        for reference, (pk, name, mobile, household_id, building_id, room, committee_id) in zip(
            references, residents, strict=True)
    ]
    _insert_codes(rows)
    audit(actor=actor, action="screening_codes_generate", obj=locked,
          committee_id=unit.pk if unit.kind == Kind.COMMITTEE else unit.committee_id,
          subject_label=f"{locked.name} {unit.name}", detail={"unit": unit.pk, "count": len(rows)})
    return len(rows)


def _require_any(actor, *caps: str):
    """The membership, when it holds one of `caps` (the desk issues codes, the station collects)."""
    for cap in caps:
        if has_cap(actor, cap):
            return require(actor, cap)
    raise PermissionDenied


def walk_in_register(*, actor, round: ScreeningRound, committee: OrgUnit, name: str,  # noqa: A002
                     phone: str, building: OrgUnit | None = None, room: str = "") -> SamplingCode:
    """A code for a person not on the roster (a visitor, a new tenant), registered at the desk or
    the station of a committee the round screens. The same name and phone again in the round is
    the same person: the code made before is returned."""
    if committee.kind != Kind.COMMITTEE:
        raise ValueError("not a committee")
    access_unit(actor, committee, Cap.ISSUE_CODES if has_cap(actor, Cap.ISSUE_CODES) else Cap.COLLECT_SAMPLES)
    errors: dict[str, str] = {}
    try:
        name = check_person_name(name)
    except ValidationError as exc:
        errors["name"] = exc.messages[0]
    else:
        if not name:
            errors["name"] = _("请填写姓名")
        elif len(name) > 50:
            errors["name"] = _("姓名不能超过50个字")
    try:
        phone = normalise_mobile(phone)
    except PhoneError as exc:
        errors["phone"] = str(exc)
    else:
        if not phone:
            errors["phone"] = _("请填写手机号码,用于通知检测结果")
    room = " ".join((room or "").split())
    if len(room) > 20:
        errors["room"] = _("室号不能超过20个字")
    if room and building is None:
        errors["building"] = _("填写室号时请选择楼栋")
    with transaction.atomic():
        locked = _issuing_round(actor, round)
        compound_ids = set(RoundCompound.objects.filter(round=locked, committee=committee)
                           .values_list("compound_id", flat=True))
        if not compound_ids:
            raise ValidationError(_("本轮筛查不包括%(unit)s") % {"unit": committee.name})
        if building is not None and (building.kind != Kind.BUILDING or building.parent_id not in compound_ids):
            errors["building"] = _("该楼栋不在本居委会本轮筛查的范围内")
        if errors:
            raise ValidationError(errors)
        existing = SamplingCode.objects.filter(round=locked, committee=committee, walk_in=True,
                                               walk_in_name=name, phone=phone).first()
        if existing is not None:
            return existing
        household = (Household.objects.filter(building=building, room=room).first()
                     if building is not None and room else None)
        code = SamplingCode.objects.create(
            round=locked, reference=_fresh_references(1)[0], committee=committee, building=building,
            household=household, name_masked=mask_name(name), room=room, phone=phone, walk_in=True,
            walk_in_name=name, created_by=actor,
        )
        audit(actor=actor, action="screening_walk_in_register", obj=code, committee_id=committee.pk,
              subject_label=f"{locked.name} {code.name_masked}", detail={"round": locked.pk})
        return code


@dataclass(frozen=True)
class CodeCard:
    """What the station shows to confirm a person: nothing more than the printed label."""

    reference: str
    name_masked: str
    building: str
    room: str
    walk_in: bool


def normalise_reference(raw: str) -> str:
    """A scanned or typed reference as stored: full-width to half-width, spaces and dashes out,
    upper case, I/L read as 1 and O as 0 (core.codes.normalise)."""
    return normalise(raw)


def code_lookup(*, actor, round: ScreeningRound, reference: str) -> CodeCard:  # noqa: A002
    """The person a scanned code names, for the station or the desk of a round the actor sees.
    ValidationError (on "reference") with a message for the screen when the text is not a code,
    its check character is wrong, it is unknown, or it belongs to another round."""
    _require_any(actor, Cap.COLLECT_SAMPLES, Cap.ISSUE_CODES)
    screening_round = access_by_id(ScreeningRound.objects, actor, pk=round.pk)
    text = normalise_reference(reference)
    if not text:
        raise ValidationError({"reference": _("请扫描或输入采样码")})
    if len(text) != REFERENCE_LENGTH or any(ch not in ALPHABET for ch in text):
        raise ValidationError({"reference": _("这不是采样码,请扫描居民的采样码")})
    if not is_valid(text):
        raise ValidationError({"reference": _("采样码有误(校验位不符),请重新扫描或逐位核对")})
    code = (SamplingCode.objects.filter(reference=text).select_related("building")
            .only("reference", "round_id", "name_masked", "room", "walk_in", "building__name").first())
    if code is None:
        raise ValidationError({"reference": _("没有这个采样码,请核对后重试")})
    if code.round_id != screening_round.pk:
        raise ValidationError({"reference": _("这是其他轮次的采样码,请出示本轮“%(round)s”的采样码")
                               % {"round": screening_round.name}})
    return CodeCard(reference=code.reference, name_masked=code.name_masked,
                    building=code.building.name if code.building_id else "", room=code.room, walk_in=code.walk_in)


def label_codes(screening_round: ScreeningRound, building: OrgUnit) -> list[SamplingCode]:
    """A building's codes in the round, by room as people count (302 before 1202), then name."""
    from xiuhua.places.models import natural_key

    codes = list(SamplingCode.objects.filter(round=screening_round, building=building)
                 .only("reference", "name_masked", "room", "pk"))
    keys: dict[str, str] = {}
    for code in codes:
        if code.room not in keys:
            keys[code.room] = natural_key(code.room)
    codes.sort(key=lambda code: (keys[code.room], code.pk))
    return codes


def labels_export(*, actor, round: ScreeningRound, building: OrgUnit, layout: str) -> bytes:  # noqa: A002
    """The printed codes of one building of the round (see labels.LAYOUTS), for people without a
    phone: an export of personal data (masked names with their addresses), audited."""
    from .labels import LAYOUTS, LabelSheet, labels_pdf

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    require(actor, Cap.ISSUE_CODES)
    screening_round = access_by_id(ScreeningRound.objects, actor, pk=round.pk)
    # One 404 for a building outside the actor's scope and one the round does not screen.
    place = access_by_id(OrgUnit.objects, actor, pk=building.pk, kind=Kind.BUILDING)
    if not RoundCompound.objects.filter(round=screening_round, compound_id=place.parent_id).exists():
        from django.http import Http404

        raise Http404
    codes = label_codes(screening_round, place)
    compound = place.parent.name if place.parent_id else ""
    sheet = LabelSheet(title=f"{compound}{place.name}", building=place.name, codes=codes)
    audit(actor=actor, action="screening_labels_export", obj=place, committee_id=place.committee_id,
          subject_label=f"{screening_round.name} {sheet.title}", personal=True,
          detail={"round": screening_round.pk, "layout": layout, "codes": len(codes)})
    return labels_pdf([sheet], layout=layout, round_name=screening_round.name)


def code_label_print(*, actor, code: SamplingCode, layout: str) -> bytes:
    """One code's label (a walk-in's, printed at the desk or the station), for a code the caller
    found in the actor's scope; audited like every printed code."""
    from .labels import LAYOUTS, LabelSheet, labels_pdf

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    _require_any(actor, Cap.ISSUE_CODES, Cap.COLLECT_SAMPLES)
    building = code.building.name if code.building is not None else ""
    sheet = LabelSheet(title=f"{code.name_masked} {building}", building=building, codes=[code], title_label=False)
    audit(actor=actor, action="screening_label_print", obj=code, committee_id=code.committee_id,
          subject_label=f"{code.round.name} {code.name_masked}", personal=True,
          detail={"round": code.round_id, "layout": layout})
    return labels_pdf([sheet], layout=layout, round_name=code.round.name)
