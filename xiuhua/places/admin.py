from django.contrib import admin

from .models import Grid, OrgUnit


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "code", "compound_type", "phone", "parent")
    list_filter = ("kind", "compound_type")
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)
    ordering = ("path",)


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "committee", "parent")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("committee", "parent")
