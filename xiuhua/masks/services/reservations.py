"""Reservations: one entry for every channel, and the committee's verification queue.

Exactly-once comes from the unique constraints on Reservation (one live reservation per person
and per household in a round, one per paper serial): the insert runs in a savepoint and, when a
constraint stops it, the row that is already there is read back. Nothing is checked first.

On a resident's own channels (online, the app, SMS) an identity number proves nothing by itself:
anyone can type a neighbour's. The person takes their household's place only when the name and
the committee given are the roster's for that number; anything else (a wrong name, another
committee, a number not on the roster) is one and the same case, an entry in the committee's
verification queue that holds no one's place (Reservation.pending_phone), answered identically,
so the channel cannot tell who is on the roster. Staff at the desk see the document and match
people themselves.
"""

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership, covers, has_cap, require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_identity
from xiuhua.core.idnumbers import IdNumberError, check_id
from xiuhua.core.lookups import lookup_counters, lookup_throttle
from xiuhua.core.pgstatements import constant_list, prepared_cursor, text_array
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.identity import identity_hash
from xiuhua.residents.models import Household, LivingStatus, Resident, ResidentTag, Tag

from ..codes import new_reservation_number
from ..models import (
    Channel,
    MaskRound,
    PaperFormBook,
    PharmacyCommittee,
    Reservation,
    ReservationStatus,
    RoundStatus,
)

# Tags that put a household in the special group served first from each day's reserve.
SPECIAL_TAGS = frozenset(
    {Tag.PREGNANT, Tag.DIALYSIS, Tag.CHEMOTHERAPY, Tag.DISABLED, Tag.ELDERLY_ALONE, Tag.LOW_INCOME}
)

# A phone may hold this many live reservations per round on the resident's own channels: the
# resident's and one more (typically an elderly relative without a phone). Staff entries are not
# counted: the desk is where a family with more members without phones is helped.
PHONE_ROUND_LIMIT = 2
RESIDENT_CHANNELS = (Channel.ONLINE, Channel.SMS)

# Channels whose order time was fixed before the service runs (the provider's receive time, the
# paper serial): a message received before the deadline counts even if processed after it.
_FIXED_ORDER_CHANNELS = (Channel.SMS,)


# Spaces and the middle dots of transliterated names (阿依古丽·买买提) are written in many ways.
_NAME_NOISE = re.compile(r"[\s·•・]+")
# The same comparison in SQL, for the one-statement path (PostgreSQL 13+ in a UTF-8 database). Where
# the database's lower() knows fewer letters than Python's (a "C" ctype), it only refuses more, and
# the general path then decides.
_NAME_KEY_SQL = "lower(regexp_replace(normalize({column}, NFKC), '[[:space:]·•・]+', '', 'g'))"


def name_key(name: str) -> str:
    """A name as compared with the roster's: NFKC, without spaces and middle dots, lower case."""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def _proves_identity(resident: Resident, *, name: str, committee: OrgUnit | None) -> bool:
    """On a resident's own channel: the name and committee given are the roster's for the number."""
    return (
        committee is not None
        and committee.pk == resident.household.committee_id
        and name_key(name) == name_key(resident.name)
    )


def household_is_special(household_id: int | None) -> bool:
    if household_id is None:
        return False
    return ResidentTag.objects.filter(resident__household_id=household_id, tag__in=SPECIAL_TAGS).exists()


# What committee staff are told when their committee has no designated pharmacy yet.
NO_PHARMACY_STAFF = gettext_lazy(
    "本居委会尚未指定药店,暂不能登记。请联系街道防控办在“口罩预约 › 指定药店”页面为本居委会指定药店。"
)


def _live(qs):
    return qs.filter(live=True)  # matches the partial unique indexes


def _household_taken(existing: Reservation, *, actor) -> ValidationError:
    """Staff see the household's reservation number; a resident online or by SMS does not, since
    anyone holding a household member's ID number could otherwise read it."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        return ValidationError(_("本户本轮已预约,预约号%(number)s") % {"number": existing.number})
    return ValidationError(_("本户本轮已有家庭成员预约,如需查询预约号请联系居委会"))


def _order_time(*, mask_round, channel, committee, received_at, paper_serial, now) -> tuple[dt.datetime, str, bool]:
    """(order_at, normalised paper serial, whether the order time was fixed earlier)."""
    if paper_serial:
        if channel != Channel.DESK:
            raise ValidationError({"paper_serial": _("纸质登记单只能在现场登记")})
        text = str(paper_serial).strip()
        if not text.isdigit():
            raise ValidationError({"paper_serial": _("纸质登记单编号应为数字")})
        serial = int(text)
        book = PaperFormBook.objects.filter(
            round=mask_round, committee=committee, first_serial__lte=serial, last_serial__gte=serial
        ).first()
        if book is None:
            raise ValidationError({"paper_serial": _("该纸质登记单编号不在本居委会已发放的登记簿范围内")})
        return book.handed_out_at + dt.timedelta(microseconds=serial - book.first_serial), str(serial), True
    if channel in _FIXED_ORDER_CHANNELS:
        if received_at is None:
            raise ValidationError({"received_at": _("缺少短信接收时间")})
        return received_at, "", True
    return now, "", False


def _check_round_open(mask_round: MaskRound, order_at: dt.datetime, fixed: bool) -> None:
    statuses = (RoundStatus.OPEN, RoundStatus.CLOSED) if fixed else (RoundStatus.OPEN,)
    if mask_round.status not in statuses or not mask_round.opens_at <= order_at < mask_round.closes_at:
        if order_at < mask_round.opens_at or mask_round.status == RoundStatus.DRAFT:
            raise ValidationError(_("本轮预约尚未开始"))
        raise ValidationError(_("本轮预约已截止"))


def reservation_submit(*, actor, round: MaskRound, channel: str, **fields) -> Reservation:
    """Reserve for one person's household; the same call again returns the same reservation.

    `actor` is the staff member for desk and phone (and paper) registrations; for online and SMS
    it is the resident's session user or None (the view or SMS gateway has authenticated them).
    A person found in the roster is QUEUED for their household (on a resident's own channel only
    when the name and `committee` given are the roster's); anyone else waits in the committee's
    verification queue (VERIFYING, household empty, the typed address kept), unless staff at the
    desk have matched them to a household of their own committee. Residents' own online and SMS
    reservations go through reservation_submit_resident, which adds the per-phone limit and the
    lookup throttle.
    """
    return _submit(actor=actor, round=round, channel=channel, **fields)[0]


@transaction.atomic
def _submit(
    *,
    actor,
    round: MaskRound,
    channel: str,
    name: str,
    id_type: str,
    id_number: str,
    phone: str,
    household: Household | None = None,
    address_text: str = "",
    committee: OrgUnit | None = None,
    received_at: dt.datetime | None = None,
    paper_serial: str = "",
    paper_book: PaperFormBook | None = None,
    now: dt.datetime | None = None,
    per_phone_limit: bool = False,
) -> tuple[Reservation, bool]:
    """reservation_submit, also saying whether the reservation was made now (False: it existed)."""
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ValidationError({"channel": _("未知的登记渠道")})
    membership = None
    if channel in (Channel.DESK, Channel.PHONE) or paper_serial:
        membership = require(actor, Cap.RESERVE_FOR_RESIDENT)
    elif has_cap(actor, Cap.RESERVE_FOR_RESIDENT):
        membership = active_membership(actor)

    errors: dict[str, str] = {}
    try:
        name = check_person_name(name)
    except ValidationError as exc:
        errors["name"] = exc.messages[0]
    else:
        if not name:
            errors["name"] = _("请填写姓名")
    number = ""
    try:
        number = check_id(id_type, id_number).number
    except IdNumberError as exc:
        errors["id_number"] = str(exc)
    try:
        phone = normalise_mobile(phone or "")
    except PhoneError as exc:
        errors["phone"] = str(exc)
    if not phone and channel in (Channel.ONLINE, Channel.SMS) and "phone" not in errors:
        errors["phone"] = _("请填写手机号码")
    if errors:
        raise ValidationError(errors)

    mask_round = MaskRound.objects.select_related("scope").get(pk=round.pk)
    person_hash = identity_hash(id_type, number)
    resident = (
        Resident.objects.filter(id_hash=person_hash, living_status__in=(LivingStatus.HERE, LivingStatus.AWAY))
        .select_related("household")
        .first()
    )
    if resident is not None and membership is None and not _proves_identity(resident, name=name, committee=committee):
        resident = None  # from here on exactly like a number not on the roster
    status = ReservationStatus.QUEUED
    if resident is not None:
        household = resident.household
        committee = OrgUnit.objects.get(pk=household.committee_id)
    elif household is not None and membership is not None and covers(membership, _unit(household.committee_id)):
        committee = _unit(household.committee_id)  # matched by staff at the desk
    else:
        if household is not None:
            address_text = address_text or household.address
            committee = committee or _unit(household.committee_id)
        household = None
        status = ReservationStatus.VERIFYING
        address_text = (address_text or "").strip()
        if committee is None:
            raise ValidationError({"committee": _("请选择居委会")})
        if not address_text:
            raise ValidationError({"address_text": _("请填写小区、楼号和室号")})
    if committee.kind != Kind.COMMITTEE or not committee.path.startswith(mask_round.scope.path):
        raise ValidationError({"committee": _("该居委会不在本轮预约范围内")})
    staff_entry = channel in (Channel.DESK, Channel.PHONE) or bool(paper_serial)
    if membership is not None and staff_entry and not covers(membership, committee):
        raise PermissionDenied
    if paper_book is not None and paper_book.committee_id != committee.pk:
        raise ValidationError({"paper_serial": _("登记簿不属于该居委会")})
    link = PharmacyCommittee.objects.filter(committee=committee).first()
    if link is None:
        if membership is not None:  # staff at the desk or on the phone: the street assigns pharmacies
            raise ValidationError({"committee": NO_PHARMACY_STAFF})
        raise ValidationError({"committee": _("该居委会尚未指定药店,暂不能预约,请联系居委会")})

    order_at, serial, fixed = _order_time(
        mask_round=mask_round,
        channel=channel,
        committee=committee,
        received_at=received_at,
        paper_serial=paper_serial,
        now=now,
    )
    _check_round_open(mask_round, order_at, fixed)

    reservation = Reservation(
        round=mask_round,
        committee=committee,
        pharmacy_id=link.pharmacy_id,
        household=household,
        resident=resident,
        person_hash=person_hash,
        id_masked=mask_identity(number),
        id_last4=number[-4:],
        name=name[:50],
        phone=phone,
        address_text=address_text[:200] if status == ReservationStatus.VERIFYING else "",
        channel=channel,
        order_at=order_at,
        paper_serial=serial,
        special=household_is_special(household.pk if household else None),
        status=status,
        created_by=actor if actor is not None and actor.pk else None,
    )
    # The entry this one would repeat, as the one-per-person constraint sees it: the person's place,
    # or for an entry awaiting verification, the one from the same phone (never another phone's).
    pending_phone = phone if status == ReservationStatus.VERIFYING else ""
    same_entry = _live(
        Reservation.objects.filter(round=mask_round, person_hash=person_hash, pending_phone=pending_phone)
    )
    if pending_phone:
        # Verified by staff since: the place this phone holds for the person is theirs to see again.
        placed = _live(Reservation.objects.filter(round=mask_round, person_hash=person_hash, phone=phone)).exclude(
            status=ReservationStatus.VERIFYING
        )
        if (existing := placed.first()) is not None:
            return existing, False
    for _attempt in range(8):
        if per_phone_limit:
            reservation.phone_slot = _free_phone_slot(mask_round.pk, phone)
            if reservation.phone_slot is None:
                existing = same_entry.first()
                if existing is not None:
                    return existing, False
                raise ValidationError(
                    _("同一手机号本轮最多预约%(n)s人,如需帮助请联系居委会") % {"n": PHONE_ROUND_LIMIT}
                )
        reservation.number = new_reservation_number(mask_round.pk)
        try:
            with transaction.atomic():
                reservation.save()
        except IntegrityError:
            reservation.pk = None
            existing = same_entry.first()
            if existing is not None:
                return existing, False  # the same person again: the same reservation
            if household is not None:
                existing = _live(Reservation.objects.filter(round=mask_round, household=household)).first()
                if existing is not None:
                    raise _household_taken(existing, actor=actor) from None
            if serial and Reservation.objects.filter(
                round=mask_round, committee=committee, paper_serial=serial
            ).exists():
                raise ValidationError({"paper_serial": _("该纸质登记单编号已使用")}) from None
            continue  # the random number or the phone slot was taken meanwhile: try again
        break
    else:  # pragma: no cover - eight collisions in a row
        raise RuntimeError("could not allocate a reservation number")
    audit(
        actor=actor,
        action="reservation_submit",
        obj=reservation,
        committee_id=committee.pk,
        subject_label=reservation.number,
        detail={"channel": channel, "status": status, "special": reservation.special},
    )
    return reservation, True


def _free_phone_slot(round_id: int, phone: str) -> int | None:
    taken = set(
        Reservation.objects.filter(round_id=round_id, phone=phone, live=True, phone_slot__isnull=False).values_list(
            "phone_slot", flat=True
        )
    )
    return next((slot for slot in range(1, PHONE_ROUND_LIMIT + 1) if slot not in taken), None)


def _unit(pk: int) -> OrgUnit:
    return OrgUnit.objects.get(pk=pk)


@transaction.atomic
def reservation_verify(*, actor, reservation: Reservation, household: Household) -> Reservation:
    """Staff matched a VERIFYING reservation to a household of their committee; it joins the queue
    at its original order time, and issuing runs in case stock is waiting."""

    def change(locked: Reservation) -> dict:
        if household.committee_id != locked.committee_id:
            raise ValidationError({"household": _("请选择本居委会的住户")})
        locked.household = household
        locked.special = household_is_special(household.pk)
        return {"household": household.pk, "special": locked.special}

    try:
        verified = move(reservation, "verify", actor=actor, change=change)
    except IntegrityError:
        # The person may hold a place already (their own reservation, or someone else's entry for
        # their number was the one waiting here), or the household may.
        placed = _live(Reservation.objects.filter(round_id=reservation.round_id, person_hash=reservation.person_hash,
                                                  pending_phone="")).exclude(pk=reservation.pk).first()
        if placed is not None:  # possibly in another committee: no number
            raise ValidationError(_("此证件号码本轮已有预约,此登记不能再核实通过")) from None
        existing = _live(Reservation.objects.filter(round_id=reservation.round_id, household=household)).first()
        if existing is None:  # pragma: no cover - the other one was cancelled meanwhile
            raise
        raise _household_taken(existing, actor=actor) from None
    from .vouchers import vouchers_issue

    vouchers_issue(round=verified.round, pharmacy=verified.pharmacy)
    return verified


def reservation_reject(*, actor, reservation: Reservation, reason: str) -> Reservation:
    reason = (reason or "").strip()

    def change(locked: Reservation) -> None:
        if not reason:
            raise ValidationError({"reason": _("请填写未通过核实的原因")})
        locked.status_reason = reason[:200]

    return move(reservation, "reject", actor=actor, change=change, reason=reason)


@dataclass
class Outcome:
    reservation: Reservation
    created: bool  # False: the same person had reserved already
    own: bool  # the reservation was made from this phone (only then is its number shown)


def reservation_submit_resident(
    *,
    round: MaskRound,
    phone: str,
    channel: str,
    name: str,
    id_type: str,
    id_number: str,
    committee: OrgUnit,
    household: Household | None = None,
    address_text: str = "",
    received_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    one_statement: bool = True,
    client_ip: str = "",
) -> Outcome:
    """A resident's own reservation, online or by SMS, from a phone already proven (one-time code
    or the SMS sender), held to PHONE_ROUND_LIMIT per phone. Raises ValidationError like
    reservation_submit, and LookupThrottled.

    The common case on the busiest day, a person in the roster reserving for the first time with
    the roster's name and committee, is one SQL statement on PostgreSQL
    (reservation_submit_one_statement); everything else, and SQLite, goes through
    reservation_submit, which also explains every refusal. A caller that has just tried the one
    statement itself passes one_statement=False.

    An identity number typed in is a lookup (design rule 8): everything but that common case
    counts against the phone's and the client address's lookup limits (core.lookups), and the one
    statement itself declines once either limit is reached, so a phone that has been stopped
    cannot go on telling a match from a miss. Successful first reservations are not counted: they
    are held to PHONE_ROUND_LIMIT per phone, and many households share one carrier address.
    """
    now = now or timezone.now()
    if channel not in RESIDENT_CHANNELS:
        raise ValidationError({"channel": _("未知的登记渠道")})
    if one_statement:
        made = reservation_submit_one_statement(
            round_id=round.pk, committee_code=committee.code, phone=phone, channel=channel, name=name,
            id_type=id_type, id_number=id_number, received_at=received_at, now=now, client_ip=client_ip,
        )
        if made is not None:
            return Outcome(made, created=True, own=True)
    lookup_throttle(phone=phone, client_ip=client_ip, purpose=f"mask_reservation_{channel}")
    reservation, created = _submit(
        actor=None, round=round, channel=channel, name=name, id_type=id_type, id_number=id_number, phone=phone,
        household=household, address_text=address_text, committee=committee, received_at=received_at, now=now,
        per_phone_limit=True,
    )
    return Outcome(reservation, created=created, own=reservation.phone == phone)


# Reads the round, the lookup counters, the person's household and committee (with the roster's
# name and the committee given), the committee's pharmacy, the special tags and a free phone slot,
# inserts the reservation and its audit event: one round trip, atomic as one statement. Any
# conflict or anything missing inserts nothing and returns no row.
_ONE_STATEMENT = """
WITH rnd AS (
    SELECT r.id, s.path AS scope_path
    FROM masks_maskround r JOIN places_orgunit s ON s.id = r.scope_id
    WHERE r.id = %(round)s AND r.status = ANY({statuses}) AND r.opens_at <= %(order_at)s
      AND %(order_at)s < r.closes_at
      AND NOT EXISTS (  -- one lookup of the unique (key, window_start) index per counter
        SELECT 1 FROM unnest(%(limit_keys)s::text[], %(limit_windows)s::timestamptz[], %(limit_counts)s::int[])
            AS lim(key, window_start, most)
        WHERE (SELECT rc.count FROM core_ratecounter rc
               WHERE rc.key = lim.key AND rc.window_start = lim.window_start) >= lim.most
      )
), person AS (
    SELECT p.id AS resident_id, p.household_id, h.committee_id
    FROM residents_resident p JOIN residents_household h ON h.id = p.household_id
    WHERE p.id_hash = %(person_hash)s AND p.living_status = ANY({living})
      AND {roster_name_key} = %(name_key)s
    LIMIT 1
), target AS (
    SELECT person.*, link.pharmacy_id, EXISTS (
        SELECT 1 FROM residents_residenttag t JOIN residents_resident m ON m.id = t.resident_id
        WHERE m.household_id = person.household_id AND t.tag = ANY({special_tags})
    ) AS special
    FROM person
    JOIN places_orgunit c ON c.id = person.committee_id AND c.kind = 'committee' AND c.code = %(committee_code)s
    JOIN rnd ON starts_with(c.path, rnd.scope_path)
    JOIN LATERAL (
        SELECT pharmacy_id FROM masks_pharmacycommittee WHERE committee_id = person.committee_id LIMIT 1
    ) link ON true
), slot AS (
    SELECT v.slot FROM generate_series(1, {limit}) AS v(slot)
    WHERE NOT EXISTS (
        SELECT 1 FROM masks_reservation x
        WHERE x.round_id = %(round)s AND x.phone = %(phone)s AND x.phone_slot = v.slot AND x.live
    )
    ORDER BY v.slot LIMIT 1
), created AS (
    INSERT INTO masks_reservation (
        round_id, committee_id, pharmacy_id, household_id, resident_id, person_hash, id_masked, id_last4,
        name, phone, phone_slot, address_text, channel, order_at, paper_serial, number, special, status,
        status_reason, created_by_id, created_at)
    SELECT %(round)s, t.committee_id, t.pharmacy_id, t.household_id, t.resident_id, %(person_hash)s,
        %(id_masked)s, %(id_last4)s, %(name)s, %(phone)s, slot.slot, '', %(channel)s, %(order_at)s, '',
        %(number)s, t.special, 'queued', '', NULL, %(written_at)s
    FROM target t, slot
    ON CONFLICT DO NOTHING
    RETURNING {columns}
), logged AS (
    INSERT INTO core_auditevent (
        at, actor_id, actor_role, action, personal, object_type, object_id, committee_id, subject_label,
        reason, detail)
    SELECT %(written_at)s, NULL, '', 'reservation_submit', false, 'masks.reservation', created.id,
        created.committee_id, created.number, '',
        jsonb_build_object('channel', created.channel, 'status', created.status, 'special', created.special)
    FROM created
)
SELECT {columns} FROM created
"""


def reservation_submit_one_statement(
    *,
    round_id: int,
    committee_code: str,
    phone: str,
    channel: str,
    name: str,
    id_type: str,
    id_number: str,
    received_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    client_ip: str = "",
) -> Reservation | None:
    """A resident's own new, roster-matched reservation in one statement (PostgreSQL), or None
    when anything is unusual (SQLite, bad input, closed round, a committee code or name that is
    not the roster's for the number, not in the roster, already reserved, phone limit, the phone
    or client address at its lookup limit, a number collision): the caller then takes
    reservation_submit_resident, which counts the lookup. `committee_code` is the committee whose
    page or code the resident used; it must be the person's household's. Writes the same rows as
    the general path (tests/test_reservations.py)."""
    if connection.vendor != "postgresql" or channel not in RESIDENT_CHANNELS:
        return None
    now = now or timezone.now()
    try:
        name = check_person_name(name)
        number = check_id(id_type, id_number).number
    except (ValidationError, IdNumberError):
        return None  # the general path explains
    # The phone was proven (code, SMS sender), so it is already normalised; anything else takes
    # the general path, which normalises it.
    if not name or len(name) > 50 or not _NORMALISED_MOBILE.fullmatch(phone or ""):
        return None
    fixed = channel in _FIXED_ORDER_CHANNELS
    if fixed and received_at is None:
        return None
    sql, attnames = _one_statement_sql(fixed)
    counters = lookup_counters(phone=phone, client_ip=client_ip)
    params: dict[str, Any] = {
        "round": round_id,
        "committee_code": committee_code,
        "name_key": name_key(name),
        # Array literals as text (core.pgstatements). Keys are "lookup:<scope>:<window>:<hex>".
        "limit_keys": text_array(c.key for c in counters),
        "limit_windows": text_array(c.window_start.isoformat() for c in counters),
        "limit_counts": text_array(str(c.rule.limit) for c in counters),
        "order_at": received_at if fixed else now,
        "person_hash": identity_hash(id_type, number),
        "phone": phone,
        "id_masked": mask_identity(number),
        "id_last4": number[-4:],
        "name": name,
        "channel": str(Channel(channel).value),
        "number": new_reservation_number(round_id),
        "written_at": timezone.now(),  # as auto_now_add would
    }
    # Planning this statement costs several times executing it: prepared once per connection.
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return Reservation.from_db(connection.alias, attnames, list(row))


_NORMALISED_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@functools.cache
def _one_statement_sql(fixed: bool) -> tuple[str, list[str]]:
    """The statement returning every concrete column of Reservation, in model order (from_db);
    `fixed`: the order time was fixed before (SMS), so a closed round still takes it."""
    fields = Reservation._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statuses = (RoundStatus.OPEN.value, RoundStatus.CLOSED.value) if fixed else (RoundStatus.OPEN.value,)
    sql = _ONE_STATEMENT.format(
        columns=columns, roster_name_key=_NAME_KEY_SQL.format(column="p.name"),
        statuses=constant_list(statuses), living=constant_list((LivingStatus.HERE.value, LivingStatus.AWAY.value)),
        special_tags=constant_list(tag.value for tag in SPECIAL_TAGS), limit=int(PHONE_ROUND_LIMIT),
    )
    return sql, [f.attname for f in fields]
