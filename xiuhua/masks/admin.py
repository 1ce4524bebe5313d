"""Designated pharmacies in the Django admin, for the system administrator. Street officers use
the pages (/masks/staff/pharmacies/); a change made here is audited as well."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from xiuhua.core.audit import audit

from .models import Pharmacy, PharmacyCommittee


class PharmacyCommitteeInline(admin.TabularInline):
    model = PharmacyCommittee
    extra = 0
    autocomplete_fields = ()
    verbose_name = _("服务的居委会")
    verbose_name_plural = _("服务的居委会")


@admin.register(Pharmacy)
class PharmacyAdmin(admin.ModelAdmin):
    list_display = ("name", "street", "address", "opening_hours", "active")
    list_filter = ("active",)
    search_fields = ("name", "address")
    exclude = ("clerks",)  # attached on the pharmacy page, where clerks are listed by name
    inlines = [PharmacyCommitteeInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit(actor=request.user, action="pharmacy_admin_save", obj=obj, subject_label=obj.name,
              detail={"created": not change, "fields": sorted(form.changed_data)})

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            audit(actor=request.user, action="pharmacy_admin_committees", obj=form.instance,
                  subject_label=form.instance.name)
