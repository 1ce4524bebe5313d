from django.contrib import admin

from .models import ScreeningRule


@admin.register(ScreeningRule)
class ScreeningRuleAdmin(admin.ModelAdmin):
    """The district edits the numbers new rounds start with; older rules stay as history."""

    list_display = ("effective_from", "line_rate_per_hour", "queue_min", "queue_max", "min_open_lines",
                    "no_show_percent", "result_alert_hours", "default_pool_rule")
