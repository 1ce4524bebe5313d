"""Arrivals from key regions and home-isolation cases (五步工作法).

A case opens with the rule in force that day (period, contact times), the five steps as a
checklist, and its contacts as a schedule written up front, so "overdue" is a plain query:
contacts due before now and not recorded. Two misses in a row, a fever or any symptom raise an
alert for the committee and the community health centre.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.core.files import private_storage
from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit


class KeyRegion(models.Model):
    """A province or city people arrive from that the city currently treats as a key region."""

    province = models.CharField(_("省份"), max_length=20)
    city = models.CharField(_("城市"), max_length=20, blank=True, help_text=_("留空表示全省"))
    active = models.BooleanField(_("当前为重点地区"), default=True)
    since = models.DateField(_("起始日期"))
    until = models.DateField(_("截止日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("重点地区")
        verbose_name_plural = _("重点地区")
        constraints = [models.UniqueConstraint(fields=["province", "city"], name="key_region_once")]
        ordering = ["province", "city"]

    def __str__(self) -> str:
        return f"{self.province}{self.city}"


class IsolationRule(models.Model):
    """The rule a case opens with; the newest rule in effect on the opening day applies."""

    effective_from = models.DateField(_("生效日期"), unique=True)
    period_days = models.PositiveSmallIntegerField(_("隔离天数"), default=14)
    # Local times of the daily contacts, "HH:MM" separated by commas (twice a day by default).
    contact_times = models.CharField(_("每日联系时间"), max_length=60, default="09:00,16:00")
    # A contact not recorded this long after it was due counts as missed.
    grace_minutes = models.PositiveSmallIntegerField(_("联系宽限(分钟)"), default=120)
    fever_celsius = models.DecimalField(_("发热标准(℃)"), max_digits=3, decimal_places=1, default=37.3)

    class Meta:
        verbose_name = _("隔离规则")
        verbose_name_plural = _("隔离规则")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.effective_from} {self.period_days}"

    def times(self) -> list[dt.time]:
        return sorted(dt.time.fromisoformat(t.strip()) for t in self.contact_times.split(",") if t.strip())


class Transport(models.TextChoices):
    TRAIN = "train", _("火车")
    FLIGHT = "flight", _("航班")
    CAR = "car", _("自驾")
    BUS = "bus", _("长途客车")
    OTHER = "other", _("其他")


class Channel(models.TextChoices):
    SELF = "self", _("本人扫码登记")
    STAFF = "staff", _("工作人员登记")


class ArrivalStatus(models.TextChoices):
    AWAITING = "awaiting", _("待核实")
    ACCEPTED = "accepted", _("已核实")
    REJECTED = "rejected", _("未通过核实")
    MERGED = "merged", _("已合并")


class ArrivalQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_household = "household"
    scope_cap = "view_isolation"


class Arrival(models.Model):
    household = models.ForeignKey("residents.Household", on_delete=models.PROTECT, related_name="arrivals")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    resident = models.ForeignKey(
        "residents.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="arrivals"
    )
    name = models.CharField(_("姓名"), max_length=50)
    id_type = models.CharField(max_length=20, blank=True)
    id_encrypted = models.TextField(blank=True, editable=False)
    id_hash = models.CharField(max_length=64, blank=True, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=24, blank=True, editable=False)
    phone = models.CharField(_("手机号"), max_length=20)
    origin = models.ForeignKey(KeyRegion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    origin_text = models.CharField(_("来自"), max_length=60)
    household_size = models.PositiveSmallIntegerField(_("同行/同住人数"), default=1)
    transport = models.CharField(_("交通方式"), max_length=8, choices=Transport.choices)
    transport_number = models.CharField(_("车次/航班/车牌"), max_length=20, blank=True)
    arrival_date = models.DateField(_("抵沪日期"))
    channel = models.CharField(_("登记方式"), max_length=8, choices=Channel.choices)
    # A registration from a phone page waits for staff (AWAITING); staff registrations are ACCEPTED
    # at once. Only accepted arrivals are one per person and day, so what anybody types on a phone
    # never blocks the person's own registration, nor says whether one exists elsewhere.
    status = models.CharField(
        _("核实状态"), max_length=10, choices=ArrivalStatus.choices, default=ArrivalStatus.ACCEPTED
    )
    status_reason = models.CharField(_("原因"), max_length=200, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged", verbose_name=_("合并到")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When it was registered: the service's `now` (a registration taken on paper and typed later,
    # or seeded, keeps its own time, before every step that follows it).
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    objects = ArrivalQuerySet.as_manager()

    class Meta:
        verbose_name = _("来沪人员")
        verbose_name_plural = _("来沪人员")
        indexes = [models.Index(fields=["committee", "-arrival_date"], name="arrival_committee")]
        constraints = [
            # One checked arrival per person and day (staff registered it, or checked a phone's).
            models.UniqueConstraint(
                fields=["id_hash", "arrival_date"],
                condition=~Q(id_hash="") & Q(status=ArrivalStatus.ACCEPTED),
                name="arrival_once",
            ),
            # The same phone registering the same person and day again is the same registration;
            # other phones' registrations of that number are theirs, side by side for staff.
            models.UniqueConstraint(
                fields=["id_hash", "arrival_date", "phone"],
                condition=~Q(id_hash="")
                & Q(channel=Channel.SELF, status__in=[ArrivalStatus.AWAITING, ArrivalStatus.ACCEPTED]),
                name="arrival_self_once_per_phone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.arrival_date}"

    def save(self, *args, **kwargs):
        self.committee_id = self.household.committee_id
        super().save(*args, **kwargs)


class CaseStatus(models.TextChoices):
    OPEN = "open", _("隔离中")
    RELEASED = "released", _("已解除")
    TRANSFERRED = "transferred", _("已转出")
    HOSPITAL = "hospital", _("已送医")


class CaseQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_household = "household"
    scope_cap = "view_isolation"


class IsolationCase(models.Model):
    arrival = models.OneToOneField(Arrival, on_delete=models.PROTECT, related_name="case")
    household = models.ForeignKey("residents.Household", on_delete=models.PROTECT, related_name="+")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(IsolationRule, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("预计解除日期"))
    status = models.CharField(_("状态"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    # Who makes the daily contacts: a grid worker of the committee, or the committee itself.
    contact_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_note = models.CharField(_("说明"), max_length=200, blank=True)
    # When the case was opened (the service's `now`): "new cases" of a day count these.
    created_at = models.DateTimeField(_("开始隔离登记时间"), default=timezone.now)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("居家隔离")
        verbose_name_plural = _("居家隔离")
        indexes = [models.Index(fields=["committee", "status", "ends_on"], name="case_committee")]

    def __str__(self) -> str:
        return f"{self.arrival.name} {self.starts_on}-{self.ends_on}"


class Step(models.TextChoices):
    VERIFY = "verify", _("核实信息")
    DISINFECT = "disinfect", _("途经区域消毒")
    DOOR_VISIT = "door_visit", _("三人小组上门")
    GARBAGE = "garbage", _("生活垃圾专人清运")
    CONTACTS = "contacts", _("每日两次联系")


STEP_ORDER = [Step.VERIFY, Step.DISINFECT, Step.DOOR_VISIT, Step.GARBAGE, Step.CONTACTS]


class PledgeKind(models.TextChoices):
    PHOTO = "photo", _("承诺书照片")
    SIGNATURE = "signature", _("屏幕签名")


class CaseStep(models.Model):
    case = models.ForeignKey(IsolationCase, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=16, choices=Step.choices)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    # The door visit: committee, police and health centre, the health form, the signed pledge
    # and the kit (masks, thermometer, disinfectant, bin bags, food).
    health_form = models.BooleanField(_("健康登记表"), default=False)
    pledge_signed = models.BooleanField(_("隔离承诺书已签"), default=False)
    kit_given = models.BooleanField(_("防疫包已发放"), default=False)
    # The proof of the pledge: a photo of the signed paper or the person's signature drawn on the
    # staff member's screen, either way re-encoded as a JPEG without metadata (a photo's EXIF holds
    # the location), kept in the private files directory and shown only through the audited view.
    pledge_photo = models.FileField(
        _("承诺书照片"), upload_to="pledges/%Y/%m/", storage=private_storage, blank=True, max_length=200
    )
    pledge_kind = models.CharField(_("承诺方式"), max_length=10, choices=PledgeKind.choices, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "step"], name="case_step_once")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.step}"


class ContactOutcome(models.TextChoices):
    WELL = "well", _("情况良好")
    UNWELL = "unwell", _("身体不适")
    NOT_REACHED = "not_reached", _("未联系上")
    MISSED = "missed", _("漏联系")


class ContactVia(models.TextChoices):
    PHONE = "phone", _("电话")
    VISIT = "visit", _("上门")
    SMS = "sms", _("短信回复")
    SYSTEM = "system", _("系统")


class ContactQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_household = "case__household"
    scope_cap = "view_isolation"


class Contact(models.Model):
    case = models.ForeignKey(IsolationCase, on_delete=models.CASCADE, related_name="contacts")
    # Copied from the case, so the overdue list is one indexed range per committee.
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(_("应联系时间"))
    outcome = models.CharField(_("结果"), max_length=12, choices=ContactOutcome.choices, blank=True)
    temperature = models.DecimalField(_("体温(℃)"), max_digits=3, decimal_places=1, null=True, blank=True)
    symptoms = models.CharField(_("症状"), max_length=200, blank=True)
    via = models.CharField(max_length=8, choices=ContactVia.choices, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When the check-in SMS asking for a temperature was queued (once per contact).
    checkin_sent_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["case", "due_at"], name="contact_once")]
        indexes = [
            # The overdue list: open contacts of a committee by due time.
            models.Index(fields=["committee", "due_at"], condition=Q(outcome=""), name="contact_open"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.due_at}"


class AlertKind(models.TextChoices):
    MISSES = "misses", _("连续两次未联系上")
    FEVER = "fever", _("发热")
    SYMPTOMS = "symptoms", _("出现症状")


class Alert(models.Model):
    """One alert per contact (one reading: 37.8 ℃ with a cough is one alert, with two reasons),
    closed once with what was done."""

    case = models.ForeignKey(IsolationCase, on_delete=models.CASCADE, related_name="alerts")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="alerts")
    # The first of `reasons` (fever before symptoms), for sorting and filtering.
    kind = models.CharField(max_length=12, choices=AlertKind.choices)
    # Every reason the contact gave, fever first, then symptoms, then misses: ["fever", "symptoms"].
    reasons = models.JSONField(_("预警原因"), default=list)
    raised_at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_note = models.CharField(max_length=200, blank=True)

    class Meta:
        # One alert per contact (one reading, or one missed contact), however often the check runs.
        constraints = [models.UniqueConstraint(fields=["contact"], name="alert_once_per_contact")]
        indexes = [models.Index(fields=["committee", "handled_at"], name="alert_committee")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"

    @property
    def reason_labels(self) -> list[str]:
        return [str(AlertKind(reason).label) for reason in (self.reasons or [self.kind])]

    @property
    def reasons_text(self) -> str:
        return "、".join(self.reason_labels)


class Whereabouts(models.TextChoices):
    HERE = "here", _("在沪居住")
    AWAY = "away", _("在外地")
    MOVED_OUT = "moved_out", _("已退租搬离")
    UNKNOWN = "unknown", _("无法确认")


class RentalScreeningQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_household = "household"
    scope_cap = "view_isolation"


class RentalScreening(models.Model):
    """One visit or call to a rented unit (出租房排摸): who lives there, whether they were reached,
    where they are now and when they come back. The newest row of a household is its state; the
    earlier ones are its history."""

    household = models.ForeignKey("residents.Household", on_delete=models.PROTECT, related_name="rental_screenings")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    tenants = models.PositiveSmallIntegerField(_("租住人数"))
    reached = models.BooleanField(_("已联系上"))
    whereabouts = models.CharField(_("目前去向"), max_length=12, choices=Whereabouts.choices)
    away_place = models.CharField(_("所在地"), max_length=60, blank=True)
    return_date = models.DateField(_("预计返沪日期"), null=True, blank=True)
    group_rental = models.BooleanField(_("群租"), default=False)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    screened_at = models.DateTimeField(_("排摸时间"))
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = RentalScreeningQuerySet.as_manager()

    class Meta:
        verbose_name = _("出租房排摸")
        verbose_name_plural = _("出租房排摸")
        indexes = [models.Index(fields=["household", "-screened_at"], name="rental_screening_latest")]

    def __str__(self) -> str:
        return f"{self.household_id} {self.screened_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        self.committee_id = self.household.committee_id
        super().save(*args, **kwargs)


class Purchase(models.Model):
    """Something bought for a person in isolation (五步工作法, step five: "buy supplies for them")."""

    case = models.ForeignKey(IsolationCase, on_delete=models.CASCADE, related_name="purchases")
    items = models.CharField(_("代购物品"), max_length=200)
    amount = models.DecimalField(_("金额(元)"), max_digits=8, decimal_places=2, null=True, blank=True)
    settled = models.BooleanField(_("已结清"), default=False)
    bought_at = models.DateTimeField(_("代购时间"))
    bought_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("代购记录")
        verbose_name_plural = _("代购记录")
        ordering = ["-bought_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.items}"
