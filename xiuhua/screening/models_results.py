"""What the lab's results set off: the people of a positive or invalid pool under review (待复核)
until their single-tube retest answers, the positive cases the zone module reads, and the lab files
as they were imported.

A review is one person's, from one pooled tube: it is created in the same transaction as the
tube's result, with the text that tells them to stay home, and is worked by the committee's
door-to-door team (a single tube taken at the door, then its result). A positive single opens a
PositiveCase: one per person and round, where the zone module picks it up.

A review also comes from a positive antigen self-report (source "antigen", no pool tube): the
antigen module asks for it (screening/services_antigen.py), and the door-to-door team takes the
single tube and the lab's result closes it exactly as for a pool's people.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit

from .models import SamplingCode, ScreeningRound, Tube


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    SAMPLED = "sampled", _("已单管采样")
    CLEARED = "cleared", _("复核阴性")
    POSITIVE = "positive", _("复核阳性")


class ReviewSource(models.TextChoices):
    POOL = "pool", _("混管异常")
    ANTIGEN = "antigen", _("抗原阳性")


class ReviewQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"
    scope_building = "code__building"
    scope_grid = "code__household__grid"
    scope_micro_grid = "code__household__micro_grid"


class Review(models.Model):
    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="reviews")
    code = models.ForeignKey(SamplingCode, on_delete=models.PROTECT, related_name="reviews")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    # Why the person needs a single tube: their pool's result, or their own antigen positive (no pool).
    source = models.CharField(_("复核原因"), max_length=16, choices=ReviewSource.choices, default=ReviewSource.POOL)
    pool_tube = models.ForeignKey(Tube, on_delete=models.PROTECT, null=True, blank=True, related_name="reviews")
    pool_result = models.CharField(_("混管结果"), max_length=16)
    status = models.CharField(_("状态"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    retest_tube = models.ForeignKey(Tube, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("转待复核时间"))
    closed_at = models.DateTimeField(_("复核完成时间"), null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("待复核人员")
        verbose_name_plural = _("待复核人员")
        constraints = [
            models.UniqueConstraint(fields=["pool_tube", "code"], name="screening_review_once_per_pool"),
            # One open antigen review per person and round: a second positive report joins it.
            models.UniqueConstraint(fields=["round", "code"],
                                    condition=Q(source="antigen", status__in=["pending", "sampled"]),
                                    name="screening_review_antigen_open_once"),
            models.CheckConstraint(condition=Q(source="antigen") | Q(pool_tube__isnull=False),
                                   name="screening_review_pool_has_tube"),
        ]
        indexes = [models.Index(fields=["round", "status"], name="screening_review_round_status")]

    def __str__(self) -> str:
        return f"{self.code_id} {self.status}"


class PositiveCaseQuerySet(ScopedQuerySet):
    scope_cap = "view_screening"
    scope_building = "building"


class PositiveCase(models.Model):
    """A positive single result: the zone module reads these (one per person and round)."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="positive_cases")
    code = models.ForeignKey(SamplingCode, on_delete=models.PROTECT, related_name="+")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="+")
    sampled_at = models.DateTimeField(_("采样时间"))
    resulted_at = models.DateTimeField(_("出结果时间"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PositiveCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("阳性人员")
        verbose_name_plural = _("阳性人员")
        constraints = [models.UniqueConstraint(fields=["round", "code"], name="screening_positive_once_per_round")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.code_id}"


class ResultImportQuerySet(models.QuerySet):
    def visible_to(self, user) -> ResultImportQuerySet:
        """The imports of the rounds the member sees."""
        return self.filter(round__in=ScreeningRound.objects.visible_to(user))


class ResultImport(models.Model):
    """A lab file as it was imported: what it changed and the rows it could not use."""

    round = models.ForeignKey(ScreeningRound, on_delete=models.CASCADE, related_name="result_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(max_length=64, editable=False)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    applied = models.PositiveIntegerField(_("录入"), default=0)
    unchanged = models.PositiveIntegerField(_("重复(已录入)"), default=0)
    # [{"row": n, "barcode": "...", "problem": "..."}]: every row not used, with why.
    problems = models.JSONField(default=list)
    created_at = models.DateTimeField(_("导入时间"), auto_now_add=True)

    objects = ResultImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("检测结果文件")
        verbose_name_plural = _("检测结果文件")
        constraints = [models.UniqueConstraint(fields=["round", "sha256"], name="screening_result_file_once")]

    def __str__(self) -> str:
        return self.filename


__all__ = ["PositiveCase", "ResultImport", "Review", "ReviewSource", "ReviewStatus"]
