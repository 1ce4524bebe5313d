"""The zone's declared state table (core.workflow).

A positive seals a zone and its clock steps it down, both by the system on behalf of whoever
entered the positive or of the daily sweep (`system=True`; the service has checked the person,
and the event's detail names the positive). The street (or district) may also draw a zone at a
level by hand, with a reason.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers
from xiuhua.core.workflow import Action, Workflow

from .models import Level, RuleStatus, Zone, ZoneEvent, ZoneRule

L = Level


def writes_rules(membership, rule: ZoneRule) -> bool:
    """Rule writers of the rule's scope or above it."""
    return membership is not None and membership.has(Cap.MANAGE_ZONE_RULES) and covers(membership, rule.scope)


ZONE_RULE = Workflow(
    ZoneRule, name="zone_rule", field="status", states=RuleStatus, related=("scope",), label=str,
    committee=lambda _rule: None,
    actions={
        "publish": Action({RuleStatus.DRAFT}, RuleStatus.PUBLISHED, Cap.MANAGE_ZONE_RULES, guard=writes_rules,
                          label=_("发布")),
    },
)


def manages_zone(membership, zone: Zone) -> bool:
    """Zone managers of a street or district above the zone."""
    return (membership is not None and membership.has(Cap.MANAGE_ZONES)
            and membership.org_unit.kind in ("street", "district", "city") and covers(membership, zone.unit))


def _record(zone: Zone, action: str, before: str, after: str, actor, now, note: str) -> None:
    cause = {"seal": ZoneEvent.Cause.POSITIVE, "step_down": ZoneEvent.Cause.STEP_DOWN,
             "neighbour": ZoneEvent.Cause.NEIGHBOUR}.get(action, ZoneEvent.Cause.MANUAL)
    pending = getattr(zone, "_event", {})
    ZoneEvent.objects.create(zone=zone, day=pending.get("day") or zone.clock_start or now.date(),
                             from_level=before, to_level=after, clock_start=zone.clock_start, cause=cause,
                             rule=pending.get("rule"), positive=pending.get("positive"), note=note,
                             actor=actor if getattr(actor, "pk", None) else pending.get("by"))


def _refusal(zone: Zone, action: str) -> str:
    return _("%(zone)s 当前为“%(level)s”,不能%(action)s") % {
        "zone": zone.unit.name, "level": L(zone.level).label, "action": ZONE.actions[action].label}


ZONE = Workflow(
    Zone, name="zone", field="level", states=L, refusal=_refusal, related=("unit",), record=_record,
    label=lambda zone: zone.unit.name,
    actions={
        "seal": Action({L.CONTROLLED, L.PRECAUTION}, L.SEALED, system=True, label=_("因新增阳性划为封控区")),
        # A building of the compound was sealed: the rest of the compound is controlled.
        "neighbour": Action({L.PRECAUTION}, L.CONTROLLED, system=True, label=_("因同小区楼栋封控划为管控区")),
        "step_down": Action({L.SEALED, L.CONTROLLED}, L.CONTROLLED, system=True, alternatives={L.PRECAUTION},
                            label=_("满期转出")),
        "draw": Action({L.SEALED, L.CONTROLLED, L.PRECAUTION}, L.SEALED, Cap.MANAGE_ZONES, guard=manages_zone,
                       alternatives={L.CONTROLLED, L.PRECAUTION}, label=_("调整风险等级")),
    },
)
