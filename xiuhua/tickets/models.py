"""Requests and work orders (紧急关怀, 12345): the working-day calendar, departments, tickets,
their events, routing rules."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xiuhua.core.files import private_storage
from xiuhua.core.scoping import active_membership, unit_scope_q
from xiuhua.places.models import OrgUnit


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日(休)")
    WORKDAY = "workday", _("调休上班日")


class CalendarDay(models.Model):
    """A day that is not what its weekday says: a public holiday on a weekday, or a weekend day
    worked in exchange (调休). Every other Monday-Friday is a working day and every other
    Saturday and Sunday is not. An administrator keeps the list for each year when the State
    Council publishes it."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=30, help_text=_("如 春节、国庆节调休"))

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Category(models.TextChoices):
    DIALYSIS = "dialysis", _("透析")
    CHEMOTHERAPY = "chemotherapy", _("化疗")
    MEDICINE = "medicine", _("配药")
    WOUND_CARE = "wound_care", _("伤口护理")
    CHILDBIRTH = "childbirth", _("待产/分娩")
    MENTAL_HEALTH = "mental_health", _("心理援助")
    FOOD = "food", _("食品")
    ELDERLY_CARE = "elderly_care", _("老人照护")
    CHILD_CARE = "child_care", _("儿童照护")
    UTILITIES = "utilities", _("水电燃气")
    OTHER = "other", _("其他")


MEDICAL_CATEGORIES = frozenset(
    {Category.DIALYSIS, Category.CHEMOTHERAPY, Category.MEDICINE, Category.WOUND_CARE, Category.CHILDBIRTH,
     Category.MENTAL_HEALTH}
)


class Source(models.TextChoices):
    DOOR_QR = "door_qr", _("门牌二维码")
    CALL = "call", _("来电")
    WALK_IN = "walk_in", _("来访")
    HOTLINE = "hotline", _("12345热线")
    SMS = "sms", _("短信")


class Urgency(models.TextChoices):
    URGENT = "urgent", _("紧急")
    NORMAL = "normal", pgettext_lazy("urgency", "一般")  # "一般" is also a stock level elsewhere


class Department(models.Model):
    """A department of the street that orders are dispatched to (e.g. 社区卫生服务中心, 城运中心)."""

    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("名称"), max_length=60)
    members = models.ManyToManyField("accounts.Membership", blank=True, related_name="departments")
    # Late orders are escalated to the head first, then to the street.
    head = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("负责人"),
    )

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        constraints = [models.UniqueConstraint(fields=["street", "name"], name="department_name_once")]

    def __str__(self) -> str:
        return self.name


class TicketStatus(models.TextChoices):
    RECEIVED = "received", _("已接收")
    ACCEPTED = "accepted", _("已受理")
    DISPATCHED = "dispatched", _("已派单")
    HANDLING = "handling", _("办理中")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    CALLED_BACK = "called_back", _("已回访")
    REOPENED = "reopened", _("已重新打开")


class Escalation(models.IntegerChoices):
    NONE = 0, _("正常")
    NEAR = 1, _("临近时限,已提醒")
    HEAD = 2, _("已超时,已报部门负责人")
    STREET = 3, _("已超时,已报街道")


class Extension(models.TextChoices):
    NONE = "", _("无")
    REQUESTED = "requested", _("申请延期中")
    APPROVED = "approved", _("已批准延期")
    REFUSED = "refused", _("延期未批准")


OPEN_STATUSES = (
    TicketStatus.RECEIVED, TicketStatus.ACCEPTED, TicketStatus.DISPATCHED, TicketStatus.HANDLING,
    TicketStatus.REPLIED, TicketStatus.REOPENED,
)


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user) -> "TicketQuerySet":
        """Department staff: what was dispatched to their departments. A committee: its own
        requests and those dispatched to it. A street or district: its committees' requests."""
        membership = active_membership(user)
        if membership is None or not membership.has("view_tickets"):
            return self.none()
        if membership.role == "department_staff":
            return self.filter(department__members=membership)
        q = unit_scope_q(membership, committee="committee", building=None, grid=None, micro_grid=None)
        if membership.org_unit.kind == "committee":
            q |= models.Q(assigned_committee_id=membership.org_unit_id)
        return self.filter(q)

    def open(self) -> "TicketQuerySet":
        return self.filter(status__in=OPEN_STATUSES)


class Ticket(models.Model):
    number = models.CharField(_("编号"), max_length=20, unique=True)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    external_number = models.CharField(_("12345工单号"), max_length=40, blank=True)
    category = models.CharField(_("类别"), max_length=16, choices=Category.choices)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices)
    deadline_class = models.CharField(_("办理时限类别"), max_length=16)
    description = models.TextField(_("诉求内容"), max_length=2000)
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        "residents.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requester_name = models.CharField(_("联系人"), max_length=50, blank=True)
    requester_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    received_at = models.DateTimeField(_("接收时间"))
    deadline_at = models.DateTimeField(_("办理时限"))
    status = models.CharField(_("状态"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.RECEIVED)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    assigned_committee = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reply_text = models.CharField(_("答复内容"), max_length=500, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度(1-5)"), null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    # Where the reminders stand; set by the escalation sweep, back to NONE when a deadline moves.
    escalation = models.PositiveSmallIntegerField(
        _("督办"), choices=Escalation.choices, default=Escalation.NONE
    )
    # When committee staff were texted that an urgent request still waits to be accepted.
    accept_reminded_at = models.DateTimeField(null=True, blank=True)
    extension = models.CharField(_("延期"), max_length=10, choices=Extension.choices, blank=True, default="")
    extension_days = models.PositiveSmallIntegerField(null=True, blank=True)
    extension_reason = models.CharField(max_length=300, blank=True)
    original_deadline_at = models.DateTimeField(null=True, blank=True)
    # The resident's follow-up link carries a random token; only its hash is kept.
    follow_token_hash = models.CharField(max_length=64, unique=True)
    # Door requests (views_public): the hidden key of the rendered form, so a double tap or a
    # resubmitted form finds the ticket it made instead of making a second one.
    submission_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    # The resident's photo, re-encoded as JPEG without EXIF, kept outside any URL; staff see it
    # through services_doors, which audits every view of it.
    photo = models.FileField(
        _("照片"), upload_to="tickets/%Y/%m/", storage=private_storage, blank=True, max_length=200
    )
    # A keyed hash of the client address of a door request, for the per-address limit.
    client_hash = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        constraints = [
            models.UniqueConstraint(
                fields=["external_number"], condition=~models.Q(external_number=""), name="ticket_external_once"
            ),
        ]
        indexes = [
            models.Index(fields=["committee", "status", "deadline_at"], name="ticket_committee"),
            models.Index(fields=["department", "status", "deadline_at"], name="ticket_department"),
            models.Index(fields=["assigned_committee", "status", "deadline_at"], name="ticket_assigned"),
            models.Index(fields=["received_at"], name="ticket_received"),
            # The per-address limit of door requests counts one address's recent tickets.
            models.Index(
                fields=["client_hash", "received_at"], condition=~models.Q(client_hash=""), name="ticket_client_recent"
            ),
            # The sweep finds urgent requests nobody has accepted yet.
            models.Index(
                fields=["received_at"], condition=models.Q(status="received", urgency="urgent"),
                name="ticket_waiting_accept",
            ),
            # The escalation sweep reads open orders by deadline.
            models.Index(
                fields=["deadline_at"], condition=models.Q(status__in=OPEN_STATUSES), name="ticket_open_deadline"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TicketEvent(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=12, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=TicketStatus.choices)
    note = models.CharField(max_length=500, blank=True)
    # The score of a call-back, kept here too: reopening clears the ticket's own score, and the
    # report must still count an unhappy call-back that led to it.
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at"], name="ticket_event_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action}"


class RoutingRule(models.Model):
    """Where a street sends a category of request: to a department, for the whole street or for
    one committee of it (the committee rule wins). Without a rule, the request's own committee
    handles it."""

    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("类别"), max_length=16, choices=Category.choices)
    committee = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="rules")

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单规则")
        constraints = [
            models.UniqueConstraint(
                fields=["street", "category"], condition=models.Q(committee__isnull=True), name="rule_street_once"
            ),
            models.UniqueConstraint(
                fields=["street", "category", "committee"], condition=models.Q(committee__isnull=False),
                name="rule_committee_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} -> {self.department}"
