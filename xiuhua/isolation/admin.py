"""The lists an administrator maintains: key regions and the isolation rule."""

from django.contrib import admin

from .models import IsolationRule, KeyRegion


@admin.register(KeyRegion)
class KeyRegionAdmin(admin.ModelAdmin):
    list_display = ("province", "city", "active", "since", "until")
    list_filter = ("active", "province")
    search_fields = ("province", "city")


@admin.register(IsolationRule)
class IsolationRuleAdmin(admin.ModelAdmin):
    list_display = ("effective_from", "period_days", "contact_times", "grace_minutes", "fever_celsius")

    def get_readonly_fields(self, request, obj=None):
        # A rule that cases were opened with stays as it was; a change is a new rule.
        return ("effective_from", "period_days", "contact_times", "grace_minutes", "fever_celsius") if obj else ()
