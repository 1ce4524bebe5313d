"""Tracing lists (大数据清单): batches of people from ports, shipping, telecoms and pharmacies, each
person matched to the roster, assigned to a committee and reported on, the same day.

A ListedPerson is one person across batches (by identity number, else by mobile): the same person
in two batches is one person with two ListEntry rows. Identity numbers are kept as the roster
keeps them: Fernet ciphertext, keyed hash for lookup, masked copy and last four.
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Kind, OrgUnit


class ListSource(models.TextChoices):
    PORT = "port", _("口岸/机场/铁路")
    SHIPPING = "shipping", _("航运")
    TELECOM = "telecom", _("通信大数据")
    PHARMACY = "pharmacy", _("药店购药登记")
    OTHER = "other", _("其他")


class TracingBatch(models.Model):
    street = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": Kind.STREET}
    )
    source = models.CharField(_("来源"), max_length=16, choices=ListSource.choices)
    reference = models.CharField(_("批次名称"), max_length=100)
    received_at = models.DateTimeField(_("清单到达时间"))
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    # Re-uploading the same file (a double click, a resent e-mail) makes no second batch.
    file_hash = models.CharField(max_length=64)
    rows_total = models.PositiveIntegerField(default=0)
    rows_bad = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("清单批次")
        verbose_name_plural = _("清单批次")
        constraints = [models.UniqueConstraint(fields=["street", "file_hash"], name="tracing_batch_file_once")]
        indexes = [models.Index(fields=["street", "-received_at"], name="tracing_batch_street")]

    def __str__(self) -> str:
        return self.reference

    @property
    def received_day(self):
        return timezone.localdate(self.received_at)


class BatchProblem(models.Model):
    """A row of the file that could not be taken, with why (the good rows went ahead)."""

    batch = models.ForeignKey(TracingBatch, on_delete=models.CASCADE, related_name="problems")
    row = models.PositiveIntegerField(_("行号"))
    column = models.CharField(_("列"), max_length=32, blank=True)
    message = models.CharField(_("问题"), max_length=200)

    class Meta:
        ordering = ["row", "pk"]

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"


class ListedPerson(models.Model):
    name = models.CharField(_("姓名"), max_length=50)
    id_type = models.CharField(max_length=20, blank=True)
    id_encrypted = models.TextField(blank=True, editable=False)
    id_hash = models.CharField(max_length=64, blank=True, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=24, blank=True, editable=False)
    id_last4 = models.CharField(max_length=4, blank=True, editable=False)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("清单人员")
        verbose_name_plural = _("清单人员")
        constraints = [
            models.UniqueConstraint(fields=["id_hash"], condition=~Q(id_hash=""), name="listed_person_id_once"),
            # Without an identity number, the mobile is what makes two entries the same person.
            models.UniqueConstraint(
                fields=["phone"], condition=Q(id_hash="") & ~Q(phone=""), name="listed_person_phone_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EntryStatus(models.TextChoices):
    TRIAGE = "triage", _("待街道分派")
    ASSIGNED = "assigned", _("待居委会落实")
    CONTROLLED = "controlled", _("已落实管控")
    NOT_HERE = "not_here", _("不在该地址")
    WRONG_INFO = "wrong_info", _("信息有误")


OPEN_STATUSES = (EntryStatus.TRIAGE, EntryStatus.ASSIGNED)


class MatchMethod(models.TextChoices):
    ID = "id", _("证件号码")
    PHONE = "phone", _("手机号")
    ADDRESS = "address", _("地址")
    MANUAL = "manual", _("人工分派")
    NONE = "", _("未匹配")


def entry_scope(membership) -> tuple[Q, Q | None] | None:
    """(held, imported) for a membership: the entries its unit is responsible for, and those of
    lists its streets imported; None when it sees no entries at all (a grid membership never:
    lists are the committee's and the street's work)."""
    if membership is None or not membership.has(Cap.VIEW_TRACING) or membership.grid_id:
        return None
    unit = membership.org_unit
    if unit.kind == Kind.COMMITTEE:
        return Q(committee_id=unit.pk), None
    if unit.kind in (Kind.CITY, Kind.DISTRICT, Kind.STREET):
        return Q(street__path__startswith=unit.path), Q(batch__street__path__startswith=unit.path)
    return None


def _entry_scope(user) -> tuple[Q, Q | None] | None:
    return entry_scope(active_membership(user))


class ListEntryQuerySet(models.QuerySet):
    """Who sees which entries, written once.

    An entry is *held* by the unit now responsible for it: its committee, and its street and the
    units above. The holder sees all of it. The street that imported the list also sees the
    entries that went to another street, but only as its own list row, forwarded
    (selectors.as_seen): the match looked beyond its scope to route the work, not to answer it.
    """

    def visible_to(self, user) -> "ListEntryQuerySet":
        """Held entries, and the entries of the lists the user's streets imported."""
        scope = _entry_scope(user)
        if scope is None:
            return self.none()
        held, imported = scope
        return self.filter(held | imported if imported is not None else held)

    def held_by(self, user) -> "ListEntryQuerySet":
        """The entries the user's unit is responsible for: the only ones it may act on."""
        scope = _entry_scope(user)
        return self.none() if scope is None else self.filter(scope[0])

    def seen_by(self, user) -> "ListEntryQuerySet":
        """visible_to, each entry annotated `held`; pages show the rest only through as_seen."""
        scope = _entry_scope(user)
        if scope is None:
            return self.none()
        held = Case(When(scope[0], then=Value(True)), default=Value(False), output_field=models.BooleanField())
        return self.visible_to(user).annotate(held=held)


class ListEntry(models.Model):
    batch = models.ForeignKey(TracingBatch, on_delete=models.PROTECT, related_name="entries")
    person = models.ForeignKey(ListedPerson, on_delete=models.PROTECT, related_name="entries")
    row = models.PositiveIntegerField(_("行号"))
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    address_text = models.CharField(_("清单地址"), max_length=200, blank=True)
    arrival_date = models.DateField(_("抵沪日期"), null=True, blank=True)
    # The list's other columns for this row (途经地, 备注 ...): [[header, value], ...] in the file's
    # order (a list, since PostgreSQL's jsonb does not keep the order of an object's keys).
    extra = models.JSONField(_("清单其他信息"), default=list, blank=True)
    # The street now responsible: the importing street while in triage, else the committee's.
    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    committee = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        "residents.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resident = models.ForeignKey(
        "residents.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    match_method = models.CharField(_("匹配方式"), max_length=8, choices=MatchMethod.choices, blank=True)
    match_confidence = models.PositiveSmallIntegerField(_("匹配可信度"), default=0)  # 0-100
    # In the source language, with its values: shown in the viewer's (`match_note_text`).
    match_note = models.CharField(_("匹配说明"), max_length=200, blank=True)
    match_params = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=EntryStatus.choices)
    assigned_at = models.DateTimeField(null=True, blank=True)
    outcome_at = models.DateTimeField(_("落实时间"), null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = models.CharField(_("说明"), max_length=200, blank=True)

    objects = ListEntryQuerySet.as_manager()

    # Not a column: while an entry is handed on (assigned or transferred), the unit that held it
    # before, for the history row of the move (workflows.TRACING_ENTRY).
    handed_over_from: OrgUnit | None = None

    class Meta:
        verbose_name = _("清单条目")
        verbose_name_plural = _("清单条目")
        constraints = [models.UniqueConstraint(fields=["batch", "row"], name="list_entry_row_once")]
        indexes = [
            models.Index(fields=["committee", "status"], name="list_entry_committee"),
            models.Index(fields=["street", "status"], name="list_entry_street"),
            models.Index(fields=["batch", "committee"], name="list_entry_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row}"

    @property
    def match_note_text(self) -> str:
        """The match note in the viewer's language (notes written before they were kept in the
        source language show as written)."""
        if not self.match_note:
            return ""
        text = gettext(self.match_note)
        return text % self.match_params if self.match_params else text

    @property
    def controlled_same_day(self) -> bool:
        return (
            self.status == EntryStatus.CONTROLLED
            and self.outcome_at is not None
            and timezone.localdate(self.outcome_at) == timezone.localdate(self.batch.received_at)
        )


class EntryEvent(models.Model):
    """The history of an entry: matched, assigned, re-assigned (to another committee or street),
    outcome reported. Kept when the entry moves, so the trail survives transfers."""

    entry = models.ForeignKey(ListEntry, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=EntryStatus.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.action}"
