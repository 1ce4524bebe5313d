"""What changes zones: a positive (in the same transaction as whatever found it), the daily walk of
the clocks, a street drawing a zone by hand, and the district writing and publishing rules.

Zones lock in one order (by their place's id) so two positives of one compound at once queue
rather than deadlock; a zone row is created the first time it is needed (INSERT … ON
CONFLICT DO NOTHING, then the row is locked), so two first positives create it once.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_unit, active_membership
from xiuhua.core.audit import audit
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.screening.selectors_zones import zone_screening

from . import clock
from .models import Level, Positive, PositiveSource, RuleStatus, SealUnit, Zone, ZoneEvent, ZoneRule
from .workflows import manages_zone

# A positive older than this is history, not a reason to seal a zone today.
MAX_POSITIVE_AGE_DAYS = 30


# ---------------------------------------------------------------- rules


def published_rules(unit: OrgUnit) -> list[ZoneRule]:
    """The published rules whose scope holds `unit` (its district's and its street's)."""
    prefixes = [unit.path[: i + 1] for i, char in enumerate(unit.path) if char == "/"]
    return list(ZoneRule.objects.filter(status=RuleStatus.PUBLISHED, scope__path__in=prefixes).select_related("scope"))


def rules_for(unit: OrgUnit) -> clock.Rules:
    return clock.Rules(published_rules(unit))


def rules_cache():
    """`rules_for`, asked once per compound (a building shares its compound's rules): for walks
    over many zones."""
    cache: dict[str, clock.Rules] = {}

    def rules(unit: OrgUnit) -> clock.Rules:
        key = unit.path.rsplit("/", 2)[0] + "/" if unit.kind == Kind.BUILDING else unit.path
        if key not in cache:
            cache[key] = rules_for(unit)
        return cache[key]

    return rules


def _rule_values(values: dict) -> dict:
    errors: dict[str, str] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = _("请填写规则名称")
    if not (values.get("explanation") or "").strip():
        errors["explanation"] = _("请写明给居民的说明")
    for field, low, high in (("sealed_days", 1, 60), ("controlled_days", 1, 60)):
        value = values.get(field)
        if value is None or not (low <= value <= high):
            errors[field] = _("天数应在 %(low)d 到 %(high)d 之间") % {"low": low, "high": high}
    for field, days in (("sealed_test_day", "sealed_days"), ("controlled_test_day", "controlled_days")):
        value, limit = values.get(field), values.get(days)
        if value is not None and limit is not None and not (1 <= value <= limit):
            errors[field] = _("核酸检测日应在第 1 天到第 %(days)d 天之间") % {"days": limit}
    if values.get("sealed_to") not in (Level.CONTROLLED, Level.PRECAUTION):
        errors["sealed_to"] = _("请选择封控区转为何种区域")
    if values.get("seal_unit") not in SealUnit.values:
        errors["seal_unit"] = _("请选择出现阳性时封控的范围")
    if not values.get("effective_from"):
        errors["effective_from"] = _("请填写生效日期")
    elif values["effective_from"] < timezone.localdate():
        errors["effective_from"] = _("生效日期不能早于今天:规则只从其生效之日起适用")
    if errors:
        raise ValidationError(errors)
    return {**values, "name": name, "explanation": values["explanation"].strip()}


RULE_FIELDS = ("name", "effective_from", "explanation", "seal_unit", "compound_on_building_seal", "sealed_days",
               "sealed_to", "sealed_test_day", "controlled_days", "controlled_test_day")


@transaction.atomic
def zone_rule_draft(*, actor, scope: OrgUnit, **values) -> ZoneRule:
    """A new version of the rules for a district or a street, as a draft to preview and publish."""
    access_unit(actor, scope, Cap.MANAGE_ZONE_RULES)
    if scope.kind not in (Kind.DISTRICT, Kind.STREET):
        raise ValidationError({"scope": _("风险区域规则由区或街道制定")})
    clean = _rule_values({field: values.get(field) for field in RULE_FIELDS})
    rule = ZoneRule.objects.create(scope=scope, created_by=actor, **clean)
    audit(actor=actor, action="zone_rule_draft", obj=rule, subject_label=str(rule),
          detail={field: str(clean[field]) for field in RULE_FIELDS if field != "explanation"})
    return rule


@transaction.atomic
def zone_rule_change(*, actor, rule: ZoneRule, **values) -> ZoneRule:
    """Edit a draft; a published rule is history and never changes (write a new version)."""
    locked = ZoneRule.objects.select_for_update().select_related("scope").get(pk=rule.pk)
    access_unit(actor, locked.scope, Cap.MANAGE_ZONE_RULES)
    if locked.status != RuleStatus.DRAFT:
        raise ValidationError(_("已发布的规则不能修改,请另建新版本"))
    clean = _rule_values({field: values.get(field) for field in RULE_FIELDS})
    changed = {f: [str(getattr(locked, f)), str(clean[f])] for f in RULE_FIELDS if getattr(locked, f) != clean[f]}
    for field in changed:
        setattr(locked, field, clean[field])
    if changed:
        locked.save()
        audit(actor=actor, action="zone_rule_change", obj=locked, subject_label=str(locked),
              detail={f: v for f, v in changed.items() if f != "explanation"})
    return locked


def zone_rule_publish(*, actor, rule: ZoneRule, today: dt.date | None = None) -> ZoneRule:
    """Publish a draft: from its date it governs the zones of its scope. One effective today walks
    those zones at once, so what the preview said would happen today happens now."""
    today = today or timezone.localdate()

    def check(locked: ZoneRule):
        if locked.effective_from < today:
            raise ValidationError(_("生效日期已过,请先把生效日期改为今天或以后"))
        locked.published_by, locked.published_at = actor, timezone.now()
        return {"effective_from": str(locked.effective_from)}

    published = move(rule, "publish", actor=actor, change=check)
    if published.effective_from <= today:
        zones_advance(today=today, within=published.scope)
    return published


# ---------------------------------------------------------------- zones


def _compound_of(unit: OrgUnit) -> OrgUnit:
    compound = unit if unit.kind == Kind.COMPOUND else unit.parent
    if compound is None or compound.kind != Kind.COMPOUND:
        raise ValidationError(_("请选择小区或楼栋"))
    return compound


def _committee_id(compound: OrgUnit) -> int:
    if compound.committee_id is None:
        raise ValidationError(_("小区不属于任何居委会"))
    return compound.committee_id


def _zones_locked(units: list[OrgUnit]) -> dict[int, Zone]:
    """The zones of these compounds and buildings, created where missing, locked in unit order."""
    rows = []
    for unit in units:
        compound = _compound_of(unit)
        rows.append(Zone(unit=unit, compound=compound, committee_id=_committee_id(compound)))
    Zone.objects.bulk_create(rows, ignore_conflicts=True)
    ids = sorted(u.pk for u in units)
    locked = (Zone.objects.select_for_update().select_related("unit", "compound").filter(unit_id__in=ids)
              .order_by("unit_id"))
    return {zone.unit_id: zone for zone in locked}


def zones_ensure(compounds: list[OrgUnit]) -> None:
    """Zone rows (precaution) for these compounds, so each has its public page and gate poster."""
    Zone.objects.bulk_create([Zone(unit=c, compound=c, committee_id=_committee_id(c)) for c in compounds],
                             ignore_conflicts=True)


def _reset_clock(zone: Zone, day: dt.date, *, positive: Positive, rule, by) -> None:
    """A positive in a zone already at its level: its clock starts again from the positive's day
    (a late report of an older positive never moves the clock back)."""
    zone.last_positive_day = max(zone.last_positive_day or day, day)
    if zone.clock_start is not None and zone.clock_start >= day:
        zone.save(update_fields=["last_positive_day", "changed_at"])
        return
    old = zone.clock_start
    zone.clock_start, zone.held = day, ""
    zone.save(update_fields=["clock_start", "last_positive_day", "held", "changed_at"])
    ZoneEvent.objects.create(zone=zone, day=day, from_level=zone.level, to_level=zone.level, clock_start=day,
                             cause=ZoneEvent.Cause.RESET, rule=rule, positive=positive, actor=by)
    audit(actor=by, action="zone_clock_reset", obj=zone, committee_id=zone.committee_id,
          subject_label=zone.unit.name, detail={"level": zone.level, "clock_start": [str(old), str(day)],
                                                "positive": positive.pk, "source": positive.source})


def _enter(zone: Zone, action: str, day: dt.date, *, positive: Positive, rule, by) -> Zone:
    def start(locked: Zone):
        locked.clock_start, locked.held = day, ""
        locked.last_positive_day = max(locked.last_positive_day or day, day)
        setattr(locked, "_event", {"day": day, "rule": rule, "positive": positive, "by": by})  # noqa: B010
        return {"clock_start": str(day), "positive": positive.pk, "source": positive.source,
                "by": getattr(by, "pk", None), "rule": rule.pk if rule else None}

    return move(zone, action, actor=None, change=start)


def _check_entry(actor, building: OrgUnit, source: str, system: bool) -> None:
    if system:
        return
    membership = active_membership(actor)
    if source != PositiveSource.STREET or membership is None or not membership.has(Cap.MANAGE_ZONES):
        raise PermissionDenied
    access_unit(actor, building, Cap.MANAGE_ZONES)
    if not manages_zone(membership, Zone(unit=building)):
        raise PermissionDenied


@transaction.atomic
def positive_record(*, actor, building: OrgUnit, day: dt.date, source: str, source_ref: str = "", note: str = "",
                    system: bool = False, today: dt.date | None = None) -> Positive:
    """A positive in `building` on `day`: the zones it touches are sealed, or their clocks start
    again, in this transaction. `system=True` for a module that found the positive and checked its
    own actor (a screening retest, an antigen report confirmed by the committee); staff entering
    one by hand need MANAGE_ZONES over the building. The same source reference twice is recorded
    once (the first is returned)."""
    today = today or timezone.localdate()
    _check_entry(actor, building, source, system)
    if building.kind != Kind.BUILDING:
        raise ValidationError({"building": _("请选择阳性所在楼栋")})
    if source not in PositiveSource.values:
        raise ValidationError({"source": _("未知的阳性来源")})
    if day is None or day > today:
        raise ValidationError({"day": _("阳性日期不能晚于今天")})
    if not system and day < today - dt.timedelta(days=MAX_POSITIVE_AGE_DAYS):
        raise ValidationError({"day": _("阳性日期早于 %(days)d 天前,不再影响风险区域") % {
            "days": MAX_POSITIVE_AGE_DAYS}})
    compound = _compound_of(building)
    zones = _zones_locked([compound, building])
    if source_ref:
        earlier = Positive.objects.filter(source=source, source_ref=source_ref).first()
        if earlier is not None:
            return earlier
    by = actor if getattr(actor, "pk", None) else None
    positive = Positive.objects.create(building=building, compound=compound, committee_id=_committee_id(compound),
                                       day=day, source=source, source_ref=source_ref, note=note.strip()[:200],
                                       entered_by=by)
    rules = rules_for(building)
    rule = rules.at(day) or rules.at(today)
    by_building = rule is not None and rule.seal_unit == SealUnit.BUILDING
    after = {}
    for zone, seals in ((zones[compound.pk], not by_building), (zones[building.pk], by_building)):
        if zone.level == Level.SEALED:
            _reset_clock(zone, day, positive=positive, rule=rule, by=by)
        elif seals or (zone.level == Level.CONTROLLED and zone.is_building):
            # Sealed by the rule, or a positive inside a controlled building: sealed again.
            zone = _enter(zone, "seal", day, positive=positive, rule=rule, by=by)
        elif zone.level == Level.CONTROLLED:
            # The building rule seals the building and keeps its compound controlled, its clock
            # from this day.
            _reset_clock(zone, day, positive=positive, rule=rule, by=by)
        elif not zone.is_building and rule is not None and rule.compound_on_building_seal == Level.CONTROLLED:
            zone = _enter(zone, "neighbour", day, positive=positive, rule=rule, by=by)
        after["building" if zone.is_building else "compound"] = zone.level
    audit(actor=by, action="zone_positive_record", obj=positive, committee_id=positive.committee_id,
          subject_label=f"{compound.name}{building.name}",
          detail={"day": str(day), "source": source, "rule": rule.pk if rule else None, **after})
    return positive


def precaution_floor(zone: Zone, rules_of, today: dt.date) -> dt.date | None:
    """The day a compound's zone may reach precaution at the earliest: not while a building of it
    is sealed (its projected day out of sealed). None for a building, or a compound without one."""
    if zone.is_building:
        return None
    inside = Zone.objects.filter(compound_id=zone.unit_id, level=Level.SEALED).exclude(unit_id=zone.unit_id)
    days = [clock.out_of_sealed(b.level, b.clock_start, rules_of(b.unit), today) for b in inside.select_related("unit")]
    return max((day for day in days if day is not None), default=None)


def _tested(zone: Zone):
    if zone.is_building:
        buildings = [zone.unit_id]
    else:
        buildings = list(OrgUnit.objects.filter(parent_id=zone.unit_id, kind=Kind.BUILDING)
                         .values_list("pk", flat=True))

    def tested(first: dt.date, last: dt.date) -> dt.date | None:
        found = zone_screening(buildings, first, last)
        return found.known_on if found.all_negative else None

    return tested


def _advance_one(zone: Zone, today: dt.date, rules_of) -> int:
    floor = precaution_floor(zone, rules_of, today)
    walked = clock.walk(zone.level, zone.clock_start, rules_of(zone.unit), today, tested=_tested(zone),
                        precaution_from=floor)
    for step in walked.steps:
        def step_down(locked: Zone, step=step):
            locked.clock_start = None if step.to_level == Level.PRECAUTION else step.day
            locked.held = ""
            setattr(locked, "_event", {"day": step.day, "rule": step.rule})  # noqa: B010
            return {"day": str(step.day), "rule": step.rule.pk}

        move(zone, "step_down", actor=None, to=step.to_level, change=step_down)
    held = ""
    if walked.held_test_day is not None and walked.clock_start is not None:
        held = _("第%(day)s天全员核酸结果未齐或有异常,暂缓转出") % {
            "day": (walked.held_test_day - walked.clock_start).days + 1}
    if held != zone.held:
        Zone.objects.filter(pk=zone.pk).update(held=held)
    return len(walked.steps)


def zones_advance(*, today: dt.date | None = None, within: OrgUnit | None = None) -> int:
    """Walk every sealed and controlled zone to today (the daily sweep, and a rule published for
    today): each step through the workflow, one transaction per zone. Returns the steps taken."""
    today = today or timezone.localdate()
    # Compounds first: a compound waits for its sealed buildings (precaution_floor), whose day out
    # of sealed is read from their state before this walk moves them.
    zones = Zone.objects.exclude(level=Level.PRECAUTION).select_related("unit").order_by("-unit__kind", "pk")
    if within is not None:
        zones = zones.filter(unit__path__startswith=within.path)
    steps = 0
    rules_of = rules_cache()
    for zone in zones:
        with transaction.atomic():
            locked = Zone.objects.select_for_update().select_related("unit").get(pk=zone.pk)
            if locked.level == Level.PRECAUTION:
                continue
            steps += _advance_one(locked, today, rules_of)
    return steps


def zone_draw(*, actor, zone: Zone, level: str, reason: str, today: dt.date | None = None) -> Zone:
    """The street draws a zone at a level by hand (a compound beside a sealed one, a correction),
    with a reason; its clock starts today."""
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if level not in Level.values:
        raise ValidationError({"level": _("请选择风险等级")})
    if not reason:
        raise ValidationError({"reason": _("请填写调整原因")})

    def set_clock(locked: Zone):
        if locked.level == level:
            raise ValidationError(_("该区域已是%(level)s") % {"level": Level(level).label})
        locked.clock_start = None if level == Level.PRECAUTION else today
        locked.held = ""
        setattr(locked, "_event", {"day": today})  # noqa: B010
        return {"clock_start": str(locked.clock_start)}

    return move(zone, "draw", actor=actor, to=level, change=set_clock, note=reason[:200], reason=reason[:200])


__all__ = [
    "positive_record", "published_rules", "rules_cache", "rules_for", "zone_draw", "zone_rule_change",
    "zone_rule_draft",
    "zone_rule_publish", "zones_advance", "zones_ensure",
]
