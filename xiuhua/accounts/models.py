import hashlib
import secrets

from axes.models import AccessAttempt
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
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


class Membership(models.Model):
    """A user's role in one org unit (and, for grid workers, optionally one grid)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("用户"))
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="memberships",
                                 verbose_name=_("所属单位"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships",
                             verbose_name=_("网格"))
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        constraints = [models.UniqueConstraint(fields=["user", "org_unit", "role", "grid"], name="membership_unique")]

    def __str__(self) -> str:
        where = f"{self.org_unit} / {self.grid}" if self.grid_id else str(self.org_unit)
        return f"{self.get_role_display()} · {where}"

    def has(self, cap: str) -> bool:
        return self.active and role_has(self.role, cap)

    def clean(self) -> None:
        if self.grid is not None and (
            self.org_unit.kind != Kind.COMMITTEE or self.grid.committee_id != self.org_unit_id
        ):
            raise ValidationError(_("网格须属于所选居委会"))


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
