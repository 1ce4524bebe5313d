"""Risk zones (三区) and the rules that run their clocks.

A zone is a compound or a building in one of three levels: sealed (封控区), controlled (管控区)
or precaution (防范区, the ordinary state: a compound without a zone row is in precaution). Its
clock starts on the day of the positive that put it there (day 1), or on the day it stepped down
into its level. The rule in force on a day (the latest published `ZoneRule` of the zone's district
or street effective on or before that day) says after how many days a level steps down, into what,
and on which day everyone must test negative first. A new positive seals the zone again and starts
its clock anew. Rules are data with versions because they changed several times in 2022.

`Zone.level` is governed by the ZONE workflow (`workflows.py`); every change and every clock reset
also writes a `ZoneEvent`, which is the zone's history on its pages.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Kind, OrgUnit


class Level(models.TextChoices):
    SEALED = "sealed", _("封控区")
    CONTROLLED = "controlled", _("管控区")
    PRECAUTION = "precaution", _("防范区")


LEVEL_RANK = {Level.PRECAUTION: 0, Level.CONTROLLED: 1, Level.SEALED: 2}


class SealUnit(models.TextChoices):
    COMPOUND = "compound", _("整个小区")
    BUILDING = "building", _("阳性所在楼栋")


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class ZoneRule(models.Model):
    """One version of the zone rules for a district or a street, in force from `effective_from`
    until a later published version of the same scope or a narrower one takes over."""

    scope = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("适用范围"))
    name = models.CharField(_("规则名称"), max_length=100)
    effective_from = models.DateField(_("生效日期"))
    explanation = models.TextField(_("给居民的说明"), help_text=_("显示在小区公示页上,请用通俗的话说明"))
    seal_unit = models.CharField(_("出现阳性时封控"), max_length=16, choices=SealUnit.choices,
                                 default=SealUnit.COMPOUND)
    # When a building is sealed, the rest of its compound (an empty choice leaves it as it is).
    compound_on_building_seal = models.CharField(
        _("楼栋封控时小区其余部分"), max_length=16, blank=True, default=Level.CONTROLLED,
        choices=[(Level.CONTROLLED, Level.CONTROLLED.label), (Level.PRECAUTION, Level.PRECAUTION.label)])
    sealed_days = models.PositiveSmallIntegerField(_("封控区无新增阳性满多少天后转出"))
    sealed_to = models.CharField(_("封控区转为"), max_length=16,
                                 choices=[(Level.CONTROLLED, Level.CONTROLLED.label),
                                          (Level.PRECAUTION, Level.PRECAUTION.label)])
    sealed_test_day = models.PositiveSmallIntegerField(_("封控区须全员核酸阴性的日子(第几天)"), null=True, blank=True)
    controlled_days = models.PositiveSmallIntegerField(_("管控区无新增阳性满多少天后转为防范区"))
    controlled_test_day = models.PositiveSmallIntegerField(_("管控区须全员核酸阴性的日子(第几天)"), null=True,
                                                           blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("风险区域规则")
        verbose_name_plural = _("风险区域规则")
        ordering = ["-effective_from", "-pk"]

    def __str__(self) -> str:
        return f"{self.name}({self.effective_from:%Y-%m-%d})"

    def days_in(self, level: str) -> int | None:
        """How many days without a positive a level lasts; None for precaution (it stays)."""
        if level == Level.SEALED:
            return self.sealed_days
        if level == Level.CONTROLLED:
            return self.controlled_days
        return None

    def next_level(self, level: str) -> str | None:
        if level == Level.SEALED:
            return self.sealed_to
        if level == Level.CONTROLLED:
            return Level.PRECAUTION
        return None

    def test_day(self, level: str) -> int | None:
        if level == Level.SEALED:
            return self.sealed_test_day
        if level == Level.CONTROLLED:
            return self.controlled_test_day
        return None


def _public_token() -> str:
    return secrets.token_urlsafe(9)


class ZoneQuerySet(models.QuerySet):
    def visible_to(self, user) -> ZoneQuerySet:
        """Zones are not personal: a member sees those of their unit, or of their committee when
        they work below it (a building lead, a grid worker)."""
        membership = active_membership(user)
        if membership is None or not membership.has("view_zones"):
            return self.none()
        unit = membership.org_unit
        if unit.kind in (Kind.COMPOUND, Kind.BUILDING):
            return self.filter(committee_id=unit.committee_id)
        return self.filter(unit__path__startswith=unit.path)


class Zone(models.Model):
    """A compound's or a building's zone, created the first time it is needed."""

    unit = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="zone", verbose_name=_("区域"))
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("风险等级"), max_length=16, choices=Level.choices, default=Level.PRECAUTION)
    clock_start = models.DateField(_("计时起点(第1天)"), null=True, blank=True)
    last_positive_day = models.DateField(_("最近阳性日期"), null=True, blank=True)
    # Why a zone past its day has not stepped down (the test day's results are missing).
    held = models.CharField(_("暂缓转出原因"), max_length=200, blank=True)
    public_token = models.CharField(max_length=24, unique=True, default=_public_token, editable=False)
    changed_at = models.DateTimeField(auto_now=True)

    objects = ZoneQuerySet.as_manager()

    class Meta:
        verbose_name = _("风险区域")
        verbose_name_plural = _("风险区域")
        indexes = [models.Index(fields=["level"], name="zones_zone_level")]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_level_display()}"

    @property
    def is_building(self) -> bool:
        return self.unit_id != self.compound_id

    def day_of_clock(self, today: dt.date) -> int | None:
        """Day N of the clock (the clock's first day is day 1)."""
        if self.clock_start is None or self.level == Level.PRECAUTION:
            return None
        return (today - self.clock_start).days + 1


class PositiveSource(models.TextChoices):
    SCREENING = "screening", _("核酸单管复核阳性")
    ANTIGEN = "antigen", _("抗原阳性经核实")
    STREET = "street", _("街道录入")


class PositiveQuerySet(models.QuerySet):
    def visible_to(self, user) -> PositiveQuerySet:
        zones = Zone.objects.visible_to(user)
        return self.filter(compound__in=zones.filter(unit=models.F("compound")).values("unit"))


class Positive(models.Model):
    """A positive that counts for zones: a building and a day, never a person (the case itself
    lives in the module that found it; `source_ref` names it there)."""

    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("楼栋"))
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("阳性日期"))
    source = models.CharField(_("来源"), max_length=16, choices=PositiveSource.choices)
    source_ref = models.CharField(max_length=64, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                   blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PositiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("阳性记录")
        verbose_name_plural = _("阳性记录")
        constraints = [models.UniqueConstraint(fields=["source", "source_ref"], condition=~models.Q(source_ref=""),
                                               name="zones_positive_once_per_source")]
        indexes = [models.Index(fields=["compound", "day"], name="zones_positive_compound_day")]

    def __str__(self) -> str:
        return f"{self.building} · {self.day:%Y-%m-%d}"


class ZoneEvent(models.Model):
    """One line of a zone's history: a change of level, or its clock started anew."""

    class Cause(models.TextChoices):
        POSITIVE = "positive", _("新增阳性")
        STEP_DOWN = "step_down", _("无新增阳性满期转出")
        MANUAL = "manual", _("街道调整")
        RESET = "reset", _("新增阳性,重新计时")
        NEIGHBOUR = "neighbour", _("同小区楼栋封控")

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="events")
    day = models.DateField(_("日期"))
    from_level = models.CharField(_("原等级"), max_length=16, choices=Level.choices)
    to_level = models.CharField(_("新等级"), max_length=16, choices=Level.choices)
    clock_start = models.DateField(_("计时起点"), null=True, blank=True)
    cause = models.CharField(_("原因"), max_length=16, choices=Cause.choices)
    rule = models.ForeignKey(ZoneRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    positive = models.ForeignKey(Positive, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("风险区域变更")
        verbose_name_plural = _("风险区域变更")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.from_level}→{self.to_level} {self.day:%Y-%m-%d}"
