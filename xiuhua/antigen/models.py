"""Antigen self-reports (抗原): one result per resident and day, from the household's phone page,
an SMS keyword, or a building lead / grid worker for people without phones.

A report carries its resident's committee and building (and reaches grids through the household),
so the live coverage per building and grid is one indexed count per day. One report per resident
and day is a unique constraint: a second report the same day replaces the result only through
`antigen_report` (audited with the old and new result); a positive is not overwritten by anyone
but the committee's staff. A positive alerts the committee at once and opens a confirming
single-tube review in the screening module (`review`); the committee's staff then confirm it
(`confirmed_at`, where the zone module will be told).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xiuhua.core.files import private_storage
from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit


class Result(models.TextChoices):
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")
    INVALID = "invalid", _("无效")


class Channel(models.TextChoices):
    PHONE = "phone", _("手机页面")
    SMS = "sms", _("短信")
    STAFF = "staff", _("楼组长/网格员代报")


class AntigenReportQuerySet(ScopedQuerySet):
    scope_cap = "view_antigen"
    scope_household = "household"


class AntigenReport(models.Model):
    resident = models.ForeignKey("residents.Resident", on_delete=models.CASCADE, related_name="+")
    household = models.ForeignKey("residents.Household", on_delete=models.CASCADE, related_name="+")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("日期"))  # Beijing date of the test
    result = models.CharField(_("结果"), max_length=16, choices=Result.choices)
    channel = models.CharField(_("上报方式"), max_length=8, choices=Channel.choices)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    # A photo of the cassette: re-encoded without EXIF, outside any URL, seen through an audited view.
    photo = models.FileField(_("试剂盒照片"), upload_to="antigen/%Y/%m/", storage=private_storage, blank=True,
                             max_length=200)
    reported_at = models.DateTimeField(_("上报时间"))
    # A positive: the confirming single-tube review (screening) and the committee's confirmation.
    review = models.ForeignKey("screening.Review", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    confirmed_at = models.DateTimeField(_("居委会核实时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")

    objects = AntigenReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("抗原自测上报")
        verbose_name_plural = _("抗原自测上报")
        constraints = [models.UniqueConstraint(fields=["resident", "day"], name="antigen_report_once_a_day")]
        indexes = [
            models.Index(fields=["committee", "day", "result"], name="antigen_committee_day"),
            models.Index(fields=["building", "day"], name="antigen_building_day"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.day} {self.result}"


class ReminderSettingQuerySet(ScopedQuerySet):
    scope_cap = "view_antigen"


class ReminderSetting(models.Model):
    """The hour (Beijing time) at which the committee's households not yet reported are texted."""

    committee = models.OneToOneField(OrgUnit, on_delete=models.CASCADE, related_name="+")
    hour = models.PositiveSmallIntegerField(_("提醒时间(时)"), null=True, blank=True)
    last_day = models.DateField(null=True, blank=True, editable=False)  # the day reminders last went out
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReminderSettingQuerySet.as_manager()

    class Meta:
        verbose_name = _("抗原上报提醒设置")
        verbose_name_plural = _("抗原上报提醒设置")
        constraints = [models.CheckConstraint(condition=models.Q(hour__lte=23), name="antigen_reminder_hour")]

    def __str__(self) -> str:
        return f"{self.committee_id} {self.hour}"
