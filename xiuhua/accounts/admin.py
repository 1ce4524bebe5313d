"""The admin, as the system administrator uses it: titled for xiuhua, in Chinese, and showing only
what they should touch. Memberships (unit and role) govern access, so Django's groups and
permissions are hidden; the task queue's rows are the worker's; of django-axes only the failed
logins stay, to unlock someone at once."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks_db.models import DBTaskResult

from .models import ApiToken, LoginLockout, Membership, User

admin.site.site_header = _("绣花针社区防控 · 系统管理")
admin.site.site_title = _("绣花针社区防控")
admin.site.index_title = _("系统管理")
admin.site.empty_value_display = "—"


def _unregister(*models) -> None:
    for model in models:
        if admin.site.is_registered(model):
            admin.site.unregister(model)


# Not for staff: groups and permissions (memberships decide what a user may do), axes' raw logs,
# and the task queue's results (the worker's business; SMS has its own pages).
_unregister(Group, AccessAttempt, AccessLog, AccessFailureLog, DBTaskResult)


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 1
    raw_id_fields = ("org_unit", "grid")
    # Temporary memberships are granted and ended on the street's pages (audited), not here.
    readonly_fields = ("temporary", "starts_at", "ends_at", "granted_by", "reason")
    fields = ("org_unit", "role", "grid", "active", "temporary", "starts_at", "ends_at", "granted_by", "reason")


def _without(fieldsets, *names):
    """Django's user fieldsets without the named fields."""
    return tuple((title, {**opts, "fields": tuple(f for f in opts["fields"] if f not in names)})
                 for title, opts in fieldsets)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ("username", "display_name", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    fieldsets = (
        *_without(BaseUserAdmin.fieldsets or (), "groups", "user_permissions"),
        (_("姓名与手机"), {"fields": ("display_name", "mobile")}),
    )
    add_form_template = "admin/accounts/user/add_form.html"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "membership", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    raw_id_fields = ("membership",)

    def has_add_permission(self, request) -> bool:
        # Keys are shown once, so they are issued with `manage.py issue_api_token`.
        return False


@admin.register(LoginLockout)
class LoginLockoutAdmin(admin.ModelAdmin):
    """Who failed to log in, from where, how often; unlocking deletes the record."""

    list_display = ("login_name", "address", "failures", "last_attempt", "locked")
    list_display_links = None
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    actions = ["unlock"]
    fields = ("login_name", "address", "failures", "last_attempt", "locked")
    readonly_fields = fields

    @admin.display(description=_("登录名"), ordering="username")
    def login_name(self, obj) -> str:
        return obj.username or "—"

    @admin.display(description=_("来源地址"), ordering="ip_address")
    def address(self, obj) -> str:
        return obj.ip_address or "—"

    @admin.display(description=_("连续失败次数"), ordering="failures_since_start")
    def failures(self, obj) -> int:
        return obj.failures_since_start

    @admin.display(description=_("最近一次"), ordering="attempt_time")
    def last_attempt(self, obj):
        return obj.attempt_time

    @admin.display(description=_("已锁定"), boolean=True)
    def locked(self, obj) -> bool:
        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    @admin.action(description=_("解除所选登录的锁定"))
    def unlock(self, request, queryset) -> None:
        count, _rows = queryset.delete()
        self.message_user(request, ngettext("已解除 %(n)d 条锁定。", "已解除 %(n)d 条锁定。", count) % {"n": count},
                          messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
