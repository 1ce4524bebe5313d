"""Door sheets and request photos for staff, included at /tickets/doors/ ("tickets_doors")."""

from django.urls import path

from . import views_doors as v

app_name = "tickets_doors"
urlpatterns = [
    path("", v.building_list, name="list"),
    path("b/<int:building_pk>.pdf", v.building_sheet, name="sheet"),
    path("c/<int:committee_pk>.pdf", v.committee_sheets, name="committee_sheets"),
    path("photo/<int:ticket_id>.jpg", v.request_photo, name="photo"),
]
