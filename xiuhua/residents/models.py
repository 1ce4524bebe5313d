from django.db import models
from django.utils.translation import gettext_lazy as _

from xiuhua.core.crypto import mask_identity
from xiuhua.core.idnumbers import IdType, number_holds_birth_date
from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import Grid, OrgUnit, natural_key


class HouseholdQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_building = "building"
    scope_grid = "grid"
    scope_micro_grid = "micro_grid"

    def in_natural_order(self) -> "HouseholdQuerySet":
        """By compound, building and room as people count (places.models.natural_key):
        2号楼 before 19号楼, 302 before 1202."""
        return self.order_by(
            "compound__sort_key", "compound_id", "building__sort_key", "building_id", "room_sort", "pk"
        )


class Household(models.Model):
    """One address: a room in a building."""

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    building = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="households")
    room = models.CharField(_("室号"), max_length=20)
    room_sort = models.CharField(max_length=40, editable=False, default="")  # natural_key(room)
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
        building = self.building
        if building.parent_id is None or building.committee_id is None:
            raise ValueError("a household's building must sit under a compound and committee")
        self.compound_id = building.parent_id
        self.committee_id = building.committee_id
        self.room_sort = natural_key(self.room)[:40]
        if kwargs.get("update_fields") is not None and "room" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "room_sort"}
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
    scope_household = "household"


class Resident(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="residents")
    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    id_type = models.CharField(_("证件类型"), max_length=20, choices=IdType.choices)
    # Encrypted number, keyed hash for lookups, masked copy for display, last 4 for search.
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
    # COVID-19 vaccination as the roster or staff record it: doses taken and the last dose's day.
    # The passport's vaccination stamp is read from these (xiuhua/passport/selectors.py).
    # db_default too: writers that COPY residents with their own column lists (benches) get 0.
    vaccine_doses = models.PositiveSmallIntegerField(_("疫苗接种剂次"), default=0, db_default=0)
    vaccinated_on = models.DateField(_("末次接种日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        # Searches are always scoped to committees, so (committee, x) serves a street as well
        # (an IN list); single-column copies would only slow every import.
        indexes = [
            models.Index(fields=["committee", "name"]),
            models.Index(fields=["committee", "id_last4"]),
            models.Index(fields=["mobile"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.committee_id = self.household.committee_id
        super().save(*args, **kwargs)

    @property
    def tag_codes(self) -> list[str]:
        return sorted(t.tag for t in self.tags.all())

    @property
    def birth_in_number(self) -> bool:
        return number_holds_birth_date(self.id_type, self.id_masked)

    @property
    def birth_shown(self) -> str:
        """The birth date as shown beside the masked number: only the year where the number holds
        the date, since the full date leaves only the region to guess. Not an age, which watched
        day by day changes on the birthday."""
        if self.birth_in_number:
            return str(self.birth_date.year)
        return self.birth_date.isoformat()

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


# Rosters (花名册): imports and exports of a committee's residents as Excel/CSV.


class RosterImportQuerySet(ScopedQuerySet):
    scope_committee = "committee"
    scope_cap = "import_roster"


class RosterImport(models.Model):
    """One uploaded roster file, from upload through validation to commit.

    The file and, after validation, its parsed rows hold identity numbers: they are kept only
    encrypted (`payload`) and deleted once the import is committed, refused or abandoned.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("已上传")
        VALIDATING = "validating", _("正在校验")
        VALIDATED = "validated", _("已校验")
        COMMITTING = "committing", _("正在导入")
        COMMITTED = "committed", _("已导入")
        FAILED = "failed", _("失败")
        DISCARDED = "discarded", _("已放弃")

    committee = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Empty for the system (the import_roster command).",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    filename = models.CharField(_("文件名"), max_length=255)
    file_format = models.CharField(max_length=8, editable=False)
    sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已处理行数"), default=0)
    count_new = models.PositiveIntegerField(_("新增"), default=0)
    count_updated = models.PositiveIntegerField(_("更新"), default=0)
    count_unchanged = models.PositiveIntegerField(_("无变化"), default=0)
    count_problem_rows = models.PositiveIntegerField(_("有问题的行"), default=0)
    households_new = models.PositiveIntegerField(_("新建户"), default=0)
    households_updated = models.PositiveIntegerField(_("更新户"), default=0)
    error = models.TextField(_("错误信息"), blank=True)
    # Fernet token (xiuhua.core.crypto.encrypt_text) of the file, then of the parsed rows.
    payload = models.TextField(blank=True, editable=False)
    payload_kind = models.CharField(max_length=8, blank=True, editable=False)
    # Fernet token of what a committable import will add and change (roster.preview); deleted
    # with the payload.
    preview = models.TextField(blank=True, editable=False)

    objects = RosterImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("花名册导入")
        verbose_name_plural = _("花名册导入")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["committee", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in {self.Status.UPLOADED, self.Status.VALIDATING, self.Status.COMMITTING}

    @property
    def committable(self) -> bool:
        return (
            self.status == self.Status.VALIDATED
            and self.count_problem_rows == 0
            and self.payload_kind == "rows"
        )

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)


class RosterProblem(models.Model):
    """One problem of one row: shown before anything is written. Never holds a full ID number.

    Kept as the column's key, the message's source text and the values it quotes, and shown in
    the viewer's language (`column_label`, `text`). Problems stored before that hold the header
    and the message as shown then, with no params.
    """

    roster_import = models.ForeignKey(RosterImport, on_delete=models.CASCADE, related_name="problems")
    row = models.PositiveIntegerField(_("行号"))
    column = models.CharField(_("列"), max_length=20, blank=True)
    message = models.CharField(_("问题"), max_length=300)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("花名册问题")
        verbose_name_plural = _("花名册问题")
        ordering = ["row", "pk"]
        indexes = [models.Index(fields=["roster_import", "row"])]

    def __str__(self) -> str:
        return f"{self.row} {self.column_label} {self.text}"

    @property
    def column_label(self) -> str:
        from .roster.columns import COLUMN_BY_KEY

        column = COLUMN_BY_KEY.get(self.column)
        return str(column.header) if column is not None else self.column

    @property
    def text(self) -> str:
        from .roster.columns import problem_text

        return problem_text(self.message, self.params)


class RosterExportQuerySet(models.QuerySet):
    def visible_to(self, user) -> "RosterExportQuerySet":
        """A prepared export file belongs to the one user who asked for it."""
        from xiuhua.core.scoping import active_membership

        membership = active_membership(user)
        if membership is None or not membership.has("export_roster"):
            return self.none()
        return self.filter(requested_by=user)


class RosterExport(models.Model):
    """A large export produced by the task worker, downloaded once by the user who asked."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("正在生成")
        READY = "ready", _("可下载")
        DOWNLOADED = "downloaded", _("已下载")
        FAILED = "failed", _("失败")

    requested_by = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey("accounts.Membership", on_delete=models.CASCADE, related_name="+")
    committee = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The committee the export is about, where it is about one.",
    )
    filters = models.JSONField(default=dict, blank=True)
    description = models.CharField(_("范围"), max_length=200, blank=True)
    full_ids = models.BooleanField(_("含完整证件号"), default=False)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    file_name = models.CharField(max_length=64, blank=True, editable=False)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RosterExportQuerySet.as_manager()

    class Meta:
        verbose_name = _("花名册导出")
        verbose_name_plural = _("花名册导出")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.description} ({self.get_status_display()})"
