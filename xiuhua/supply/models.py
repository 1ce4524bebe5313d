"""Models of the supply module: group-buy leaders (团长), their documents, filings (报备) with
their items, the street's reference prices, complaints and bans.

Leaders are residents of a compound; the committee vets them and each buy they file. Documents
expire by their own dates (a driver's negative test 48 hours after it was taken, a permit on its
printed date): `expires_at` is computed when the document is recorded and compared with the
clock, never flipped by a sweep. Reference prices and bans belong to a street (its committees
see them); everything else belongs to the leader's committee.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.core.crypto import mask_name
from xiuhua.core.files import private_storage
from xiuhua.core.scoping import ScopedQuerySet, active_membership
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Resident

TEST_VALID = dt.timedelta(hours=48)
ESCALATE_AFTER = dt.timedelta(hours=2)


def normalise_supplier(name: str) -> str:
    """The key a supplier is banned and matched by: no spaces or punctuation, lower case, and the
    usual company suffixes dropped (上海某某食品有限公司 and 上海某某食品 are one supplier)."""
    key = re.sub(r"[\s\W_]+", "", name or "").lower()
    for suffix in ("有限责任公司", "股份有限公司", "有限公司", "公司", "商行", "经营部"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key


def normalise_licence(number: str) -> str:
    return re.sub(r"[\s\W_]+", "", number or "").upper()


class CommitteeScoped(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "view_supply"


class StreetScoped(models.QuerySet):
    """Rows of a street: seen by members at the street or above, and by the street's committees."""

    def visible_to(self, user):
        membership = active_membership(user)
        if membership is None or not membership.has("view_supply"):
            return self.none()
        path = membership.org_unit.path
        streets = OrgUnit.objects.filter(kind="street")
        streets = streets.filter(Q(path__startswith=path) | Q(pk__in=[u.pk for u in membership.org_unit.ancestors()]
                                                             + [membership.org_unit.pk]))
        return self.filter(street_id__in=streets.values("pk"))


class LeaderStatus(models.TextChoices):
    APPLIED = "applied", _("待审核")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")


class Leader(models.Model):
    """A resident's application to lead group buys for their compound, and, once approved, the
    leader the phone pages recognise by the resident's mobile."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=LeaderStatus.choices, default=LeaderStatus.APPLIED)
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    # Entered by committee staff on the resident's behalf (who is recorded).
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = CommitteeScoped.as_manager()

    class Meta:
        verbose_name = _("团长")
        verbose_name_plural = _("团长")
        constraints = [models.UniqueConstraint(fields=["resident", "compound"], name="supply_leader_unique")]

    def __str__(self) -> str:
        return f"{self.compound.name} {self.name_masked}"

    @property
    def name_masked(self) -> str:
        return mask_name(self.resident.name)


class DocKind(models.TextChoices):
    DRIVER_TEST = "driver_test", _("司机核酸阴性证明")
    FOOD_PERMIT = "food_permit", _("食品经营许可证")
    EPIDEMIC_PERMIT = "epidemic_permit", _("防疫许可/保供资质")
    VEHICLE_PASS = "vehicle_pass", _("车辆通行证")


REQUIRED_KINDS = (DocKind.DRIVER_TEST, DocKind.FOOD_PERMIT, DocKind.EPIDEMIC_PERMIT, DocKind.VEHICLE_PASS)


class Document(models.Model):
    """A document a leader shows the committee. `holder` is whose it is (the driver for a test,
    the supplier for a permit, the plate for a pass)."""

    leader = models.ForeignKey(Leader, on_delete=models.PROTECT, related_name="documents")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=20, choices=DocKind.choices)
    number = models.CharField(_("编号"), max_length=60)
    holder = models.CharField(_("持有人/单位/车牌"), max_length=100)
    taken_at = models.DateTimeField(_("采样时间"), null=True, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    expires_at = models.DateTimeField(editable=False)
    # Re-encoded without EXIF, outside any URL, seen through an audited view.
    photo = models.FileField(_("照片"), upload_to="supply/docs/%Y/%m/", storage=private_storage, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CommitteeScoped.as_manager()

    class Meta:
        verbose_name = _("证件")
        verbose_name_plural = _("证件")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def valid(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at > (now or timezone.now())


class FilingStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("已通过")
    CHANGES_REQUESTED = "changes_requested", _("需修改")
    REFUSED = "refused", _("未通过")


class Filing(models.Model):
    """One buy (报备) a leader files with the committee."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    leader = models.ForeignKey(Leader, on_delete=models.PROTECT, related_name="filings")
    supplier = models.CharField(_("供货商"), max_length=100)
    supplier_key = models.CharField(max_length=100, editable=False, db_index=True)
    supplier_licence = models.CharField(_("营业执照/许可证号"), max_length=60)
    driver_name = models.CharField(_("司机姓名"), max_length=30)
    driver_phone = models.CharField(_("司机电话"), max_length=20)
    vehicle_plate = models.CharField(_("车牌号"), max_length=20)
    window_start = models.DateTimeField(_("送达开始"))
    window_end = models.DateTimeField(_("送达结束"))
    documents = models.ManyToManyField(Document, related_name="filings", blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=FilingStatus.choices,
                              default=FilingStatus.SUBMITTED)
    reason = models.CharField(_("审核意见"), max_length=200, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Set once by the escalation sweep (a conditional UPDATE): the head was texted.
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = CommitteeScoped.as_manager()

    class Meta:
        verbose_name = _("团购报备")
        verbose_name_plural = _("团购报备")
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return _("报备 %(n)s") % {"n": self.number}

    @property
    def number(self) -> str:
        return f"TG{self.pk:06d}"

    @property
    def flagged(self) -> bool:
        return any(item.flagged for item in self.items.all())


class FilingItem(models.Model):
    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("品名"), max_length=60)
    unit = models.CharField(_("单位"), max_length=10)
    pack_quantity = models.DecimalField(_("每份数量"), max_digits=10, decimal_places=2)
    price = models.DecimalField(_("价格(元)"), max_digits=10, decimal_places=2)
    # A bundle (套餐) lists every item in it, one per line ("土豆 1kg").
    contents = models.TextField(_("套餐内容"), blank=True)
    reference_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    allowed_share = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    flagged = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.pack_quantity}{self.unit} ¥{self.price}"

    @property
    def unit_price(self) -> Decimal:
        return (self.price / self.pack_quantity).quantize(Decimal("0.01"))


class PriceRule(models.Model):
    """A street's allowed share above the reference price (percent)."""

    street = models.OneToOneField(OrgUnit, on_delete=models.PROTECT, related_name="+")
    share = models.DecimalField(_("允许高出参考价比例(%)"), max_digits=5, decimal_places=2, default=Decimal("10"))

    objects = StreetScoped.as_manager()

    def __str__(self) -> str:
        return f"{self.street} {self.share}%"


DEFAULT_SHARE = Decimal("10")


class ReferencePrice(models.Model):
    """The street's reference price of an item per unit, in force from a date (history kept)."""

    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("品名"), max_length=60)
    unit = models.CharField(_("单位"), max_length=10)
    price = models.DecimalField(_("参考单价(元)"), max_digits=10, decimal_places=2)
    effective_from = models.DateField(_("执行日期"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = StreetScoped.as_manager()

    class Meta:
        ordering = ["name", "unit", "-effective_from", "-pk"]
        constraints = [models.UniqueConstraint(fields=["street", "name", "unit", "effective_from"],
                                               name="supply_refprice_unique")]

    def __str__(self) -> str:
        return f"{self.name} ¥{self.price}/{self.unit}"


class ComplaintKind(models.TextChoices):
    PRICE = "price", _("价格过高")
    WEIGHT = "weight", _("缺斤少两")
    QUALITY = "quality", _("质量问题")
    NO_SHOW = "no_show", _("未送达")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    HANDLED = "handled", _("已处理")


class Complaint(models.Model):
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    filing = models.ForeignKey(Filing, on_delete=models.PROTECT, related_name="complaints")
    kind = models.CharField(_("类型"), max_length=12, choices=ComplaintKind.choices)
    text = models.CharField(_("情况说明"), max_length=500)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    outcome = models.CharField(_("处理结果"), max_length=200, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = CommitteeScoped.as_manager()

    class Meta:
        verbose_name = _("团购投诉")
        verbose_name_plural = _("团购投诉")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filing.number}"


class BanKind(models.TextChoices):
    LEADER = "leader", _("团长")
    SUPPLIER = "supplier", _("供货商")


class Ban(models.Model):
    """A leader or supplier banned street-wide; in force until lifted."""

    street = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")  # who banned
    kind = models.CharField(_("类型"), max_length=10, choices=BanKind.choices)
    leader = models.ForeignKey(Leader, null=True, blank=True, on_delete=models.PROTECT, related_name="bans")
    supplier = models.CharField(_("供货商"), max_length=100, blank=True)
    supplier_key = models.CharField(max_length=100, blank=True, db_index=True)
    licence_key = models.CharField(_("执照号"), max_length=60, blank=True, db_index=True)
    reason = models.CharField(_("理由"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    objects = StreetScoped.as_manager()

    class Meta:
        verbose_name = _("禁入名单")
        verbose_name_plural = _("禁入名单")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        if self.kind == BanKind.LEADER and self.leader is not None:
            return _("团长 %(name)s") % {"name": self.leader.name_masked}
        return self.supplier


# Offers, votes, orders and delivery; donations, loans and stock: each in its own module.
from .models_orders import *  # noqa: E402,F401,F403
from .models_stock import *  # noqa: E402,F401,F403
