from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Grid, OrgUnit

# Labels for the foreign keys declared without a verbose name (their column headers and form labels).
LABELS = {"parent": _("上级"), "committee": _("居委会")}


class LabelledAdmin(admin.ModelAdmin):
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in LABELS:
            kwargs.setdefault("label", LABELS[db_field.name])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.display(description=LABELS["parent"], ordering="parent__name")
def parent(obj):
    return obj.parent


@admin.display(description=LABELS["committee"], ordering="committee__name")
def committee(obj):
    return obj.committee


@admin.register(OrgUnit)
class OrgUnitAdmin(LabelledAdmin):
    list_display = ("name", "kind", "code", "compound_type", "phone", parent)
    list_filter = ("kind", "compound_type")
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)
    ordering = ("path",)


@admin.register(Grid)
class GridAdmin(LabelledAdmin):
    list_display = ("name", "kind", committee, parent)
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("committee", "parent")
