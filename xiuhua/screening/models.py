"""Mass screening rounds (网格化核酸筛查): the round and its places, sites and lines, sampling
codes, tubes and their members, transport boxes, and the station batches that carried the scans.

A round is opened by a street (or a district) for some of its compounds, each with its pool rule.
Its numbers (a line's rate, the queue bounds, the minimum of open lines, the no-show share, the
hours after which a missing result is an alert) are copied from the ScreeningRule in force on the
day it is created, so a later change of the rule does not change a round under way.

A sampling code (采样码) is one person's in one round: a random reference with a check character
that carries nothing personal, so a photo of it leaks nothing; the station shows the masked name
and building to confirm the person. Codes of roster residents point at the resident; a person not
on the roster (a visitor, a new tenant) registered at the desk or the station has a code with a
name and phone of their own.

Exactly once: one code per resident and round, one place in a screening tube per code and round,
one tube per barcode, one box per barcode, one station batch per idempotency key: all unique
constraints, so a replayed batch or two stations scanning the same person cannot double anything.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit


class PoolRule(models.TextChoices):
    TEN = "10", _("10 人 1 管")
    FIVE = "5", _("5 人 1 管")
    SINGLE = "1", _("单人单管")
    HOUSEHOLD = "household", _("一户一管")


# People per tube under each rule; a household tube takes one household, whatever its size, up to
# this many people.
POOL_CAPACITY = {PoolRule.TEN: 10, PoolRule.FIVE: 5, PoolRule.SINGLE: 1, PoolRule.HOUSEHOLD: 10}


class ScreeningRule(models.Model):
    """The numbers a round starts with; the newest rule in effect on the day a round is created
    applies (rules with history: edited in the admin by the district, never in code)."""

    effective_from = models.DateField(_("生效日期"), unique=True)
    line_rate_per_hour = models.PositiveSmallIntegerField(_("每个采样台每小时采样人数"), default=200)
    queue_min = models.PositiveSmallIntegerField(_("排队人数下限"), default=30)
    queue_max = models.PositiveSmallIntegerField(_("排队人数上限"), default=80)
    min_open_lines = models.PositiveSmallIntegerField(_("至少同时开放采样台数"), default=3)
    no_show_percent = models.PositiveSmallIntegerField(_("预计未到比例(%)"), default=10)
    result_alert_hours = models.PositiveSmallIntegerField(_("采样后多少小时无结果即预警"), default=24)
    default_pool_rule = models.CharField(
        _("默认混采规则"), max_length=16, choices=PoolRule.choices, default=PoolRule.TEN
    )

    class Meta:
        verbose_name = _("筛查规则")
        verbose_name_plural = _("筛查规则")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(queue_max__gt=models.F("queue_min")),
                                   name="screening_rule_queue_bounds"),
            models.CheckConstraint(condition=Q(line_rate_per_hour__gte=1), name="screening_rule_rate_positive"),
            models.CheckConstraint(condition=Q(no_show_percent__lte=100), name="screening_rule_no_show_share"),
        ]

    def __str__(self) -> str:
        return f"{self.effective_from}"


class RoundStatus(models.TextChoices):
    DRAFT = "draft", _("筹备中")
    OPEN = "open", _("采样中")
    CLOSED = "closed", _("采样结束")
    FINISHED = "finished", _("已结束")


class ScreeningRoundQuerySet(models.QuerySet):
    def visible_to(self, user) -> ScreeningRoundQuerySet:
        """Rounds whose scope holds the member's unit, or lies within it."""
        from xiuhua.core.scoping import active_membership

        membership = active_membership(user)
        # A round holds no person: a lab that records its results sees it too.
        if membership is None or not (membership.has("view_screening") or membership.has("record_results")):
            return self.none()
        unit = membership.org_unit
        ancestors = [unit.path[:i] for i in range(1, len(unit.path) + 1) if unit.path[i - 1] == "/"]
        return self.filter(Q(scope__path__startswith=unit.path) | Q(scope__path__in=ancestors))


class ScreeningRound(models.Model):
    name = models.CharField(_("轮次名称"), max_length=100)
    scope = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    first_day = models.DateField(_("采样首日"))
    last_day = models.DateField(_("采样末日"))
    day_starts = models.TimeField(_("每日开始时间"), default="07:00")
    day_ends = models.TimeField(_("每日结束时间"), default="19:00")
    status = models.CharField(_("状态"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.DRAFT)
    # Copied from the ScreeningRule in force when the round was created (see the module's note).
    line_rate_per_hour = models.PositiveSmallIntegerField(_("每个采样台每小时采样人数"), default=200)
    queue_min = models.PositiveSmallIntegerField(_("排队人数下限"), default=30)
    queue_max = models.PositiveSmallIntegerField(_("排队人数上限"), default=80)
    min_open_lines = models.PositiveSmallIntegerField(_("至少同时开放采样台数"), default=3)
    no_show_percent = models.PositiveSmallIntegerField(_("预计未到比例(%)"), default=10)
    result_alert_hours = models.PositiveSmallIntegerField(_("采样后多少小时无结果即预警"), default=24)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScreeningRoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("筛查轮次")
        verbose_name_plural = _("筛查轮次")
        ordering = ["-first_day", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="screening_round_days"),
            models.CheckConstraint(condition=Q(day_ends__gt=models.F("day_starts")), name="screening_round_hours"),
        ]

    def __str__(self) -> str:
        return self.name


class RoundCompoundQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"


class RoundCompound(models.Model):
    """A compound the round screens, with its pool rule (the zone module will set it per zone)."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="compounds")
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+",
                                 limit_choices_to={"kind": "compound"}, verbose_name=_("小区"))
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    pool_rule = models.CharField(_("混采规则"), max_length=16, choices=PoolRule.choices, default=PoolRule.TEN)

    objects = RoundCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("筛查小区")
        verbose_name_plural = _("筛查小区")
        constraints = [models.UniqueConstraint(fields=["round", "compound"], name="screening_round_compound_once")]

    def save(self, *args, **kwargs):
        self.committee_id = self.compound.parent_id
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.compound} {self.get_pool_rule_display()}"


class SiteQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"


class Site(models.Model):
    """A sampling site (采样点) of a round, in a committee's area."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="sites")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+",
                                  limit_choices_to={"kind": "committee"}, verbose_name=_("所在居委会"))
    name = models.CharField(_("采样点名称"), max_length=100)
    address = models.CharField(_("位置"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        verbose_name = _("采样点")
        verbose_name_plural = _("采样点")
        constraints = [models.UniqueConstraint(fields=["round", "name"], name="screening_site_name_once")]

    def __str__(self) -> str:
        return self.name


class Line(models.Model):
    """A sampling line (采样台) of a site, with its rate."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveSmallIntegerField(_("采样台号"))
    rate_per_hour = models.PositiveSmallIntegerField(_("每小时采样人数"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("采样台")
        verbose_name_plural = _("采样台")
        ordering = ["site", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="screening_line_number_once"),
            models.CheckConstraint(condition=Q(rate_per_hour__gte=1), name="screening_line_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.site.name} {self.number}号台"


class SamplingCodeQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"
    scope_building = "building"
    scope_household = None


class SamplingCode(models.Model):
    """One person's code in one round (see the module's note): `reference` is what the QR holds."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="codes")
    reference = models.CharField(_("采样码"), max_length=16, unique=True)
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    household = models.ForeignKey("residents.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    # What the station shows to confirm the person: masked name, building and room.
    name_masked = models.CharField(_("姓名"), max_length=50)
    room = models.CharField(_("室号"), max_length=20, blank=True)
    # The phone that gets this person's texts: their own, or their household's for a relative
    # without one. Empty when neither has a mobile.
    phone = models.CharField(_("联系手机"), max_length=20, blank=True)
    # A person not on the roster, registered at the desk or the station: full name kept for the
    # lab report and the retest (minimum collected: no identity number).
    walk_in = models.BooleanField(_("非花名册人员"), default=False)
    walk_in_name = models.CharField(_("姓名(非花名册)"), max_length=50, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SamplingCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("采样码")
        verbose_name_plural = _("采样码")
        constraints = [
            models.UniqueConstraint(fields=["round", "resident"], condition=Q(resident__isnull=False),
                                    name="screening_code_once_per_resident"),
            models.CheckConstraint(condition=Q(walk_in=True) | Q(resident__isnull=False),
                                   name="screening_code_resident_or_walk_in"),
        ]

    def __str__(self) -> str:
        return self.reference


class TubeStatus(models.TextChoices):
    OPEN = "open", _("采样中")
    CLOSED = "closed", _("已封管")
    BOXED = "boxed", _("已装箱")
    HANDED_OVER = "handed_over", _("已转运")
    RECEIVED = "received", _("实验室已接收")
    RESULTED = "resulted", _("已出结果")


# A tube that is closed and has no result yet: any of these takes one (a lab may result a tube
# whose box was never scanned in), and past the round's alert hours it is overdue.
AWAITING_RESULT = frozenset({TubeStatus.CLOSED, TubeStatus.BOXED, TubeStatus.HANDED_OVER, TubeStatus.RECEIVED})


class TestResult(models.TextChoices):
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")
    INVALID = "invalid", _("无效")


class BoxStatus(models.TextChoices):
    PACKING = "packing", _("装箱中")
    HANDED_OVER = "handed_over", _("已转运")
    RECEIVED = "received", _("实验室已接收")


class LabVisibleQuerySet(ScopedQuerySet):
    """Rows without a person (tubes, boxes): seen by the screening roles, and by a lab that
    records results (Role.LAB) within the units it serves."""

    scope_cap = "view_screening"

    def visible_to(self, user):
        from xiuhua.core.scoping import active_membership, unit_scope_q

        membership = active_membership(user)
        if membership is not None and membership.has("record_results") and not membership.has(self.scope_cap):
            scoped = self.filter(unit_scope_q(membership, committee="committee", building=None, grid=None,
                                              micro_grid=None))
            scoped.scoped_for = membership.pk
            return scoped
        return super().visible_to(user)


class BoxQuerySet(LabVisibleQuerySet):
    pass


class Box(models.Model):
    """A transport box of closed tubes, from a site to the lab."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="boxes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="boxes")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    barcode = models.CharField(_("转运箱编号"), max_length=40, unique=True)
    status = models.CharField(_("状态"), max_length=16, choices=BoxStatus.choices, default=BoxStatus.PACKING)
    handed_over_at = models.DateTimeField(_("交接时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("实验室接收时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BoxQuerySet.as_manager()

    class Meta:
        verbose_name = _("转运箱")
        verbose_name_plural = _("转运箱")

    def save(self, *args, **kwargs):
        self.committee_id = self.site.committee_id
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.barcode


class TubeQuerySet(LabVisibleQuerySet):
    pass


class Tube(models.Model):
    """A sampling tube: opened by its first scan at a line, closed when full or by the collector."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="tubes")
    # None for a single tube taken at the door (a retest): its committee is the person's.
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="tubes")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, null=True, blank=True, related_name="tubes")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    barcode = models.CharField(_("试管条码"), max_length=40, unique=True)
    pool_rule = models.CharField(_("混采规则"), max_length=16, choices=PoolRule.choices)
    capacity = models.PositiveSmallIntegerField(_("容量(人)"))
    # A single-tube retest of someone from a positive or invalid pool.
    retest = models.BooleanField(_("单管复核"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=TubeStatus.choices, default=TubeStatus.OPEN)
    box = models.ForeignKey(Box, on_delete=models.PROTECT, null=True, blank=True, related_name="tubes")
    # Station (device) times, as the collector's phone or laptop recorded them, and server times.
    opened_at = models.DateTimeField(_("首次采样时间"))
    closed_at = models.DateTimeField(_("封管时间"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("上报时间"), auto_now_add=True)
    result = models.CharField(_("检测结果"), max_length=16, choices=TestResult.choices, blank=True)
    resulted_at = models.DateTimeField(_("出结果时间"), null=True, blank=True)
    # When the street was told this tube had no result long after sampling (once).
    overdue_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TubeQuerySet.as_manager()

    class Meta:
        verbose_name = _("采样管")
        verbose_name_plural = _("采样管")
        indexes = [models.Index(fields=["round", "status"], name="screening_tube_round_status")]

    def save(self, *args, **kwargs):
        if self.site_id is not None:
            self.committee_id = self.site.committee_id
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.barcode


class TubeMemberQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"
    scope_committee = "code__committee"
    scope_building = "code__building"


class TubeMember(models.Model):
    """A person's sample in a tube: one per code and round in screening tubes (retests apart)."""

    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="members")
    code = models.ForeignKey(SamplingCode, on_delete=models.PROTECT, related_name="samples")
    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="+", editable=False)
    retest = models.BooleanField(default=False, editable=False)
    scanned_at = models.DateTimeField(_("采样时间"))  # the station's clock, checked on arrival
    recorded_at = models.DateTimeField(_("上报时间"), auto_now_add=True)

    objects = TubeMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("采样记录")
        verbose_name_plural = _("采样记录")
        constraints = [
            models.UniqueConstraint(fields=["round", "code"], condition=Q(retest=False),
                                    name="screening_sample_once_per_round"),
        ]

    def save(self, *args, **kwargs):
        self.round_id = self.tube.round_id
        self.retest = self.tube.retest
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.tube_id}:{self.code_id}"


class StationBatch(models.Model):
    """A batch of scans a station sent: its key (made by the device) makes a resend a no-op that
    answers what the first send answered."""

    key = models.CharField(max_length=64, unique=True)
    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    events = models.PositiveIntegerField(default=0)
    answer = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("采样点上报批次")
        verbose_name_plural = _("采样点上报批次")

    def __str__(self) -> str:
        return self.key


from .models_plan import *  # noqa: E402,F401,F403
from .models_results import PositiveCase, ResultImport, Review, ReviewStatus  # noqa: E402,F401
