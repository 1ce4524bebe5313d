"""The org-unit tree (city > district > street > committee > compound > building) and grids.

Each unit keeps a materialised path ("/1/4/17/") so that "everything under this unit" is one
indexed prefix query, on SQLite and PostgreSQL alike.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .addresses import normalise as normalise_address

SORT_KEY_LENGTH = 255
_DIGITS = re.compile(r"[0-9]+")
_PHONE = re.compile(r"[0-9()（）+\- ]{5,20}(?:转[0-9]{1,6})?")


def natural_key(text: str) -> str:
    """A text that sorts as people count: every run of digits padded to ten places, after the
    address normalisation (full-width and Chinese numerals to digits), so 1号 < 2号 < 19号 and
    五号楼 sits with 5号楼. Stored on places (OrgUnit.sort_key) and households (Household.room_sort);
    the lists order by it through `in_natural_order`."""
    normalised = normalise_address(text)
    return _DIGITS.sub(lambda m: m.group().lstrip("0").rjust(10, "0"), normalised)[:SORT_KEY_LENGTH]


class Kind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区")
    STREET = "street", _("街道/镇")
    COMMITTEE = "committee", _("居委会/村委会")
    COMPOUND = "compound", _("小区")
    BUILDING = "building", _("楼栋")


KIND_ORDER = [Kind.CITY, Kind.DISTRICT, Kind.STREET, Kind.COMMITTEE, Kind.COMPOUND, Kind.BUILDING]
KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
CODED_KINDS = {Kind.STREET, Kind.COMMITTEE}


class CompoundType(models.TextChoices):
    ENCLOSED = "enclosed", _("物业封闭")
    MILITARY = "military", _("部队")
    OPEN = "open", _("开放式")


class OrgUnitQuerySet(models.QuerySet):
    def visible_to(self, user) -> "OrgUnitQuerySet":
        """The active membership's unit and everything under it."""
        from xiuhua.core.scoping import active_membership

        membership = active_membership(user)
        if membership is None or not membership.has("view_places"):
            return self.none()
        return self.filter(path__startswith=membership.org_unit.path)

    def in_natural_order(self) -> "OrgUnitQuerySet":
        """Units grouped under their grandparent and parent, then by code (streets, committees)
        and natural name order: 1号, 2号, 19号 (not 1号, 19号, 2号). For every place list and
        picker: a committee's compounds, a compound's buildings, all buildings of a committee."""
        return self.order_by(
            "parent__parent__sort_key", "parent__parent_id", "parent__sort_key", "parent_id", "code", "sort_key", "pk"
        )


class OrgUnit(models.Model):
    kind = models.CharField(_("层级"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # 12-digit statistical division code (统计用区划代码) for streets and committees.
    code = models.CharField(_("区划代码"), max_length=12, blank=True, default="")
    compound_type = models.CharField(_("小区类型"), max_length=16, choices=CompoundType.choices, blank=True, default="")
    # Compounds only: other names and road-and-lane addresses, one per line ("国和路346弄"), so that
    # addresses on tracing lists written by road and lane find the compound (places.addresses).
    aliases = models.TextField(_("别名与门牌"), blank=True, default="")
    # Committees: the number residents call (shown on their pages: places_extras.committee_phone).
    phone = models.CharField(_("联系电话"), max_length=30, blank=True, default="",
                             help_text=_("居委会的对外电话,显示在居民使用的页面上,例:021-65430000"))
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    sort_key = models.CharField(max_length=SORT_KEY_LENGTH, editable=False, default="")
    committee = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        help_text="The committee this unit belongs to (itself for a committee); for scoping.",
    )

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=~models.Q(code=""), name="orgunit_code_unique"),
            models.UniqueConstraint(fields=["parent", "name"], name="orgunit_sibling_name_unique"),
        ]
        indexes = [models.Index(fields=["parent", "sort_key"], name="orgunit_natural_order")]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pk:
            stored = OrgUnit.objects.filter(pk=self.pk).values("parent_id", "kind").first()
            if stored and (stored["parent_id"], stored["kind"]) != (self.parent_id, self.kind):
                # Paths and the committee copied onto households would go stale.
                raise ValidationError(_("单元的上级和层级创建后不能更改,请新建单元后迁移"))
        rank = KIND_RANK[Kind(self.kind)]
        if rank == 0:
            if self.parent_id:
                raise ValidationError(_("市级单元不能有上级"))
        elif not self.parent or KIND_RANK[Kind(self.parent.kind)] != rank - 1:
            raise ValidationError(_("上级单元的层级不对"))
        if self.kind in CODED_KINDS and not (len(self.code) == 12 and self.code.isascii() and self.code.isdigit()):
            raise ValidationError({"code": _("街道和居委会须填写12位区划代码")})
        if self.kind not in CODED_KINDS and self.code:
            raise ValidationError({"code": _("只有街道和居委会有区划代码")})
        if self.kind == Kind.COMPOUND and not self.compound_type:
            raise ValidationError({"compound_type": _("请选择小区类型")})
        if self.phone:
            self.phone = " ".join(self.phone.split())
            if self.kind != Kind.COMMITTEE:
                raise ValidationError({"phone": _("只有居委会填写联系电话")})
            if not _PHONE.fullmatch(self.phone) or sum(c.isdigit() for c in self.phone) < 5:
                raise ValidationError({"phone": _("联系电话格式不正确,例:021-65430000")})

    def save(self, *args, **kwargs) -> None:
        parent = self.parent
        self.sort_key = natural_key(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "sort_key"}
        if self.kind == Kind.COMMITTEE:
            self.committee_id = None  # set below, once the row has an id
        elif parent is not None and KIND_RANK[Kind(self.kind)] > KIND_RANK[Kind.COMMITTEE]:
            self.committee_id = parent.pk if parent.kind == Kind.COMMITTEE else parent.committee_id
        super().save(*args, **kwargs)
        path = f"{parent.path if parent is not None else '/'}{self.pk}/"
        updates: dict[str, object] = {}
        if self.path != path:
            self.path = path
            updates["path"] = path
        if self.kind == Kind.COMMITTEE and self.committee_id != self.pk:
            self.committee_id = self.pk
            updates["committee_id"] = self.pk
        if updates:
            OrgUnit.objects.filter(pk=self.pk).update(**updates)

    def ancestors(self) -> OrgUnitQuerySet:
        ids = [int(part) for part in self.path.strip("/").split("/") if part]
        return OrgUnit.objects.filter(pk__in=ids).order_by("path")

    def descendants(self, include_self: bool = True) -> OrgUnitQuerySet:
        qs = OrgUnit.objects.filter(path__startswith=self.path)
        return qs if include_self else qs.exclude(pk=self.pk)

    def is_within(self, other: "OrgUnit") -> bool:
        return self.path.startswith(other.path)


class GridQuerySet(models.QuerySet):
    def visible_to(self, user) -> "GridQuerySet":
        from xiuhua.core.scoping import active_membership, unit_scope_q

        membership = active_membership(user)
        if membership is None or not membership.has("view_places"):
            return self.none()
        if membership.grid_id:
            # A grid worker sees their grid and the micro-grids inside it.
            return self.filter(models.Q(pk=membership.grid_id) | models.Q(parent_id=membership.grid_id))
        return self.filter(unit_scope_q(membership, committee="committee", building=None, grid=None, micro_grid=None))


class Grid(models.Model):
    """A grid or micro-grid (20-30 households) drawn by a committee over its households."""

    class GridKind(models.TextChoices):
        GRID = "grid", _("网格")
        MICRO = "micro", _("微网格")

    committee = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="grids", limit_choices_to={"kind": "committee"}
    )
    kind = models.CharField(_("类型"), max_length=8, choices=GridKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="micro_grids")

    objects = GridQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        constraints = [
            models.UniqueConstraint(fields=["committee", "name"], name="grid_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.GridKind.MICRO:
            if not self.parent or self.parent.kind != self.GridKind.GRID:
                raise ValidationError(_("微网格须属于一个网格"))
            if self.parent.committee_id != self.committee_id:
                raise ValidationError(_("微网格与网格须属于同一居委会"))
        elif self.parent_id:
            raise ValidationError(_("网格不能有上级网格"))
