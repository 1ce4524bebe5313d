"""Mask rounds, designated pharmacies, stock, reservations and vouchers (口罩预约登记 + 指定药店购买).

Ordering: every reservation carries `order_at`, the instant that fixes its place in the queue:
the time an online form was accepted, the time the SMS provider received the message, the time
staff took a call or a desk form, or, for a pre-printed paper form, the time its book of forms
was handed out plus the serial's offset, so paper forms keep their serial order.
Queue order is (order_at, id) within a pharmacy.

Exactly-once: one reservation per household per round and one per person per round are unique
constraints (entries awaiting verification hold neither: see Reservation.pending_phone); stock is
taken with a conditional UPDATE; a voucher is redeemed once: its row is locked and moved only from
issued (masks/workflows.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit


class AllocationMode(models.TextChoices):
    FIRST_COME = "first_come", _("先到先得")
    LOTTERY = "lottery", _("摇号(公开种子)")


class RoundStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("登记中")
    CLOSED = "closed", _("登记截止")
    FINISHED = "finished", _("已结束")


class MaskRound(models.Model):
    """A round opened by the city or a district; its rules are data, changed with an audit trail."""

    name = models.CharField(_("轮次名称"), max_length=100)
    scope = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    masks_per_household = models.PositiveSmallIntegerField(_("每户口罩数"), default=5)
    opens_at = models.DateTimeField(_("登记开始"))
    closes_at = models.DateTimeField(_("登记截止"))
    allocation_mode = models.CharField(
        _("分配方式"), max_length=16, choices=AllocationMode.choices, default=AllocationMode.FIRST_COME
    )
    # Published before the draw so anyone can reproduce it.
    lottery_seed = models.CharField(_("摇号种子"), max_length=64, blank=True)
    special_share_percent = models.PositiveSmallIntegerField(
        _("特殊群体每日预留比例(%)"), default=10, help_text=_("孕产妇、透析、化疗、残疾、独居老人、低收入")
    )
    voucher_valid_days = models.PositiveSmallIntegerField(_("凭证有效天数"), default=3)
    status = models.CharField(_("状态"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("口罩预约轮次")
        verbose_name_plural = _("口罩预约轮次")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="round_window_order"),
            models.CheckConstraint(condition=Q(special_share_percent__lte=100), name="round_special_share_percent"),
            models.CheckConstraint(condition=Q(masks_per_household__gte=1), name="round_masks_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class PharmacyQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PharmacyQuerySet":
        """A clerk sees their own pharmacies; officers those in their streets; committee staff
        and grid workers the pharmacy that serves their committee."""
        from xiuhua.accounts.roles import Role
        from xiuhua.core.scoping import active_membership
        from xiuhua.places.models import KIND_RANK, Kind

        membership = active_membership(user)
        if membership is None:
            return self.none()
        if membership.role == Role.PHARMACY_CLERK:
            return self.filter(clerks=membership)
        if not membership.has("view_places"):
            return self.none()
        unit = membership.org_unit
        if KIND_RANK[Kind(unit.kind)] <= KIND_RANK[Kind.STREET]:
            return self.filter(street__path__startswith=unit.path)
        return self.filter(served__committee_id=unit.committee_id)


class Pharmacy(models.Model):
    """A designated pharmacy (指定药店) in a street, serving a set of committees."""

    name = models.CharField(_("药店名称"), max_length=100)
    street = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        related_name="pharmacies",
        limit_choices_to={"kind": "street"},
        verbose_name=_("所属街道"),
    )
    address = models.CharField(_("地址"), max_length=200)
    opening_hours = models.CharField(_("营业时间"), max_length=100, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    clerks = models.ManyToManyField(
        "accounts.Membership", blank=True, related_name="pharmacies", verbose_name=_("店员")
    )

    objects = PharmacyQuerySet.as_manager()

    class Meta:
        verbose_name = _("指定药店")
        verbose_name_plural = _("指定药店")
        constraints = [models.UniqueConstraint(fields=["street", "name"], name="pharmacy_name_unique")]

    def __str__(self) -> str:
        return self.name


class PharmacyCommittee(models.Model):
    """Each committee is served by one designated pharmacy."""

    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="served", verbose_name=_("指定药店"))
    committee = models.OneToOneField(
        OrgUnit,
        on_delete=models.PROTECT,
        related_name="designated_pharmacy",
        limit_choices_to={"kind": "committee"},
        verbose_name=_("居委会"),
    )

    class Meta:
        verbose_name = _("药店服务的居委会")
        verbose_name_plural = _("药店服务的居委会")

    def __str__(self) -> str:
        return f"{self.pharmacy} → {self.committee}"


class PharmacyStock(models.Model):
    """Masks a pharmacy holds for a round. Issuing adds to `allocated` with a conditional UPDATE
    (allocated + n <= delivered), so no voucher is ever issued beyond what was delivered."""

    round = models.ForeignKey(MaskRound, on_delete=models.PROTECT, related_name="stocks")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="stocks")
    delivered = models.PositiveIntegerField(_("到货"), default=0)
    allocated = models.PositiveIntegerField(_("已发凭证"), default=0)
    redeemed = models.PositiveIntegerField(_("已售出"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("药店库存")
        verbose_name_plural = _("药店库存")
        constraints = [
            models.UniqueConstraint(fields=["round", "pharmacy"], name="stock_unique"),
            models.CheckConstraint(condition=Q(allocated__lte=models.F("delivered")), name="stock_not_over"),
            models.CheckConstraint(condition=Q(redeemed__lte=models.F("allocated")), name="stock_redeemed_le"),
        ]

    def __str__(self) -> str:
        return f"{self.pharmacy} {self.round}"

    @property
    def available(self) -> int:
        return self.delivered - self.allocated


class StockDelivery(models.Model):
    round = models.ForeignKey(MaskRound, on_delete=models.PROTECT, related_name="deliveries")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="deliveries")
    quantity = models.PositiveIntegerField(_("数量(只)"))
    delivered_at = models.DateTimeField(_("到货时间"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    # A re-sent form (double click, retry on a bad connection) records the delivery once.
    idempotency_key = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("到货记录")
        verbose_name_plural = _("到货记录")

    def __str__(self) -> str:
        return f"{self.pharmacy} +{self.quantity}"


class Channel(models.TextChoices):
    ONLINE = "online", _("线上")
    SMS = "sms", _("短信")
    DESK = "desk", _("现场登记")
    PHONE = "phone", _("电话代登记")


class ReservationStatus(models.TextChoices):
    VERIFYING = "verifying", _("待核实")
    QUEUED = "queued", _("排队中")
    ISSUED = "issued", _("已发凭证")
    REDEEMED = "redeemed", _("已购买")
    REJECTED = "rejected", _("未通过核实")
    CANCELLED = "cancelled", _("已取消")


class ReservationQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_household = "household"


class Reservation(models.Model):
    # Issuing rewrites a million rows' status on the busiest day (bench/allocation.py). No index
    # covers `status`, not even in a partial index's condition, so that update is heap-only (HOT):
    # PostgreSQL writes no index entries for it, given room in the page (fillfactor, migration
    # 0003). Indexes that need "not rejected or cancelled" use `live`, which issuing, redeeming and
    # queueing never change. Foreign keys already leading a composite index, or to rows that are
    # never deleted (rounds, committees, pharmacies, users), carry no index of their own.
    round = models.ForeignKey(MaskRound, on_delete=models.PROTECT, related_name="reservations", db_index=False)
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False)
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="reservations", db_index=False)
    # Null while the address awaits verification by staff; then the household it was matched to.
    household = models.ForeignKey(
        "residents.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="mask_reservations"
    )
    resident = models.ForeignKey(
        "residents.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person_hash = models.CharField(max_length=64, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=24)
    id_last4 = models.CharField(max_length=4)
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    # A resident's own channels (online, SMS) may hold PHONE_ROUND_LIMIT live reservations per
    # phone and round: each takes a numbered slot, and a unique index on (round, phone, slot) makes
    # the limit hold under concurrency without a lock. Staff entries take no slot.
    phone_slot = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    address_text = models.CharField(_("填写的地址"), max_length=200, blank=True)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    order_at = models.DateTimeField(_("排序时间"))
    paper_serial = models.CharField(_("纸质登记单编号"), max_length=20, blank=True)
    number = models.CharField(_("预约号"), max_length=20)  # unique: see Meta (no LIKE index)
    special = models.BooleanField(_("特殊群体"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=ReservationStatus.choices)
    live = models.GeneratedField(
        expression=~Q(status__in=[ReservationStatus.REJECTED, ReservationStatus.CANCELLED]),  # type: ignore[arg-type]  # a Q resolves like any expression
        output_field=models.BooleanField(),
        db_persist=True,
    )
    # The phone of an entry awaiting verification; empty once it holds a place. It is the third
    # column of the one-per-person constraint: a place is one per person and round, while entries
    # that could not be matched to the roster (a name or committee that does not fit the number,
    # or a number not on it) are one per person and phone, so none of them takes the person's place
    # or answers differently from another. Issuing and redeeming leave it empty (heap-only updates).
    pending_phone = models.GeneratedField(
        expression=Case(When(status=ReservationStatus.VERIFYING, then=F("phone")), default=Value("")),
        output_field=models.CharField(max_length=20),
        db_persist=True,
    )
    # Why it was rejected or cancelled (shown to the resident), e.g. "voucher expired".
    status_reason = models.CharField(_("原因"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        verbose_name = _("口罩预约")
        verbose_name_plural = _("口罩预约")
        constraints = [
            models.UniqueConstraint(fields=["number"], name="reservation_number_unique"),
            models.UniqueConstraint(
                fields=["round", "household"],
                condition=Q(live=True),
                name="reservation_one_per_household",
            ),
            # Led by person_hash, not round: an index on (round, ...) also fits "round = ... and phone
            # = ..." and, when a table is empty, can tie with reservation_phone_slot in the one
            # statement's generic plan; the newest index wins a tie, and its plan then scans the round.
            models.UniqueConstraint(
                fields=["person_hash", "round", "pending_phone"],
                condition=Q(live=True),
                name="reservation_one_per_person",
            ),
            models.UniqueConstraint(
                fields=["round", "phone", "phone_slot"], condition=Q(live=True), name="reservation_phone_slot"
            ),
            models.UniqueConstraint(
                fields=["round", "committee", "paper_serial"],
                condition=~Q(paper_serial=""),
                name="reservation_paper_serial_unique",
            ),
        ]
        indexes = [
            # The queue in first-come order; issued rows stay in it and are skipped by their status.
            models.Index(
                fields=["round", "pharmacy", "order_at", "id"], condition=Q(live=True), name="reservation_queue"
            ),
            models.Index(fields=["round", "committee"], name="reservation_committee"),
            # A resident's own reservations, by the phone they proved (status page, app).
            models.Index(fields=["phone"], name="reservation_phone"),
        ]

    def __str__(self) -> str:
        return self.number


class PaperFormBook(models.Model):
    """A book of pre-printed two-part paper forms handed out by a committee (纸质登记单).

    A paper reservation is ordered at `handed_out_at + (serial - first_serial)` microseconds, so
    the serial printed on the form, not the time it is dropped off, fixes its place in the queue.
    """

    round = models.ForeignKey(MaskRound, on_delete=models.PROTECT, related_name="paper_books")
    committee = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": "committee"}
    )
    first_serial = models.PositiveIntegerField(_("起始编号"))
    last_serial = models.PositiveIntegerField(_("结束编号"))
    handed_out_at = models.DateTimeField(_("发放时间"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("纸质登记簿")
        verbose_name_plural = _("纸质登记簿")
        constraints = [
            models.CheckConstraint(condition=Q(last_serial__gte=models.F("first_serial")), name="paper_book_range"),
        ]
        indexes = [models.Index(fields=["round", "committee", "first_serial"], name="paper_book_lookup")]

    def __str__(self) -> str:
        return f"{self.first_serial}-{self.last_serial}"


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", _("待购买")
    REDEEMED = "redeemed", _("已购买")
    EXPIRED = "expired", _("已过期")


class VoucherQuerySet(ScopedQuerySet):
    scope_committee = "reservation__committee"
    scope_household = "reservation__household"

    def visible_to(self, user) -> "ScopedQuerySet":
        """Staff see their committees' vouchers; a clerk, with no view of residents, the vouchers
        of their own pharmacies (those they redeem)."""
        from xiuhua.accounts.roles import Role
        from xiuhua.core.scoping import active_membership

        membership = active_membership(user)
        if membership is None or membership.role != Role.PHARMACY_CLERK:
            return super().visible_to(user)
        scoped = self.filter(pharmacy__clerks=membership)
        scoped.scoped_for = membership.pk
        return scoped


class Voucher(models.Model):
    """A purchase voucher (购买凭证): number, pharmacy, pickup window, expiry; redeemed once."""

    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="vouchers")
    # Written by the hundred thousand (COPY): no index where a composite one already leads with
    # the column or the referenced rows are never deleted; the number is unique through Meta.
    round = models.ForeignKey(MaskRound, on_delete=models.PROTECT, related_name="+", db_index=False)
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="vouchers", db_index=False)
    number = models.CharField(_("凭证号"), max_length=20)
    masks = models.PositiveSmallIntegerField(_("口罩数"))
    special = models.BooleanField(_("特殊群体名额"), default=False)
    issued_at = models.DateTimeField(_("发放时间"))
    issue_day = models.DateField(_("发放日"))
    expires_at = models.DateTimeField(_("有效期至"))
    status = models.CharField(_("状态"), max_length=16, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED)
    redeemed_at = models.DateTimeField(_("购买时间"), null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = VoucherQuerySet.as_manager()

    class Meta:
        verbose_name = _("购买凭证")
        verbose_name_plural = _("购买凭证")
        constraints = [
            models.UniqueConstraint(fields=["number"], name="voucher_number_unique"),
            # A reservation holds at most one live voucher; an expired one may be followed by none
            # (its masks go to the next in line), so only issued/redeemed are unique.
            models.UniqueConstraint(
                fields=["reservation"], condition=Q(status__in=["issued", "redeemed"]), name="voucher_one_live"
            ),
        ]
        indexes = [
            models.Index(fields=["pharmacy", "status", "expires_at"], name="voucher_expiry"),
            models.Index(fields=["round", "pharmacy", "issue_day"], name="voucher_issue_day"),
        ]

    def __str__(self) -> str:
        return self.number
