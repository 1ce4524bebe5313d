"""The sampling station (采样点): what a collector's phone or laptop did, applied as one batch.

A station keeps working offline: the page stores every scan in the browser and sends them in
batches, each with a key the device made. `station_batch_apply` applies one batch in one
transaction, event by event in the device's order, and answers each event (accepted, or refused
with a reason in Chinese). A refused event changes nothing; the accepted ones stay even when
others in the batch are refused. The batch's key is a `StationBatch` row (unique), inserted
first: a resend of the same key, after a crash or by eight parallel retries, answers what the
first send answered and changes nothing (a parallel insert of the key waits for the first
transaction and then reads its answer).

Exactly once for people: a person's sample is a `TubeMember` under the unique rule "one per code
and round" (retests apart). A batch reads its tubes (locked, so a tube's capacity holds under
concurrency), its codes and who of them is sampled already in a few queries, decides every event
in memory in the device's order, and writes the samples with one INSERT ... ON CONFLICT DO
NOTHING. Should a sample meet one that a parallel station committed after the batch looked, the
batch is done again one sample at a time (the conflict waits for the other transaction, then the
person is refused with the tube they are in), so two stations scanning the same person at once put
them in one tube and every later answer of the batch follows from what landed. Tubes filled by the
batch are closed together by one `core.workflow.move_many` (one audit event), before any event
that reads a tube's state and at the batch's end; a collector's 封管, boxing and hand-over are
`move`s of their own.

Device clocks: a scan keeps the device's time (the sample was taken then, perhaps offline hours
before it was sent) unless that time is more than CLOCK_AHEAD in the future of the server's, or
before the round's first day: then the scan is accepted with the server's time and the answer
says so. The sample exists; refusing it would make the person come back for another swab.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, DateTimeField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.core.codes import normalise as normalise_code
from xiuhua.core.workflow import move, move_many
from xiuhua.zones.selectors import sealed_units

from .models import (
    POOL_CAPACITY,
    Box,
    BoxStatus,
    Line,
    PoolRule,
    RoundCompound,
    RoundStatus,
    SamplingCode,
    ScreeningRound,
    ScreeningRule,
    Site,
    StationBatch,
    Tube,
    TubeMember,
    TubeStatus,
)

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_EVENTS = 500  # one batch; the page sends 50 at a time
CLOCK_AHEAD = dt.timedelta(minutes=5)
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
BARCODE_MAX = 40
KINDS = ("tube", "person", "close", "box", "hand_over")


class Refusal(Exception):
    """An event refused: its Chinese reason goes to the device, nothing of it is written."""


def normalise_barcode(raw: Any) -> str:
    """A tube or box barcode as printed: full-width to half-width, spaces around it dropped (a
    scanner or a typist adds them); spaces or control characters inside are refused."""
    if not isinstance(raw, str):
        raise Refusal(_("条码不能为空"))
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    if not text:
        raise Refusal(_("条码不能为空"))
    if len(text) > BARCODE_MAX:
        raise Refusal(_("条码过长(不能超过 %(n)d 个字符)") % {"n": BARCODE_MAX})
    if any(not ch.isprintable() or ch.isspace() for ch in text):
        raise Refusal(_("条码中含有空格或不可见字符,请重新扫描"))
    return text


def default_pool_rule(site: Site) -> str:
    """The rule of a tube whose first person has no place in the round (a walk-in): the one rule
    of the round's compounds in the site's committee when they agree, else the screening rule's
    default in force on the round's first day, else 10:1."""
    rules = set(RoundCompound.objects.filter(round_id=site.round_id, committee_id=site.committee_id)
                .values_list("pool_rule", flat=True))
    if len(rules) == 1:
        return rules.pop()
    rule = ScreeningRule.objects.filter(effective_from__lte=site.round.first_day).first()
    return rule.default_pool_rule if rule else PoolRule.TEN


@dataclass
class _TubeState:
    tube: Tube
    count: int
    household_id: int | None = None  # a household tube's household, once its first person is in
    # Filled by this batch (at this time): closed with the batch's other full tubes in one
    # move_many before any event that reads tube states, and at the batch's end.
    full_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        return TubeStatus.CLOSED if self.full_at is not None else self.tube.status


@dataclass
class _Batch:
    actor: Any
    round: ScreeningRound
    site: Site
    now: dt.datetime
    earliest: dt.datetime
    codes: dict[str, SamplingCode] = field(default_factory=dict)
    compound_rules: dict[int, str] = field(default_factory=dict)
    sealed: set[int] = field(default_factory=set)  # compounds and buildings in sealed zones now
    tubes: dict[str, _TubeState] = field(default_factory=dict)
    lines: dict[int, Line] = field(default_factory=dict)
    default_rule: str | None = None
    one_by_one: bool = False  # insert each sample at once (after a conflict), not at the flush
    sampled: dict[int, str] = field(default_factory=dict)  # code id -> its tube's barcode, this round
    pending: list[tuple[int, int, dt.datetime]] = field(default_factory=list)  # (tube, code, time) to insert
    unknown_tubes: set[str] = field(default_factory=set)  # named by the batch, no such tube before it
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("tubes", "people", "closed", "boxed", "handed_over", "refused", "clock_fixed"), 0))


def station_batch_apply(*, actor, round: ScreeningRound, site: Site, key: str, events: list,
                        now: dt.datetime | None = None) -> dict:
    """Apply a station's batch of events (see the module's note); returns the answer:
    {"key", "results": [{"ok": bool, "message": str, ...} per event], "accepted", "refused"}.
    A resend of the key returns the stored answer. Raises PermissionDenied for an actor without
    COLLECT_SAMPLES or a site they do not see, ValidationError for a batch that cannot be read
    at all (bad key, not a list, too many events, a round not open)."""
    require(actor, Cap.COLLECT_SAMPLES)
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationError({"key": _("批次编号无效")})
    if not isinstance(events, list):
        raise ValidationError({"events": _("扫码记录格式不正确")})
    if len(events) > MAX_EVENTS:
        raise ValidationError({"events": _("一批最多 %(n)d 条扫码记录") % {"n": MAX_EVENTS}})
    now = now or timezone.now()
    with transaction.atomic():
        if site.round_id != round.pk or not Site.objects.visible_to(actor).filter(pk=site.pk).exists():
            raise PermissionDenied
        # The key first: a parallel send of it waits here for the first to commit, then finds it.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {StationBatch._meta.db_table} (key, round_id, site_id, sent_by_id, received_at, "  # noqa: S608
                "events, answer) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING id",
                [key, round.pk, site.pk, actor.pk, now, len(events), "{}"],
            )
            inserted = cursor.fetchone()
        if inserted is None:
            return _replayed(StationBatch.objects.get(key=key), actor, site)
        batch_row = StationBatch(pk=inserted[0], key=key)
        locked_round = ScreeningRound.objects.get(pk=round.pk)  # as it is now, not as the caller read it
        if locked_round.status != RoundStatus.OPEN:
            raise ValidationError({"events": _("本轮筛查不在采样中(当前为“%(status)s”),扫码记录未保存,请联系街道")
                                   % {"status": RoundStatus(locked_round.status).label}})
        earliest = dt.datetime.combine(locked_round.first_day, dt.time.min, tzinfo=BEIJING)
        try:
            with transaction.atomic():
                state = _Batch(actor=actor, round=locked_round, site=site, now=now, earliest=earliest)
                results = _run(state, events)
        except _Conflict:
            # A parallel station sampled one of these people after we looked: again, one by one,
            # so every later answer (a tube's count, full or not) follows from what landed.
            state = _Batch(actor=actor, round=locked_round, site=site, now=now, earliest=earliest, one_by_one=True)
            results = _run(state, events)
        accepted = len(events) - state.counts["refused"]
        answer = {"key": key, "results": results, "accepted": accepted, "refused": state.counts["refused"]}
        StationBatch.objects.filter(pk=batch_row.pk).update(answer=answer)
        audit(actor=actor, action="screening_station_batch", obj=batch_row, committee_id=site.committee_id,
              subject_label=site.name, detail={"events": len(events), **state.counts})
    return answer


class _Conflict(Exception):
    """Some of a batch's samples met a parallel one at insert time."""


def _run(state: _Batch, events: list) -> list[dict]:
    _prefetch(state, events)
    results = []
    for event in events:
        try:
            result = _apply(state, event)
        except Refusal as refusal:
            state.counts["refused"] += 1
            result = {"ok": False, "message": str(refusal)}
        results.append(result)
    _flush(state)
    return results


def _replayed(stored: StationBatch, actor, site: Site) -> dict:
    if stored.site_id != site.pk or stored.sent_by_id != actor.pk:
        raise ValidationError({"key": _("批次编号已被其他采样点或人员使用")})
    return stored.answer


def _prefetch(state: _Batch, events: list) -> None:
    """The tubes the batch names, locked (in id order, so two batches never wait on each other
    crosswise), with their counts; the codes it names and their compounds' pool rules: a few
    queries for the whole batch instead of a few per event."""
    barcodes: set[str] = set()
    wanted: set[str] = set()
    for event in events:
        if not isinstance(event, dict):
            continue
        raw = event.get("barcode") if event.get("kind") == "tube" else event.get("tube")
        with contextlib.suppress(Refusal):  # refused again, with its reason, when its event comes
            barcodes.add(normalise_barcode(raw))
        if event.get("kind") == "person" and isinstance(event.get("code"), str):
            wanted |= _code_forms(event["code"])
    if barcodes:
        tubes = list(Tube.objects.select_for_update(of=("self",)).filter(barcode__in=barcodes).order_by("pk"))
        members = dict(TubeMember.objects.filter(tube__in=tubes).values("tube_id")
                       .annotate(n=Count("pk"))
                       .values_list("tube_id", "n"))
        households = dict(TubeMember.objects.filter(tube__in=[t for t in tubes if t.pool_rule == PoolRule.HOUSEHOLD])
                          .values_list("tube_id", "code__household_id"))
        for tube in tubes:
            state.tubes[tube.barcode] = _TubeState(tube=tube, count=members.get(tube.pk, 0),
                                                   household_id=households.get(tube.pk))
        state.unknown_tubes = barcodes - set(state.tubes)
    if not wanted:
        return
    codes = SamplingCode.objects.filter(reference__in=wanted).select_related("building", "building__parent")
    state.codes = {code.reference: code for code in codes}
    # By code alone (a code is one round's): with the round in the filter too, the planner guessed
    # thousands of rows on a city's table and started parallel workers for fifty.
    sampled = (TubeMember.objects.filter(retest=False, code__in=list(state.codes.values()))
               .values_list("code_id", "round_id", "tube__barcode"))
    state.sampled = {code_id: barcode for code_id, round_id, barcode in sampled if round_id == state.round.pk}
    compounds = {code.building.parent_id for code in state.codes.values() if code.building is not None}
    state.compound_rules = dict(RoundCompound.objects.filter(round=state.round, compound_id__in=compounds)
                                .values_list("compound_id", "pool_rule"))
    buildings = {code.building_id for code in state.codes.values() if code.building_id is not None}
    state.sealed = sealed_units(compounds | buildings)


def _code_forms(raw: str) -> set[str]:
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    return {text, normalise_code(raw)} if text else set()


def _event_time(state: _Batch, event: dict, result: dict) -> dt.datetime:
    raw = event.get("at")
    at = None
    if isinstance(raw, str) and len(raw) <= 40:
        try:
            at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            at = None
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=BEIJING)  # the station's wall clock is Beijing time
    if at is None or at > state.now + CLOCK_AHEAD or at < state.earliest:
        state.counts["clock_fixed"] += 1
        result["note"] = _("设备时间不准,已按服务器时间记录,请校准手机或电脑时间")
        return state.now
    return at


def _apply(state: _Batch, event: Any) -> dict:
    if not isinstance(event, dict) or event.get("kind") not in KINDS:
        raise Refusal(_("无法识别的扫码记录"))
    result: dict[str, Any] = {"ok": True, "kind": event["kind"]}
    at = _event_time(state, event, result)
    if event["kind"] in ("person", "tube"):
        # Every check comes before their one write, so they need no savepoint (the common case).
        (_person if event["kind"] == "person" else _tube)(state, event, at, result)
        return result
    handler = {"close": _close, "box": _box, "hand_over": _hand_over}[event["kind"]]
    _flush(state)
    try:
        with transaction.atomic():  # a refusal halfway (a box made, its tube refused) undoes it
            handler(state, event, at, result)
    except ValidationError as error:  # the workflow's refusal, already in Chinese
        raise Refusal("".join(error.messages)) from None
    except PermissionDenied:
        raise Refusal(_("无权在本采样点进行此操作")) from None
    return result


def _tube_state(state: _Batch, barcode: str) -> _TubeState | None:
    """The tube, locked for the batch, with its count of people (None when no tube has it)."""
    if barcode in state.tubes:
        return state.tubes[barcode]
    if barcode in state.unknown_tubes:
        return None
    tube = Tube.objects.select_for_update(of=("self",)).filter(barcode=barcode).first()
    if tube is None:
        return None
    members = TubeMember.objects.filter(tube=tube).values_list("code__household_id", flat=True)
    households = list(members)
    found = _TubeState(tube=tube, count=len(households), household_id=households[0] if households else None)
    state.tubes[barcode] = found
    return found


def _own_tube(state: _Batch, raw: Any) -> _TubeState:
    barcode = normalise_barcode(raw)
    found = _tube_state(state, barcode)
    if found is None:
        raise Refusal(_("试管 %(barcode)s 尚未开始采样,请先扫描试管条码") % {"barcode": barcode})
    if found.tube.round_id != state.round.pk:
        raise Refusal(_("试管 %(barcode)s 属于其他筛查轮次,不能在本轮使用") % {"barcode": barcode})
    if found.tube.site_id != state.site.pk:
        raise Refusal(_("试管 %(barcode)s 属于其他采样点") % {"barcode": barcode})
    return found


def _tube_answer(found: _TubeState, result: dict) -> None:
    tube = found.tube
    result.update({"tube": tube.barcode, "count": found.count, "capacity": tube.capacity,
                   "status": found.status, "pool_rule": tube.pool_rule})


def _tube(state: _Batch, event: dict, at: dt.datetime, result: dict) -> None:
    barcode = normalise_barcode(event.get("barcode"))
    found = _tube_state(state, barcode)
    if found is not None:
        # Scanning a tube already started here makes it the current one again (a reload, a resend).
        tube = found.tube
        if tube.round_id != state.round.pk:
            raise Refusal(_("试管 %(barcode)s 属于其他筛查轮次,不能在本轮使用") % {"barcode": barcode})
        if tube.site_id != state.site.pk:
            raise Refusal(_("试管 %(barcode)s 已在其他采样点使用") % {"barcode": barcode})
        if found.status != TubeStatus.OPEN:
            raise Refusal(_("试管 %(barcode)s 已封管,请换一支新试管") % {"barcode": barcode})
        result["message"] = _("继续使用试管 %(barcode)s") % {"barcode": barcode}
        _tube_answer(found, result)
        return
    line = _line(state, event.get("line"))
    if state.default_rule is None:
        state.default_rule = default_pool_rule(state.site)
    rule = state.default_rule  # until its first person decides it
    tube = Tube(round=state.round, site=state.site, line=line, committee_id=state.site.committee_id, barcode=barcode,
                pool_rule=rule, capacity=POOL_CAPACITY[PoolRule(rule)], opened_at=at, recorded_at=state.now)
    with connection.cursor() as cursor:
        # ON CONFLICT: another station started this barcode a moment ago; no savepoint needed.
        cursor.execute(
            f"INSERT INTO {Tube._meta.db_table} (round_id, site_id, line_id, committee_id, barcode, pool_rule, "  # noqa: S608
            "capacity, retest, status, opened_at, recorded_at, result) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, '') ON CONFLICT (barcode) DO NOTHING RETURNING id",
            [state.round.pk, state.site.pk, line.pk if line else None, tube.committee_id, barcode, rule,
             tube.capacity, False, TubeStatus.OPEN, at, state.now],
        )
        inserted = cursor.fetchone()
    if inserted is None:
        raise Refusal(_("试管条码 %(barcode)s 已被使用,请换一支新试管") % {"barcode": barcode})
    tube.pk = inserted[0]
    state.unknown_tubes.discard(barcode)
    found = _TubeState(tube=tube, count=0)
    state.tubes[barcode] = found
    state.counts["tubes"] += 1
    result["message"] = _("开始采样:试管 %(barcode)s") % {"barcode": barcode}
    _tube_answer(found, result)


def _line(state: _Batch, raw: Any) -> Line | None:
    if raw in (None, ""):
        return None
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise Refusal(_("采样台号无效")) from None
    if not state.lines:
        state.lines = {line.number: line for line in Line.objects.filter(site=state.site)}
    if number not in state.lines:
        raise Refusal(_("本采样点没有 %(n)s 号采样台") % {"n": number})
    return state.lines[number]


def _person(state: _Batch, event: dict, at: dt.datetime, result: dict) -> None:
    raw = event.get("code")
    code = None
    if isinstance(raw, str):
        for form in _code_forms(raw):
            code = state.codes.get(form) or code
    if code is None:
        raise Refusal(_("采样码无效,请核对或到登记台重新领取"))
    if code.round_id != state.round.pk:
        raise Refusal(_("这是其他筛查轮次的采样码,请出示本轮采样码"))
    found = _own_tube(state, event.get("tube"))
    tube = found.tube
    if found.status != TubeStatus.OPEN:
        raise Refusal(_("试管 %(barcode)s 已封管,请扫描新试管") % {"barcode": tube.barcode})
    if found.count >= tube.capacity:
        raise Refusal(_("试管已满(%(n)d/%(n)d),请封管后扫描新试管") % {"n": tube.capacity})
    compound = code.building.parent_id if code.building is not None else None
    rule = state.compound_rules.get(compound) if compound else None
    if rule is not None and (compound in state.sealed or code.building_id in state.sealed):
        rule = PoolRule.HOUSEHOLD  # a sealed zone samples one household per tube, whatever the round said
    new_rule = tube.pool_rule
    if found.count == 0 and rule is not None:
        new_rule = rule  # the first person decides the tube's rule
    elif rule is not None and rule != tube.pool_rule:
        raise Refusal(_("该居民所在小区按“%(rule)s”采样,不能放入“%(tube)s”的试管,请换一支试管")
                      % {"rule": PoolRule(rule).label, "tube": PoolRule(tube.pool_rule).label})
    if new_rule == PoolRule.HOUSEHOLD and found.count and (
            code.household_id is None or code.household_id != found.household_id):
        raise Refusal(_("一户一管:该试管已有其他户的居民,请换一支试管"))
    if code.pk in state.sampled:
        raise Refusal(_("该居民本轮已采样(试管 %(barcode)s),不能重复采样") % {"barcode": state.sampled[code.pk]})
    if not state.one_by_one:
        state.pending.append((tube.pk, code.pk, at))
    elif not _insert_member(tube, code, at, state.now):
        other = TubeMember.objects.filter(round=state.round, code=code, retest=False).select_related("tube").first()
        where = other.tube.barcode if other else ""
        raise Refusal(_("该居民本轮已采样(试管 %(barcode)s),不能重复采样") % {"barcode": where})
    state.sampled[code.pk] = tube.barcode
    if new_rule != tube.pool_rule:
        tube.pool_rule, tube.capacity = new_rule, POOL_CAPACITY[PoolRule(new_rule)]
        Tube.objects.filter(pk=tube.pk).update(pool_rule=tube.pool_rule, capacity=tube.capacity)
    found.count += 1
    if found.count == 1:
        found.household_id = code.household_id
    state.counts["people"] += 1
    building = code.building
    result.update({"name": code.name_masked,
                   "building": f"{building.parent.name}{building.name}" if building and building.parent else "",
                   "room": code.room})
    result["message"] = _("%(name)s 已采样(%(n)d/%(cap)d)") % {
        "name": code.name_masked, "n": found.count, "cap": tube.capacity}
    if found.count >= tube.capacity:
        found.full_at = at
        state.counts["closed"] += 1
        result["message"] += _(",试管已满,已自动封管")
    _tube_answer(found, result)


def _insert_member(tube: Tube, code: SamplingCode, at: dt.datetime, now: dt.datetime) -> bool:
    """Insert the person's sample; False when the round already holds one (the unique rule, even
    against a parallel transaction: ON CONFLICT waits for it and then does nothing)."""
    table = TubeMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tube_id, code_id, round_id, retest, scanned_at, recorded_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [tube.pk, code.pk, tube.round_id, tube.retest, at, now],
        )
        return cursor.fetchone() is not None


def _flush(state: _Batch) -> None:
    """Write what the batch decided so far: its samples in one INSERT (a sample that meets a
    parallel one there raises _Conflict, and the batch is done again one by one), then the tubes
    it filled."""
    if state.pending:
        rows, state.pending = state.pending, []
        values = ", ".join(["(%s, %s, %s, false, %s, %s)"] * len(rows))
        params: list = []
        for tube_id, code_id, at in rows:
            params += [tube_id, code_id, state.round.pk, at, state.now]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TubeMember._meta.db_table} (tube_id, code_id, round_id, retest, scanned_at, "  # noqa: S608
                f"recorded_at) VALUES {values} ON CONFLICT DO NOTHING RETURNING id", params)
            if len(cursor.fetchall()) != len(rows):
                raise _Conflict
    _flush_closes(state)


def _flush_closes(state: _Batch) -> None:
    """Close the tubes this batch filled, with one conditional UPDATE and one audit event
    (core.workflow.move_many), each with the time of its last scan."""
    full = {found.tube.pk: found for found in state.tubes.values() if found.full_at is not None}
    if not full:
        return
    closed_at = Case(*(When(pk=pk, then=Value(found.full_at)) for pk, found in full.items()),
                     output_field=DateTimeField())
    move_many(Tube.objects.visible_to(state.actor).filter(pk__in=full), "close", actor=state.actor,
              values={"closed_at": closed_at}, committee_id=state.site.committee_id,
              subject_label=state.site.name, detail={"full": sorted(f.tube.barcode for f in full.values())})
    for tube in Tube.objects.filter(pk__in=full).select_related("site"):
        full[tube.pk].tube = tube
        full[tube.pk].full_at = None


def _close_tube(state: _Batch, found: _TubeState, at: dt.datetime) -> None:
    def change(locked: Tube) -> dict:
        locked.closed_at = at
        return {"count": found.count}

    found.tube = move(found.tube, "close", actor=state.actor, change=change, now=state.now)
    state.counts["closed"] += 1


def _close(state: _Batch, event: dict, at: dt.datetime, result: dict) -> None:
    found = _own_tube(state, event.get("tube"))
    tube = found.tube
    if tube.status == TubeStatus.CLOSED:
        result["message"] = _("试管 %(barcode)s 已封管") % {"barcode": tube.barcode}
    elif tube.status != TubeStatus.OPEN:
        raise Refusal(_("试管 %(barcode)s 当前为“%(status)s”,不能封管")
                      % {"barcode": tube.barcode, "status": TubeStatus(tube.status).label})
    elif found.count == 0:
        raise Refusal(_("试管 %(barcode)s 中还没有人,不能封管") % {"barcode": tube.barcode})
    else:
        _close_tube(state, found, at)
        result["message"] = _("试管 %(barcode)s 已封管(%(n)d 人)") % {"barcode": tube.barcode, "n": found.count}
    _tube_answer(found, result)


def _box_row(state: _Batch, raw: Any, *, create: bool, at: dt.datetime) -> Box:
    barcode = normalise_barcode(raw)
    box = Box.objects.select_for_update(of=("self",)).filter(barcode=barcode).first()
    if box is None:
        if not create:
            raise Refusal(_("转运箱 %(barcode)s 还没有装入试管") % {"barcode": barcode})
        box = Box(round=state.round, site=state.site, barcode=barcode)
        try:
            with transaction.atomic():
                box.save()
        except IntegrityError:
            raise Refusal(_("转运箱编号 %(barcode)s 已被使用") % {"barcode": barcode}) from None
        return box
    if box.round_id != state.round.pk:
        raise Refusal(_("转运箱 %(barcode)s 属于其他筛查轮次") % {"barcode": barcode})
    if box.site_id != state.site.pk:
        raise Refusal(_("转运箱 %(barcode)s 属于其他采样点") % {"barcode": barcode})
    return box


def _box(state: _Batch, event: dict, at: dt.datetime, result: dict) -> None:
    found = _own_tube(state, event.get("tube"))
    tube = found.tube
    if tube.status == TubeStatus.OPEN:
        raise Refusal(_("试管 %(barcode)s 尚未封管,请先封管再装箱") % {"barcode": tube.barcode})
    box = _box_row(state, event.get("box"), create=True, at=at)
    result["box"] = box.barcode
    if tube.box_id == box.pk and tube.status == TubeStatus.BOXED:
        result["message"] = _("试管 %(tube)s 已在转运箱 %(box)s 中") % {"tube": tube.barcode, "box": box.barcode}
        return
    if box.status != BoxStatus.PACKING:
        raise Refusal(_("转运箱 %(box)s 已交接,不能再装入试管") % {"box": box.barcode})
    if tube.status != TubeStatus.CLOSED:
        raise Refusal(_("试管 %(barcode)s 已装入转运箱,不能重复装箱") % {"barcode": tube.barcode})

    def change(locked: Tube) -> dict:
        locked.box = box
        return {"box": box.barcode}

    found.tube = move(tube, "box", actor=state.actor, change=change, now=state.now)
    state.counts["boxed"] += 1
    boxed = Tube.objects.filter(box=box).count()
    result.update({"message": _("试管 %(tube)s 已装入转运箱 %(box)s(共 %(n)d 管)")
                   % {"tube": tube.barcode, "box": box.barcode, "n": boxed}, "tubes_in_box": boxed})


def _hand_over(state: _Batch, event: dict, at: dt.datetime, result: dict) -> None:
    box = _box_row(state, event.get("box"), create=False, at=at)
    result["box"] = box.barcode
    if box.status == BoxStatus.HANDED_OVER:
        result["message"] = _("转运箱 %(box)s 已交接") % {"box": box.barcode}
        return
    if box.status != BoxStatus.PACKING:
        raise Refusal(_("转运箱 %(box)s 当前为“%(status)s”,不能交接")
                      % {"box": box.barcode, "status": BoxStatus(box.status).label})
    tubes = Tube.objects.filter(box=box, status=TubeStatus.BOXED)
    count = tubes.count()
    if count == 0:
        raise Refusal(_("转运箱 %(box)s 是空箱,不能交接") % {"box": box.barcode})

    def change(locked: Box) -> dict:
        locked.handed_over_at = at
        return {"tubes": count}

    move(box, "hand_over", actor=state.actor, change=change, now=state.now)
    move_many(Tube.objects.visible_to(state.actor).filter(box=box), "hand_over", actor=state.actor,
              committee_id=state.site.committee_id, subject_label=box.barcode, detail={"box": box.barcode})
    for found in state.tubes.values():
        if found.tube.box_id == box.pk:
            found.tube.refresh_from_db(fields=["status"])
    state.counts["handed_over"] += 1
    result["message"] = _("转运箱 %(box)s 已交接(%(n)d 管)") % {"box": box.barcode, "n": count}
    result["tubes_in_box"] = count


# ---------------------------------------------------------------- live counts


def site_live_counts(site: Site, *, now: dt.datetime | None = None) -> dict:
    """What the site lead watches: people per line in the last 10 and 60 minutes (by the scan's
    time), tubes open and closed, boxes packing and handed over. A few grouped queries."""
    now = now or timezone.now()
    ten, hour = now - dt.timedelta(minutes=10), now - dt.timedelta(minutes=60)
    per_line = (TubeMember.objects.filter(tube__site=site, retest=False, scanned_at__gte=hour)
                .values("tube__line__number")
                .annotate(last_10=Count("pk", filter=Q(scanned_at__gte=ten)), last_60=Count("pk")))
    by_line = {row["tube__line__number"]: row for row in per_line}
    numbers = list(Line.objects.filter(site=site, active=True).values_list("number", flat=True))
    lines = [{"line": n, "last_10": by_line.get(n, {}).get("last_10", 0),
              "last_60": by_line.get(n, {}).get("last_60", 0)} for n in numbers]
    if None in by_line:
        lines.append({"line": None, "last_10": by_line[None]["last_10"], "last_60": by_line[None]["last_60"]})
    tubes = dict(Tube.objects.filter(site=site).values("status").annotate(n=Count("pk")).values_list("status", "n"))
    boxes = dict(Box.objects.filter(site=site).values("status").annotate(n=Count("pk")).values_list("status", "n"))
    people = TubeMember.objects.filter(tube__site=site, retest=False).count()
    return {
        "lines": lines,
        "people": people,
        "tubes_open": tubes.get(TubeStatus.OPEN, 0),
        "tubes_closed": sum(n for status, n in tubes.items() if status != TubeStatus.OPEN),
        "boxes_packing": boxes.get(BoxStatus.PACKING, 0),
        "boxes_handed_over": sum(n for status, n in boxes.items() if status != BoxStatus.PACKING),
        "at": now.isoformat(),
    }
