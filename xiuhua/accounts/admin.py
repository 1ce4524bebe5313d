from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ("org_unit", "grid")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ("username", "display_name", "is_active", "is_staff", "last_login")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("xiuhua", {"fields": ("display_name",)}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "membership", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    raw_id_fields = ("membership",)

    def has_add_permission(self, request) -> bool:
        # Keys are shown once, so they are issued with `manage.py issue_api_token`.
        return False
