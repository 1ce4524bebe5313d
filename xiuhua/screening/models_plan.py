"""The round's plan: who cannot come (the exemption and door-to-door list), and the call slots the
planner gave each building, with the simulated queue of the last plan made.

A plan is replaced as a whole (screening_plan_make): staff adjust sites, lines or the phase
order and plan again; the slots and the simulation always belong to the same plan.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit

from .models import ScreeningRound, Site


class ExemptionReason(models.TextChoices):
    BEDRIDDEN = "bedridden", _("长期卧床")
    DISABLED = "disabled", _("残疾或行动不便")
    QUARANTINED = "quarantined", _("居家隔离")
    OTHER = "other", _("其他")


class ScreeningExemptionQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"
    scope_building = "building"


class ScreeningExemption(models.Model):
    """A resident who does not come to a site this round: sampled at home by a mobile team
    (door_to_door) or exempted (in hospital, away), with the reason. The planner leaves them out
    of the building's expected people."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="exemptions")
    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("居民"))
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    reason = models.CharField(_("原因"), max_length=16, choices=ExemptionReason.choices)
    door_to_door = models.BooleanField(_("上门采样"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScreeningExemptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("免于到点采样人员")
        verbose_name_plural = _("免于到点采样人员")
        constraints = [models.UniqueConstraint(fields=["round", "resident"], name="screening_exemption_once")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.resident_id}"


class CallSlotQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"
    scope_building = "building"


class CallSlot(models.Model):
    """When a building's residents are called to a site: people arrive from starts_at to ends_at."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="call_slots")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="call_slots", verbose_name=_("采样点"))
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("楼栋"))
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    day = models.DateField(_("日期"))
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    people = models.PositiveIntegerField(_("应检人数"))
    expected = models.PositiveIntegerField(_("预计到场人数"))
    phase = models.PositiveSmallIntegerField(_("批次分组"), default=1)
    # The loudspeaker call a slot belongs to: buildings of a site called together.
    batch = models.PositiveSmallIntegerField(_("呼叫批次"), default=1)
    position = models.PositiveIntegerField(_("顺序"), default=0)

    objects = CallSlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("楼栋采样时段")
        verbose_name_plural = _("楼栋采样时段")
        ordering = ["site", "day", "position"]
        constraints = [models.UniqueConstraint(fields=["round", "building"], name="screening_slot_once_per_building")]

    def __str__(self) -> str:
        return f"{self.building_id}@{self.starts_at:%Y-%m-%d %H:%M}"


class ScreeningPlan(models.Model):
    """The last plan made for a round: its inputs and its simulated queues (for the chart)."""

    round = models.OneToOneField(ScreeningRound, on_delete=models.CASCADE, related_name="plan")
    phase_order = models.CharField(_("分组呼叫顺序"), max_length=60, blank=True)
    seed = models.PositiveIntegerField(default=1)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(auto_now=True)
    people = models.PositiveIntegerField(default=0)
    in_bounds = models.FloatField(_("排队人数在范围内的时间占比"), default=0)
    max_queue = models.PositiveIntegerField(_("最长排队人数"), default=0)
    # {"<site id>": {"start": minute, "step": minutes, "lines": {"<number>": [queue, ...]}}} per day
    series = models.JSONField(default=dict)
    warnings = models.JSONField(default=list)
    unplanned = models.JSONField(default=list)  # building ids that did not fit the round's days

    class Meta:
        verbose_name = _("筛查排班")
        verbose_name_plural = _("筛查排班")

    def __str__(self) -> str:
        return f"{self.round_id}"


__all__ = ["CallSlot", "ExemptionReason", "ScreeningExemption", "ScreeningPlan"]
