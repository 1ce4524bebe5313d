"""Services of the round and its plan: the round, its compounds and pool rules, sites and lines,
the exemption and door-to-door list, the plan and what it sends out (notices, SMS).

Every write checks access itself (core.access; the round's managers are its scope's and above,
workflows.manages_round), runs in one transaction and files one audit event. A round that has
finished is history: nothing of it changes any more.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_unit, active_membership, require
from xiuhua.core.audit import audit
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit, natural_key
from xiuhua.residents.models import Household, LivingStatus, Relation, Resident
from xiuhua.sms.selectors import any_queued
from xiuhua.sms.services import BulkMessage, sms_send_many

from . import planner, texts
from .models import (
    Line,
    PoolRule,
    RoundCompound,
    RoundStatus,
    SamplingCode,
    ScreeningRound,
    ScreeningRule,
    Site,
)
from .models_plan import CallSlot, ExemptionReason, ScreeningExemption, ScreeningPlan
from .workflows import manages_round

RULE_FIELDS = ("line_rate_per_hour", "queue_min", "queue_max", "min_open_lines", "no_show_percent",
               "result_alert_hours")
MAX_ROUND_DAYS = 14
MAX_LINES_PER_SITE = 30
MAX_RATE = 2000


def rule_in_effect(day: dt.date) -> ScreeningRule:
    """The newest rule effective on `day`; the default rule when none was ever set."""
    rule = ScreeningRule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if rule is None:
        rule, _created = ScreeningRule.objects.get_or_create(effective_from=dt.date(2020, 1, 1))
    return rule


def _managed(actor, screening_round: ScreeningRound, *, editable: bool = True) -> ScreeningRound:
    """The round locked for this transaction, when the actor manages it; PermissionDenied
    otherwise. A finished round refuses every change."""
    membership = require(actor, Cap.MANAGE_SCREENING)
    locked = (ScreeningRound.objects.visible_to(actor).select_for_update(of=("self",))
              .select_related("scope").filter(pk=screening_round.pk).first())
    if locked is None or not manages_round(membership, locked):
        raise PermissionDenied
    if editable and locked.status == RoundStatus.FINISHED:
        raise ValidationError(_("轮次已结束,不能再修改"))
    return locked


def _under(unit: OrgUnit, scope: OrgUnit) -> bool:
    return unit.path.startswith(scope.path)


# ---------------------------------------------------------------- the round


@transaction.atomic
def screening_round_create(
    *,
    actor,
    scope: OrgUnit,
    name: str,
    first_day: dt.date,
    last_day: dt.date,
    day_starts: dt.time = dt.time(7, 0),
    day_ends: dt.time = dt.time(19, 0),
    compounds: list[OrgUnit] | None = None,
) -> ScreeningRound:
    """Open a round (in draft) over `compounds` of the scope, or all of them when None; its
    numbers are copied from the rule in force on the day it is created."""
    access_unit(actor, scope, Cap.MANAGE_SCREENING)
    if scope.kind not in (Kind.STREET, Kind.DISTRICT):
        raise ValidationError({"scope": _("筛查轮次由街道或区开设")})
    name = (name or "").strip()
    errors = _round_errors(name, first_day, last_day, day_starts, day_ends)
    if compounds is None:
        compounds = list(OrgUnit.objects.filter(kind=Kind.COMPOUND, path__startswith=scope.path))
    elif not compounds:
        errors["compounds"] = _("请至少选择一个小区")
    elif any(c.kind != Kind.COMPOUND or not _under(c, scope) for c in compounds):
        errors["compounds"] = _("所选小区不在本轮筛查范围内")
    if errors:
        raise ValidationError(errors)
    rule = rule_in_effect(first_day)
    numbers = {f: getattr(rule, f) for f in RULE_FIELDS}
    screening_round = ScreeningRound.objects.create(
        name=name, scope=scope, first_day=first_day, last_day=last_day, day_starts=day_starts, day_ends=day_ends,
        created_by=actor, **numbers,
    )
    RoundCompound.objects.bulk_create([
        RoundCompound(round=screening_round, compound=c, committee_id=c.parent_id,  # type: ignore[misc]
                      pool_rule=rule.default_pool_rule)
        for c in compounds
    ])
    audit(actor=actor, action="screening_round_create", obj=screening_round, subject_label=name,
          detail={"rule": str(rule.effective_from), "numbers": numbers, "compounds": len(compounds),
                  "days": [str(first_day), str(last_day)]})
    return screening_round


def _round_errors(name: str, first_day, last_day, day_starts, day_ends) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("请填写轮次名称")
    if not first_day or not last_day:
        errors["last_day"] = _("请填写采样日期")
    elif last_day < first_day:
        errors["last_day"] = _("采样末日不能早于首日")
    elif (last_day - first_day).days + 1 > MAX_ROUND_DAYS:
        errors["last_day"] = ngettext("一轮筛查最多 %(days)d 天", "一轮筛查最多 %(days)d 天", MAX_ROUND_DAYS) % {
            "days": MAX_ROUND_DAYS}
    if not day_starts or not day_ends or day_ends <= day_starts:
        errors["day_ends"] = _("每日结束时间须晚于开始时间")
    return errors


def _slot_key_prefix(screening_round: ScreeningRound) -> str:
    return f"screening-slot:{screening_round.pk}:"


def _drop_plan(actor, screening_round: ScreeningRound, why: str) -> bool:
    """Throw away a plan that no longer fits the round (its days, hours or compounds changed),
    unless its slots were already texted to households: then refuse, for people were told a time.
    Returns whether there was a plan."""
    if not ScreeningPlan.objects.filter(round=screening_round).exists():
        return False
    if any_queued(purpose=texts.SLOT_PURPOSE, key_prefix=_slot_key_prefix(screening_round)):
        raise ValidationError(_("已按现有排班给居民发送了时段短信,不能再改变;如需改期,请另开一轮筛查"))
    CallSlot.objects.filter(round=screening_round).delete()
    ScreeningPlan.objects.filter(round=screening_round).delete()
    audit(actor=actor, action="screening_plan_drop", obj=screening_round, subject_label=screening_round.name,
          detail={"why": why})
    return True


@transaction.atomic
def screening_round_change(*, actor, screening_round: ScreeningRound, name: str, first_day: dt.date,
                           last_day: dt.date, day_starts: dt.time, day_ends: dt.time) -> tuple[ScreeningRound, bool]:
    """Rename a round (until it is finished), or move its days and hours while it is 筹备中. A
    plan made for the old days is dropped (see _drop_plan). Returns the round and whether a plan
    was dropped."""
    locked = _managed(actor, screening_round)
    name = (name or "").strip()
    errors = _round_errors(name, first_day, last_day, day_starts, day_ends)
    if errors:
        raise ValidationError(errors)
    when = ("first_day", "last_day", "day_starts", "day_ends")
    new = {"name": name, "first_day": first_day, "last_day": last_day, "day_starts": day_starts,
           "day_ends": day_ends}
    changed = {field: [str(getattr(locked, field)), str(value)] for field, value in new.items()
               if getattr(locked, field) != value}
    if not changed:
        return locked, False
    moved = any(field in changed for field in when)
    if moved and locked.status != RoundStatus.DRAFT:
        raise ValidationError(_("轮次已开始采样,只能修改名称;日期和时间只能在筹备中修改"))
    dropped = moved and _drop_plan(actor, locked, "days")
    for field in changed:
        setattr(locked, field, new[field])
    locked.save(update_fields=list(changed))
    audit(actor=actor, action="screening_round_change", obj=locked, subject_label=locked.name, detail=changed)
    return locked, dropped


def screening_round_move(*, actor, screening_round: ScreeningRound, action: str) -> ScreeningRound:
    """Open, close, reopen or finish a round (workflows.SCREENING_ROUND)."""
    return move(screening_round, action, actor=actor)


# ---------------------------------------------------------------- compounds and pool rules


@transaction.atomic
def screening_compound_add(*, actor, screening_round: ScreeningRound, compound: OrgUnit,
                           pool_rule: str = "") -> RoundCompound:
    locked = _managed(actor, screening_round)
    if compound.kind != Kind.COMPOUND or not _under(compound, locked.scope):
        raise ValidationError({"compound": _("所选小区不在本轮筛查范围内")})
    pool_rule = pool_rule or rule_in_effect(locked.first_day).default_pool_rule
    if pool_rule not in PoolRule.values:
        raise ValidationError({"pool_rule": _("请选择混采规则")})
    if RoundCompound.objects.filter(round=locked, compound=compound).exists():
        raise ValidationError({"compound": _("该小区已在本轮筛查中")})
    row = RoundCompound.objects.create(round=locked, compound=compound, pool_rule=pool_rule)
    audit(actor=actor, action="screening_compound_add", obj=row, committee_id=row.committee_id,
          subject_label=f"{locked.name} · {compound.name}", detail={"pool_rule": pool_rule})
    return row


@transaction.atomic
def screening_compound_change(*, actor, round_compound: RoundCompound, pool_rule: str) -> RoundCompound:
    """Change a compound's pool rule (the zone module will set it per zone)."""
    locked = _managed(actor, round_compound.round)
    row = RoundCompound.objects.select_for_update().select_related("compound").get(pk=round_compound.pk,
                                                                                      round=locked)
    if pool_rule not in PoolRule.values:
        raise ValidationError({"pool_rule": _("请选择混采规则")})
    if row.pool_rule == pool_rule:
        return row
    old, row.pool_rule = row.pool_rule, pool_rule
    row.save(update_fields=["pool_rule"])
    audit(actor=actor, action="screening_compound_change", obj=row, committee_id=row.committee_id,
          subject_label=f"{locked.name} · {row.compound.name}", detail={"pool_rule": [old, pool_rule]})
    return row


@transaction.atomic
def screening_compound_remove(*, actor, round_compound: RoundCompound) -> bool:
    """Take a compound out of a round while it is 筹备中 and none of its people has a sampling
    code yet (codes are printed and handed out). A plan that called its buildings is dropped.
    Returns whether a plan was dropped."""
    locked = _managed(actor, round_compound.round)
    row = (RoundCompound.objects.select_for_update().select_related("compound")
           .filter(pk=round_compound.pk, round=locked).first())
    if row is None:
        raise ValidationError(_("该小区已不在本轮筛查中"))
    if locked.status != RoundStatus.DRAFT:
        raise ValidationError(_("轮次已开始采样,不能再移出小区"))
    if locked.compounds.count() == 1:
        raise ValidationError(_("一轮筛查至少要有一个小区"))
    if SamplingCode.objects.filter(round=locked, building__path__startswith=row.compound.path).exists():
        raise ValidationError(_("该小区已生成采样码,不能移出本轮筛查"))
    planned = CallSlot.objects.filter(round=locked, building__path__startswith=row.compound.path).exists()
    dropped = planned and _drop_plan(actor, locked, "compound")
    audit(actor=actor, action="screening_compound_remove", obj=row, committee_id=row.committee_id,
          subject_label=f"{locked.name} · {row.compound.name}", detail={"pool_rule": row.pool_rule})
    row.delete()
    return dropped


# ---------------------------------------------------------------- sites and lines


def _clean_rate(rate) -> int:
    try:
        rate = int(rate)
    except (TypeError, ValueError):
        raise ValidationError({"rate_per_hour": _("每小时采样人数须是整数")}) from None
    if not 1 <= rate <= MAX_RATE:
        raise ValidationError({"rate_per_hour": _("每小时采样人数须在 1 到 %(max)s 之间") % {"max": MAX_RATE}})
    return rate


@transaction.atomic
def screening_site_add(*, actor, screening_round: ScreeningRound, committee: OrgUnit, name: str,
                       address: str = "", line_count: int = 0, rate_per_hour: int | None = None) -> Site:
    """A site with `line_count` lines at `rate_per_hour` (the round's rate when not given)."""
    locked = _managed(actor, screening_round)
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("请填写采样点名称")
    elif Site.objects.filter(round=locked, name=name).exists():
        errors["name"] = _("本轮已有同名采样点")
    if committee is None or committee.kind != Kind.COMMITTEE or not _under(committee, locked.scope):
        errors["committee"] = _("所选居委会不在本轮筛查范围内")
    if not 0 <= int(line_count or 0) <= MAX_LINES_PER_SITE:
        errors["line_count"] = _("采样台数须在 0 到 %(max)s 之间") % {"max": MAX_LINES_PER_SITE}
    if errors:
        raise ValidationError(errors)
    rate = locked.line_rate_per_hour if rate_per_hour in (None, "") else _clean_rate(rate_per_hour)
    site = Site.objects.create(round=locked, committee=committee, name=name, address=(address or "").strip())
    Line.objects.bulk_create([Line(site=site, number=n, rate_per_hour=rate)
                              for n in range(1, int(line_count or 0) + 1)])
    audit(actor=actor, action="screening_site_add", obj=site, committee_id=committee.pk,
          subject_label=f"{locked.name} · {name}", detail={"lines": int(line_count or 0), "rate": rate})
    return site


@transaction.atomic
def screening_site_change(*, actor, site: Site, name: str | None = None, address: str | None = None,
                          active: bool | None = None) -> Site:
    """Rename, move or (de)activate a site; every change audited old -> new."""
    locked_round = _managed(actor, site.round)
    row = Site.objects.select_for_update().get(pk=site.pk, round=locked_round)
    values = {"name": row.name if name is None else name.strip(),
              "address": row.address if address is None else address.strip(),
              "active": row.active if active is None else bool(active)}
    if not values["name"]:
        raise ValidationError({"name": _("请填写采样点名称")})
    if values["name"] != row.name and Site.objects.filter(round=locked_round, name=values["name"]).exists():
        raise ValidationError({"name": _("本轮已有同名采样点")})
    diff = {f: [getattr(row, f), v] for f, v in values.items() if getattr(row, f) != v}
    if not diff:
        return row
    for f in diff:
        setattr(row, f, values[f])
    row.save(update_fields=list(diff))
    audit(actor=actor, action="screening_site_change", obj=row, committee_id=row.committee_id,
          subject_label=f"{locked_round.name} · {row.name}", detail={"changes": diff})
    return row


@transaction.atomic
def screening_line_add(*, actor, site: Site, rate_per_hour: int | None = None) -> Line:
    """The site's next line, at the round's rate unless given."""
    locked_round = _managed(actor, site.round)
    row = Site.objects.select_for_update().get(pk=site.pk, round=locked_round)
    number = (row.lines.aggregate(top=Max("number"))["top"] or 0) + 1
    if number > MAX_LINES_PER_SITE:
        most = ngettext("一个采样点最多 %(max)d 个采样台", "一个采样点最多 %(max)d 个采样台", MAX_LINES_PER_SITE)
        raise ValidationError({"rate_per_hour": most % {"max": MAX_LINES_PER_SITE}})
    rate = locked_round.line_rate_per_hour if rate_per_hour in (None, "") else _clean_rate(rate_per_hour)
    line = Line.objects.create(site=row, number=number, rate_per_hour=rate)
    audit(actor=actor, action="screening_line_add", obj=line, committee_id=row.committee_id,
          subject_label=f"{locked_round.name} · {line}", detail={"rate": rate})
    return line


@transaction.atomic
def screening_line_change(*, actor, line: Line, rate_per_hour: int | None = None,
                          active: bool | None = None) -> Line:
    locked_round = _managed(actor, line.site.round)
    row = Line.objects.select_for_update().select_related("site").get(pk=line.pk, site__round=locked_round)
    values = {"rate_per_hour": row.rate_per_hour if rate_per_hour in (None, "") else _clean_rate(rate_per_hour),
              "active": row.active if active is None else bool(active)}
    diff = {f: [getattr(row, f), v] for f, v in values.items() if getattr(row, f) != v}
    if not diff:
        return row
    for f in diff:
        setattr(row, f, values[f])
    row.save(update_fields=list(diff))
    audit(actor=actor, action="screening_line_change", obj=row, committee_id=row.site.committee_id,
          subject_label=f"{locked_round.name} · {row}", detail={"changes": diff})
    return row


# ---------------------------------------------------------------- exemptions and door-to-door


def _exemption_actor(actor, screening_round: ScreeningRound):
    """Committees (who know who is bedridden) and the round's managers keep the list."""
    membership = active_membership(actor)
    if membership is None or not (membership.has(Cap.MANAGE_SCREENING) or membership.has(Cap.ISSUE_CODES)):
        raise PermissionDenied
    if not ScreeningRound.objects.visible_to(actor).filter(pk=screening_round.pk).exists():
        raise PermissionDenied
    return membership


@transaction.atomic
def screening_exemption_add(*, actor, screening_round: ScreeningRound, resident: Resident, reason: str,
                            door_to_door: bool = True, note: str = "") -> ScreeningExemption:
    """Put a resident who cannot come to a site on the round's list (sampled at home when
    door_to_door)."""
    _exemption_actor(actor, screening_round)
    # The resident as the actor may see them: one refusal for missing and not-yours.
    visible = Resident.objects.visible_to(actor).select_related("household").filter(pk=resident.pk).first()
    if visible is None:
        raise PermissionDenied
    locked = ScreeningRound.objects.select_for_update().get(pk=screening_round.pk)
    if locked.status == RoundStatus.FINISHED:
        raise ValidationError(_("轮次已结束,不能再修改"))
    if reason not in ExemptionReason.values:
        raise ValidationError({"reason": _("请选择原因")})
    note = (note or "").strip()
    if reason == ExemptionReason.OTHER and not note:
        raise ValidationError({"note": _("原因为“其他”时请填写备注")})
    if not RoundCompound.objects.filter(round=locked, compound_id=visible.household.compound_id).exists():
        raise ValidationError({"resident": _("该居民所在小区不在本轮筛查范围内")})
    if ScreeningExemption.objects.filter(round=locked, resident=visible).exists():
        raise ValidationError({"resident": _("该居民已在本轮的名单中")})
    try:
        with transaction.atomic():
            row = ScreeningExemption.objects.create(
                round=locked, resident=visible, committee_id=visible.committee_id,
                building_id=visible.household.building_id, reason=reason, door_to_door=bool(door_to_door),
                note=note[:200], created_by=actor,
            )
    except IntegrityError:
        raise ValidationError({"resident": _("该居民已在本轮的名单中")}) from None
    audit(actor=actor, action="screening_exemption_add", obj=row, committee_id=row.committee_id,
          subject_label=locked.name, detail={"resident": visible.pk, "reason": reason,
                                             "door_to_door": bool(door_to_door)})
    return row


@transaction.atomic
def screening_exemption_remove(*, actor, exemption: ScreeningExemption) -> None:
    _exemption_actor(actor, exemption.round)
    row = (ScreeningExemption.objects.visible_to(actor).select_for_update(of=("self",)).select_related("round")
           .filter(pk=exemption.pk).first())
    if row is None:
        raise PermissionDenied
    if row.round.status == RoundStatus.FINISHED:
        raise ValidationError(_("轮次已结束,不能再修改"))
    audit(actor=actor, action="screening_exemption_remove", obj=row, committee_id=row.committee_id,
          subject_label=row.round.name, detail={"resident": row.resident_id, "reason": row.reason})
    row.delete()


# ---------------------------------------------------------------- the plan


def plan_inputs(screening_round: ScreeningRound) -> tuple[list[planner.BuildingIn], list[planner.SiteIn],
                                                           planner.Settings]:
    """The planner's view of a round: buildings with the roster residents living there (less the
    exempt), its active sites with their active lines, and its numbers."""
    compounds = list(RoundCompound.objects.filter(round=screening_round).values_list("compound_id", flat=True))
    buildings = list(OrgUnit.objects.filter(kind=Kind.BUILDING, parent_id__in=compounds)
                     .values_list("pk", "parent_id", "parent__parent_id", "sort_key"))
    counts = dict(Resident.objects.filter(household__compound_id__in=compounds, living_status=LivingStatus.HERE)
                  .values_list("household__building_id").annotate(n=Count("pk"))
                  .values_list("household__building_id", "n"))
    exempt = dict(ScreeningExemption.objects.filter(round=screening_round).values_list("building_id")
                  .annotate(n=Count("pk")).values_list("building_id", "n"))
    building_rows = [
        planner.BuildingIn(id=pk, committee_id=committee_id, compound_id=compound_id, sort_key=sort_key,
                           people=max(0, counts.get(pk, 0) - exempt.get(pk, 0)))
        for pk, compound_id, committee_id, sort_key in buildings
    ]
    rates: dict[int, list[tuple[int, int]]] = {}
    for site_id, number, rate in (Line.objects.filter(site__round=screening_round, site__active=True, active=True)
                                  .order_by("site_id", "number").values_list("site_id", "number", "rate_per_hour")):
        rates.setdefault(site_id, []).append((number, rate))
    site_rows = [
        planner.SiteIn(id=pk, committee_id=committee_id, sort_key=natural_key(name),
                       line_rates=tuple(rates.get(pk, ())))
        for pk, committee_id, name in Site.objects.filter(round=screening_round, active=True)
        .values_list("pk", "committee_id", "name")
    ]
    day_starts, day_ends = screening_round.day_starts, screening_round.day_ends
    if isinstance(day_starts, str):  # a round made in memory with the defaults, not yet read back
        day_starts, day_ends = dt.time.fromisoformat(day_starts), dt.time.fromisoformat(str(day_ends))
    plan_settings = planner.Settings(
        days=(screening_round.last_day - screening_round.first_day).days + 1,
        day_start_minute=day_starts.hour * 60 + day_starts.minute, day_end_minute=day_ends.hour * 60 + day_ends.minute,
        queue_min=screening_round.queue_min, queue_max=screening_round.queue_max,
        min_open_lines=screening_round.min_open_lines, no_show_percent=screening_round.no_show_percent,
    )
    return building_rows, site_rows, plan_settings


def _at(day: dt.date, minute: int) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return local.replace(tzinfo=ZoneInfo(settings.TIME_ZONE)).astimezone(dt.UTC)


@transaction.atomic
def screening_plan_make(*, actor, screening_round: ScreeningRound, phase_order: str = "",
                        seed: int = 1) -> ScreeningPlan:
    """Plan the round (planner.make_plan), simulate it and replace its call slots and its plan."""
    locked = _managed(actor, screening_round)
    if locked.status == RoundStatus.CLOSED:
        raise ValidationError(_("采样已结束,不能重新排班"))
    try:
        order = planner.parse_phase_order(phase_order)
    except planner.PlanError:
        raise ValidationError({"phase_order": _("分组呼叫顺序应由 1 到 n 的数字各出现一次组成,例如 4-2-3-1")}) from None
    started = time.perf_counter()
    buildings, sites, plan_settings = plan_inputs(locked)
    if not any(s.line_rates for s in sites):
        raise ValidationError(_("请先新增采样点并为其添加采样台"))
    if not any(b.people for b in buildings):
        raise ValidationError(_("本轮筛查范围内的楼栋还没有在住居民,请先导入花名册"))
    result = planner.make_plan(buildings, sites, plan_settings, order)
    simulation = planner.simulate(result, plan_settings, seed=seed)
    committee_of = {b.id: b.committee_id for b in buildings}
    CallSlot.objects.filter(round=locked).delete()
    days = [locked.first_day + dt.timedelta(days=n) for n in range(plan_settings.days)]
    CallSlot.objects.bulk_create([
        CallSlot(round=locked, site_id=s.site_id, building_id=s.building_id, committee_id=committee_of[s.building_id],
                 day=days[s.day], starts_at=_at(days[s.day], s.start), ends_at=_at(days[s.day], s.end),
                 people=s.people, expected=s.expected, phase=s.phase, batch=s.batch, position=s.position)
        for s in result.slots
    ], batch_size=1000)
    series = {
        f"{site_id}:{day}": {"start": simulation.series_start[(site_id, day)], "step": planner.SERIES_STEP_MINUTES,
                             "day": str(locked.first_day + dt.timedelta(days=day)),
                             "open": result.opens[(site_id, day)],
                             "lines": {str(n): q for n, q in lines.items()}}
        for (site_id, day), lines in simulation.series.items()
    }
    people = sum(s.people for s in result.slots)
    plan, _created = ScreeningPlan.objects.update_or_create(round=locked, defaults={
        "phase_order": "-".join(str(p) for p in order), "seed": seed, "made_by": actor, "people": people,
        "in_bounds": round(simulation.in_bounds, 4), "max_queue": simulation.max_queue, "series": series,
        "warnings": result.warnings, "unplanned": result.unplanned,
    })
    audit(actor=actor, action="screening_plan_make", obj=plan, subject_label=locked.name, detail={
        "phase_order": plan.phase_order, "slots": len(result.slots), "people": people,
        "in_bounds": plan.in_bounds, "max_queue": plan.max_queue, "unplanned": len(result.unplanned),
        "seconds": round(time.perf_counter() - started, 3),
    })
    return plan


# ---------------------------------------------------------------- what the plan sends out


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE))


def slot_params(slot: CallSlot) -> dict[str, str]:
    """What a notice, a loudspeaker call and a text say about a slot."""
    start, end = _local(slot.starts_at), _local(slot.ends_at)
    compound = slot.building.parent.name if slot.building.parent else ""
    return {"building": f"{compound}{slot.building.name}", "day": f"{start.month}月{start.day}日",
            "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "site": slot.site.name}


SLOT_TEXT_LEAD = dt.timedelta(hours=1)


@transaction.atomic
def screening_plan_sms(*, actor, screening_round: ScreeningRound) -> int:
    """Queue one text per household with its building's slot, each sent SLOT_TEXT_LEAD before its
    slot (at once when that is past): buildings hear in the order they are called, not all at
    once, so nobody comes early and crowds the site.
    A household is texted at its head's mobile, else at the first mobile of its residents; one
    without a mobile is told by the notice and the loudspeaker. Resending the same plan queues
    nothing twice (one key per slot and household). Returns how many texts were queued."""
    locked = _managed(actor, screening_round)
    if locked.status in (RoundStatus.CLOSED, RoundStatus.FINISHED):
        raise ValidationError(_("采样已结束,不再发送时段短信"))
    slots = list(CallSlot.objects.filter(round=locked).select_related("site", "building__parent")
                 .order_by("starts_at", "site_id", "position"))
    if not slots:
        raise ValidationError(_("请先生成排班"))
    buildings = [slot.building_id for slot in slots]
    households: dict[int, list[int]] = {}
    for hid, building_id in Household.objects.filter(building_id__in=buildings).order_by("room_sort", "pk") \
            .values_list("pk", "building_id"):
        households.setdefault(building_id, []).append(hid)
    phones: dict[int, str] = {}
    rows = (Resident.objects.filter(household__building_id__in=buildings, living_status=LivingStatus.HERE)
            .exclude(mobile="").order_by("pk").values_list("household_id", "mobile", "relation"))
    heads: set[int] = set()
    for hid, mobile, relation in rows:
        if relation == Relation.HEAD and hid not in heads:
            phones[hid] = mobile
            heads.add(hid)
        elif hid not in phones:
            phones[hid] = mobile
    messages = []
    for slot in slots:
        params = slot_params(slot)
        stamp = f"{_local(slot.starts_at):%Y%m%d%H%M}"
        for hid in households.get(slot.building_id, []):
            if hid in phones:
                messages.append(BulkMessage(to=phones[hid], params=params, committee_id=slot.committee_id,
                                            idempotency_key=f"{_slot_key_prefix(locked)}{hid}:{slot.site_id}:{stamp}",
                                            send_at=slot.starts_at - SLOT_TEXT_LEAD))
    queued = sms_send_many(template=texts.SLOT.code, purpose=texts.SLOT_PURPOSE, messages=messages)
    audit(actor=actor, action="screening_plan_sms", obj=locked, subject_label=locked.name,
          detail={"queued": queued, "households": sum(len(v) for v in households.values()),
                  "without_mobile": sum(len(v) for v in households.values()) - len(messages)})
    return queued


__all__ = [
    "plan_inputs", "rule_in_effect", "screening_compound_add", "screening_compound_change",
    "screening_compound_remove", "screening_exemption_add", "screening_exemption_remove", "screening_line_add",
    "screening_line_change", "screening_plan_make", "screening_plan_sms", "screening_round_change",
    "screening_round_create", "screening_round_move", "screening_site_add", "screening_site_change", "slot_params",
]
