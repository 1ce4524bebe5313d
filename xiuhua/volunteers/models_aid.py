"""Mutual aid between committees (互助, 头雁合作, AB角): pools and A/B pairs formed by the street,
help requests posted to a ring of committees and claimed by the first taker, and the cover a
partner committee gives one whose staff are sealed in (a time-bound membership over it).

A request's ring widens over time: its A/B partner, then its pool (partner included), then the
whole street. Who sees a request is decided once, in `AidRequestQuerySet.visible_to`, which the
pages, the JSON poll, the claim's conditional UPDATE and core.workflow.move all use.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xiuhua.places.models import KIND_RANK, Kind, OrgUnit

__all__ = [
    "DEFAULT_WIDEN_MINUTES", "AidCover", "AidCoverStatus", "AidPartner", "AidPool", "AidPoolMember", "AidRequest",
    "AidRequestQuerySet", "AidRequestStatus", "AidRule", "Ring",
]

DEFAULT_WIDEN_MINUTES = 30


class AidRule(models.Model):
    """The street's rule: minutes an open request waits in one ring before it widens to the next.
    Each change is an audit event holding the old and the new value (its history)."""

    street = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("街道"))
    widen_minutes = models.PositiveIntegerField(_("无人认领多少分钟后扩大范围"), default=DEFAULT_WIDEN_MINUTES)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("互助规则")
        verbose_name_plural = _("互助规则")
        constraints = [models.CheckConstraint(condition=Q(widen_minutes__gte=5, widen_minutes__lte=24 * 60),
                                              name="aid_rule_minutes_range")]

    def __str__(self) -> str:
        return f"{self.street}: {self.widen_minutes}"


class AidPool(models.Model):
    """Committees of a street that answer each other's requests (e.g. a town's 33 secretaries)."""

    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("街道"))
    name = models.CharField(_("互助池名称"), max_length=60)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("互助池")
        verbose_name_plural = _("互助池")
        constraints = [models.UniqueConstraint(fields=["street", "name"], name="aid_pool_name_unique")]

    def __str__(self) -> str:
        return self.name


class AidPoolMember(models.Model):
    """A committee in a pool; a committee is in one pool at most (the unique key says so)."""

    pool = models.ForeignKey(AidPool, on_delete=models.CASCADE, related_name="members")
    committee = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="aid_pool_member")

    class Meta:
        verbose_name = _("互助池成员")
        verbose_name_plural = _("互助池成员")

    def __str__(self) -> str:
        return f"{self.pool_id}: {self.committee}"


class AidPartner(models.Model):
    """One side of an A/B pair: two rows per pair, so that the unique committee makes "at most one
    partner" the database's rule, not a check that two officers could race past."""

    committee = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="aid_partner",
                                     verbose_name=_("居委会"))
    partner = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("AB角结对"))
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("AB角结对")
        verbose_name_plural = _("AB角结对")
        constraints = [models.CheckConstraint(condition=~Q(committee=models.F("partner")),
                                              name="aid_partner_not_self")]

    def __str__(self) -> str:
        return f"{self.committee} ⇄ {self.partner}"


class Ring(models.TextChoices):
    PARTNER = "partner", _("AB角结对居委会")
    POOL = "pool", _("互助池")
    STREET = "street", _("全街道")


RING_ORDER = [Ring.PARTNER, Ring.POOL, Ring.STREET]


class AidRequestStatus(models.TextChoices):
    OPEN = "open", _("待认领")
    CLAIMED = "claimed", _("已认领")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已撤回")


class AidRequestQuerySet(models.QuerySet):
    def visible_to(self, user) -> AidRequestQuerySet:
        """A street (or above) sees its committees' requests; a committee sees its own, those it
        claimed, and those whose ring reaches it: its partner's from the first ring on, its pool's
        from the pool ring on, every one of the street's in the street ring."""
        from xiuhua.accounts.roles import Cap
        from xiuhua.core.scoping import active_membership

        membership = active_membership(user)
        if membership is None or not membership.has(Cap.MUTUAL_AID):
            return self.none()
        unit: OrgUnit = membership.org_unit
        if KIND_RANK[Kind(unit.kind)] < KIND_RANK[Kind.COMMITTEE]:
            return self.filter(committee__path__startswith=unit.path)
        if unit.kind != Kind.COMMITTEE:
            return self.none()
        return self.filter(ring_q(unit))


def ring_q(committee: OrgUnit) -> Q:
    """The requests `committee` sees: its own, its claims, and those whose ring reaches it."""
    q = Q(committee=committee) | Q(claimed_committee=committee)
    partner = AidPartner.objects.filter(committee=committee).values("partner")
    q |= Q(committee__in=partner)
    mates = AidPoolMember.objects.filter(pool__members__committee=committee).values("committee")
    q |= Q(ring__in=[Ring.POOL, Ring.STREET], committee__in=mates)
    if committee.parent_id is not None:
        q |= Q(ring=Ring.STREET, street_id=committee.parent_id)
    return q


class AidRequest(models.Model):
    """A committee's request for help: what, where, how many, by when, whom to call."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("求助居委会"))
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    what = models.CharField(_("需要协助的事"), max_length=200)
    compound = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("小区"))
    building = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("楼栋"))
    place_note = models.CharField(_("地点说明"), max_length=100, blank=True)
    people_needed = models.PositiveSmallIntegerField(_("需要人数"))
    needed_by = models.DateTimeField(_("最晚到场时间"))
    contact_name = models.CharField(_("联系人"), max_length=30)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    ring = models.CharField(_("求助范围"), max_length=16, choices=Ring.choices)
    ring_since = models.DateTimeField(_("本范围起始时间"))
    escalated_at = models.DateTimeField(_("超时转街道时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=AidRequestStatus.choices,
                              default=AidRequestStatus.OPEN)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("认领人"))
    claimed_committee = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                          verbose_name=_("认领单位"))
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_note = models.CharField(_("完成情况"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("发布时间"))

    objects = AidRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("互助需求")
        verbose_name_plural = _("互助需求")
        indexes = [models.Index(fields=["street", "status", "ring"]), models.Index(fields=["committee", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(people_needed__gte=1), name="aid_request_people_positive"),
            models.CheckConstraint(condition=Q(status="open") | Q(status="cancelled") | Q(claimed_by__isnull=False),
                                   name="aid_request_claimed_has_claimer"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.what[:30]}"

    @property
    def where(self) -> str:
        parts = [u.name for u in (self.compound, self.building) if u is not None]
        if self.place_note:
            parts.append(self.place_note)
        return " ".join(parts)


class AidCoverStatus(models.TextChoices):
    ACTIVE = "active", _("代管中")
    ENDED = "ended", _("已结束")


class AidCover(models.Model):
    """The street marked `committee` unable to act (its staff sealed in) until `ends_at`; the
    partner committee's staff hold time-bound memberships over it (`memberships`)."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("无法履职的居委会"))
    partner = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("代管居委会"))
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("原因"), max_length=200)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    status = models.CharField(_("状态"), max_length=16, choices=AidCoverStatus.choices, default=AidCoverStatus.ACTIVE)
    memberships = models.ManyToManyField("accounts.Membership", related_name="+", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("AB角临时代管")
        verbose_name_plural = _("AB角临时代管")
        constraints = [models.UniqueConstraint(fields=["committee"], condition=Q(status="active"),
                                               name="aid_cover_one_active")]

    def __str__(self) -> str:
        return f"{self.partner} → {self.committee}"
