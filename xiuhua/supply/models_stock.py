"""Donations, loans of equipment and the committee's stock of supplies handed out (issue 15).

Stock is a ledger: every receipt and issue is a `StockMove` row with who and why, and
`StockItem.quantity` is kept equal to the sum of its moves in the same transaction; an issue is one
conditional `UPDATE … WHERE quantity >= n`, so parallel issues never take it below zero.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xiuhua.core.scoping import ScopedQuerySet, active_membership
from xiuhua.places.models import OrgUnit

__all__ = [
    "Allocation", "Donation", "DonationLine", "Loan", "LoanReturn", "MoveReason", "StockItem", "StockMove",
]


class StockQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_supply"


class StockItem(models.Model):
    """One kind of supply a committee hands out (口罩, 抗原试剂, 体温枪, 消毒液…)."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("物品"), max_length=40)
    unit = models.CharField(_("单位"), max_length=10, default="个")
    quantity = models.IntegerField(_("库存"), default=0)
    # How many of it go into one home-isolation kit (防疫包), handed over at the door visit; 0: none.
    kit_quantity = models.PositiveIntegerField(_("每份防疫包数量"), default=0)

    objects = StockQuerySet.as_manager()

    class Meta:
        ordering = ["committee_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "name"], name="stock_item_unique_name"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_item_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.quantity}{self.unit}"


class MoveReason(models.TextChoices):
    DONATION = "donation", _("捐赠入库")
    PURCHASE = "purchase", _("采购入库")
    HOUSEHOLD = "household", _("发放到户")
    ISOLATION_KIT = "isolation_kit", _("居家隔离防疫包")
    REQUEST = "request", _("工单/求助")
    OTHER = "other", _("其他")


RECEIPT_REASONS = {MoveReason.DONATION, MoveReason.PURCHASE, MoveReason.OTHER}
ISSUE_REASONS = {MoveReason.HOUSEHOLD, MoveReason.ISOLATION_KIT, MoveReason.REQUEST, MoveReason.OTHER}


class StockMove(models.Model):
    """One line of the ledger: `delta` units in (positive) or out (negative), the balance after it."""

    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="moves")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    delta = models.IntegerField()
    balance = models.IntegerField()
    reason = models.CharField(max_length=20, choices=MoveReason.choices)
    ref = models.CharField(max_length=60, blank=True)  # "donation:12", "isolation_case:3", "ticket:7"
    note = models.CharField(max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField()

    objects = StockQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["committee", "-at"], name="stock_move_committee")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.delta:+d}"


class UnitQuerySet(ScopedQuerySet):
    """Rows received by a committee or by a street: seen by members of that unit or above."""

    scope_committee = "unit"
    scope_cap = "view_supply"

    def visible_to(self, user) -> ScopedQuerySet:
        membership = active_membership(user)
        if membership is None or not membership.has(self.scope_cap) or membership.grid_id:
            nothing = self.none()
            nothing.scoped_for = 0
            return nothing
        scoped = self.filter(unit__path__startswith=membership.org_unit.path)
        scoped.scoped_for = membership.pk
        return scoped


class Donation(models.Model):
    """Goods (lines) or money given to a committee or a street, with its receipt number."""

    class DonorKind(models.TextChoices):
        PERSON = "person", _("个人")
        ORGANISATION = "organisation", _("单位")

    class Kind(models.TextChoices):
        GOODS = "goods", _("物资")
        MONEY = "money", _("资金")

    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField()
    donor_kind = models.CharField(max_length=12, choices=DonorKind.choices)
    donor_name = models.CharField(_("捐赠人"), max_length=60)
    donor_phone = models.CharField(_("联系电话"), max_length=16, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(_("金额(元)"), max_digits=12, decimal_places=2, null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["unit", "year", "seq"], name="donation_receipt_unique")]

    @property
    def number(self) -> str:
        """The receipt number, unique per unit and year: 捐-2026-0007 of one committee."""
        return f"{self.year}-{self.seq:04d}"

    def __str__(self) -> str:
        return f"{self.number} {self.donor_name}"


class DonationLine(models.Model):
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="lines")
    item = models.CharField(_("物品"), max_length=40)
    quantity = models.PositiveIntegerField(_("数量"))
    unit = models.CharField(_("单位"), max_length=10)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.item} {self.quantity}{self.unit}"


class Allocation(models.Model):
    """Where part of a donation went: goods of one line into a committee's stock or to a use,
    money spent on something."""

    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="allocations")
    line = models.ForeignKey(DonationLine, on_delete=models.CASCADE, null=True, related_name="allocations")
    quantity = models.PositiveIntegerField(null=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    stock_move = models.OneToOneField(StockMove, on_delete=models.PROTECT, null=True, related_name="allocation")
    note = models.CharField(max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.donation_id}: {self.quantity or self.amount}"


class LoanQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_supply"


class Loan(models.Model):
    """Equipment borrowed from a resident or an organisation and lent out to a site or a person."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    lender_name = models.CharField(_("出借人"), max_length=60)
    lender_phone = models.CharField(_("联系电话"), max_length=16, blank=True)
    item = models.CharField(_("物品"), max_length=40)
    quantity = models.PositiveIntegerField(_("数量"))
    returned = models.PositiveIntegerField(default=0)
    lent_to = models.CharField(_("借给"), max_length=60)
    due_on = models.DateField(_("归还日期"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    objects = LoanQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(returned__lte=models.F("quantity")), name="loan_returned_le")]
        indexes = [models.Index(fields=["committee", "due_on"], name="loan_committee_due")]

    @property
    def outstanding(self) -> int:
        return self.quantity - self.returned

    def __str__(self) -> str:
        return f"{self.item} {self.returned}/{self.quantity}"


class LoanReturn(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="returns")
    quantity = models.PositiveIntegerField()
    returned_by = models.CharField(max_length=60)  # who brought it back
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.loan_id}: {self.quantity}"
