from django.db import models
from django.utils.translation import gettext_lazy as _

from xiuhua.core.crypto import mask_identity
from xiuhua.core.idnumbers import IdType
from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import Grid, OrgUnit


class HouseholdQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_building = "building"
    scope_grid = "grid"
    scope_micro_grid = "micro_grid"


class Household(models.Model):
    """One address: a room in a building."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="households")
    room = models.CharField(_("室号"), max_length=20)
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    micro_grid = models.ForeignKey(
        Grid, null=True, blank=True, on_delete=models.SET_NULL, related_name="households"
    )
    is_rental = models.BooleanField(_("出租房"), default=False)
    landlord_name = models.CharField(_("房东姓名"), max_length=50, blank=True)
    landlord_phone = models.CharField(_("房东电话"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        constraints = [
            models.UniqueConstraint(fields=["building", "room"], name="household_address_unique")
        ]
        indexes = [models.Index(fields=["committee", "building", "room"])]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return f"{self.compound.name}{self.building.name}{self.room}室"

    def save(self, *args, **kwargs) -> None:
        # Denormalised for scoping: one indexed column instead of a walk up the tree.
        self.compound_id = self.building.parent_id
        self.committee_id = self.building.committee_id
        super().save(*args, **kwargs)


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    TENANT = "tenant", _("租客")
    OTHER = "other", _("其他")


class LivingStatus(models.TextChoices):
    HERE = "here", _("在住")
    AWAY = "away", _("外出")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已故")


class Tag(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    PREGNANT = "pregnant", _("孕妇")
    DIALYSIS = "dialysis", _("透析")
    CHEMOTHERAPY = "chemotherapy", _("化疗")
    DISABLED = "disabled", _("残疾")
    LOW_INCOME = "low_income", _("低收入")
    NO_SMARTPHONE = "no_smartphone", _("无智能手机")
    FOREIGN_NATIONAL = "foreign_national", _("外籍人士")
    MEDICAL_PROFESSIONAL = "medical_professional", _("医务人员")
    OTHER_SKILLS = "other_skills", _("其他技能")


class ResidentQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_building = "household__building"
    scope_grid = "household__grid"
    scope_micro_grid = "household__micro_grid"


class Resident(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="residents")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    id_type = models.CharField(_("证件类型"), max_length=20, choices=IdType.choices)
    # Encrypted number, keyed hash for lookups, masked copy and last 4 for search and display.
    id_encrypted = models.TextField(editable=False)
    id_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=24, editable=False)
    id_last4 = models.CharField(max_length=4, editable=False)
    mobile = models.CharField(_("手机号"), max_length=20, blank=True)
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices)
    living_status = models.CharField(
        _("居住状态"), max_length=16, choices=LivingStatus.choices, default=LivingStatus.HERE
    )
    away_until = models.DateField(_("预计返回日期"), null=True, blank=True)
    language = models.CharField(_("语言"), max_length=30, blank=True)
    specialty = models.CharField(_("专业/科室"), max_length=50, blank=True)
    skills = models.CharField(_("其他技能"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        indexes = [
            models.Index(fields=["committee", "name"]),
            models.Index(fields=["committee", "id_last4"]),
            models.Index(fields=["mobile"]),
            models.Index(fields=["name"]),
            models.Index(fields=["id_last4"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.household.committee_id
        super().save(*args, **kwargs)

    @property
    def tag_codes(self) -> list[str]:
        return sorted(t.tag for t in self.tags.all())

    @staticmethod
    def masked(number: str) -> str:
        return mask_identity(number)


class ResidentTag(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=32, choices=Tag.choices)
    # Kept beside the tag so that "every dialysis patient in this street" is one index scan.
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resident", "tag"], name="resident_tag_unique")]
        indexes = [models.Index(fields=["tag", "committee"])]

    def __str__(self) -> str:
        return self.get_tag_display()
