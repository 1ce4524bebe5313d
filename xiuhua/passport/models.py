"""The micro-grid passport (家园护照): four stamps per household and week.

Two stamps are read from other modules and never stored here: the nucleic-acid stamp (a member
of the household sampled in a screening round during the week, xiuhua.screening) and the
vaccination stamp (every member of the household on the roster, moved-out and deceased people
aside, has at least one dose recorded on or before the week's last day, residents.Resident).
The other two, volunteer service and convenience service, are recorded by staff here as `Stamp`
rows until the modules that keep those services come; a stamp entered by mistake is withdrawn
(its status moves through the `passport_stamp` workflow), never deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household, HouseholdQuerySet


class StampKind(models.TextChoices):
    NUCLEIC = "nucleic", _("核酸")
    VACCINE = "vaccine", _("疫苗")
    VOLUNTEER = "volunteer", _("志愿服务")
    CONVENIENCE = "convenience", _("便民服务")


# In the order the passport shows them; the last two are recorded by staff.
KINDS: tuple[str, ...] = (StampKind.NUCLEIC, StampKind.VACCINE, StampKind.VOLUNTEER, StampKind.CONVENIENCE)
RECORDED_KINDS: tuple[str, ...] = (StampKind.VOLUNTEER, StampKind.CONVENIENCE)


class StampStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    WITHDRAWN = "withdrawn", _("已撤销")


class PassportHouseholdQuerySet(HouseholdQuerySet):
    scope_cap = "view_passport"


class PassportHousehold(Household):
    """A household as the passport pages see it: scoped by `view_passport` (street, committee
    and grid staff), not by `view_residents`. It carries no personal data of its own."""

    objects = PassportHouseholdQuerySet.as_manager()  # type: ignore[misc]  # the proxy's own scope

    class Meta:
        proxy = True
        verbose_name = _("家园护照")
        verbose_name_plural = _("家园护照")


class StampQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_household = "household"
    scope_cap = "view_passport"


class Stamp(models.Model):
    """A volunteer-service or convenience-service stamp of one household for one week."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    # Copied from the household for scoping (one indexed column).
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    kind = models.CharField(_("类型"), max_length=16, choices=StampKind.choices)
    # The Monday of the week (Asia/Shanghai) the stamp belongs to: passport.periods.
    period_start = models.DateField(_("周"))
    stamped_on = models.DateField(_("服务日期"))
    note = models.CharField(_("说明"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=StampStatus.choices, default=StampStatus.ACTIVE)
    stamped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("盖章时间"), auto_now_add=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    withdraw_reason = models.CharField(_("撤销原因"), max_length=100, blank=True)

    objects = StampQuerySet.as_manager()

    class Meta:
        verbose_name = _("家园护照印章")
        verbose_name_plural = _("家园护照印章")
        constraints = [
            # Once per household, kind and week: a second stamp is refused (a withdrawn one aside).
            models.UniqueConstraint(fields=["household", "kind", "period_start"], condition=Q(status="active"),
                                    name="passport_stamp_once_per_week"),
            models.CheckConstraint(condition=Q(kind__in=["volunteer", "convenience"]),
                                   name="passport_stamp_recorded_kind"),
        ]
        indexes = [models.Index(fields=["committee", "period_start"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}"

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.household.committee_id
        super().save(*args, **kwargs)
