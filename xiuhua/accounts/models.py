import hashlib
import secrets

from axes.models import AccessAttempt
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from xiuhua.places.models import Grid, Kind, OrgUnit

from .roles import Role, role_has


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    # Where work reminders go (late work orders); staff without one see them on their home page.
    mobile = models.CharField(_("手机号码"), max_length=20, blank=True)
    # Set when someone else chose the password (an account made for a pharmacy clerk): every page
    # sends the user to change it first (accounts.middleware.PasswordChangeRequiredMiddleware).
    must_change_password = models.BooleanField(_("须修改初始密码"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Temporary(models.TextChoices):
    """Why a membership holds only for a time (blank: a standing membership)."""

    COVER = "cover", _("AB角临时代管")
    SECONDED = "seconded", _("第二书记")


class MembershipQuerySet(models.QuerySet):
    def current(self, now=None) -> "MembershipQuerySet":
        """Active memberships in force at `now`: a temporary one from its start to its end."""
        now = now or timezone.now()
        return self.filter(active=True).filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now)).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now))


class Membership(models.Model):
    """A user's role in one org unit (and, for grid workers, optionally one grid).

    A temporary membership (the partner committee covering for one whose staff are sealed in, a
    seconded officer) holds from `starts_at` until `ends_at`, exactly: `has` and `is_current`
    compare with the clock on every call, so it stops working at its end without any sweep."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("用户"))
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="memberships",
                                 verbose_name=_("所属单位"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships",
                             verbose_name=_("网格"))
    active = models.BooleanField(_("有效"), default=True)
    temporary = models.CharField(_("临时任职"), max_length=16, choices=Temporary.choices, blank=True, default="")
    starts_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("授权人"))
    reason = models.CharField(_("事由"), max_length=200, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        constraints = [
            models.UniqueConstraint(fields=["user", "org_unit", "role", "grid"], condition=Q(temporary=""),
                                    name="membership_unique"),
            models.CheckConstraint(condition=Q(temporary="") | Q(ends_at__isnull=False, starts_at__isnull=False),
                                   name="membership_temporary_has_end"),
        ]

    def __str__(self) -> str:
        if self.temporary:
            until = timezone.localtime(self.ends_at).strftime("%Y-%m-%d %H:%M") if self.ends_at else ""
            return gettext("%(kind)s: %(unit)s, 至%(until)s") % {
                "kind": self.get_temporary_display(), "unit": self.org_unit, "until": until}
        where = f"{self.org_unit} / {self.grid}" if self.grid_id else str(self.org_unit)
        return f"{self.get_role_display()} · {where}"

    def is_current(self, now=None) -> bool:
        if not self.active:
            return False
        if self.starts_at is None and self.ends_at is None:
            return True
        now = now or timezone.now()
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)

    def has(self, cap: str) -> bool:
        return self.is_current() and role_has(self.role, cap)

    def clean(self) -> None:
        if self.grid is not None and (
            self.org_unit.kind != Kind.COMMITTEE or self.grid.committee_id != self.org_unit_id
        ):
            raise ValidationError(_("网格须属于所选居委会"))
        if self.temporary and (self.starts_at is None or self.ends_at is None):
            raise ValidationError(_("临时任职须有开始和结束时间"))
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(_("结束时间须晚于开始时间"))


class ApiToken(models.Model):
    """A bearer token bound to one membership; only its hash is stored."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    key_prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(_("已吊销"), default=False)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, membership: Membership, name: str) -> tuple["ApiToken", str]:
        key = "xh_" + secrets.token_urlsafe(32)
        token = cls.objects.create(membership=membership, name=name, key_prefix=key[:8], key_hash=cls.hash_key(key))
        return token, key


class LoginLockout(AccessAttempt):
    """django-axes' failed logins (a username and address locked out after too many), as the system
    administrator sees them in the admin: deleting one unlocks that login at once."""

    class Meta:
        proxy = True
        verbose_name = _("登录失败与锁定")
        verbose_name_plural = _("登录失败与锁定")
