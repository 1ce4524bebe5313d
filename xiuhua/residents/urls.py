from django.urls import path

from . import roster_views, views

app_name = "residents"
urlpatterns = [
    path("", views.search, name="search"),
    path("<int:resident_id>/", views.resident_detail, name="detail"),
    path("<int:resident_id>/edit/", views.resident_edit, name="edit"),
    path("<int:resident_id>/reveal/", views.resident_reveal, name="reveal"),
    path("households/", views.households, name="households"),
    path("households/new/", views.household_new, name="household_new"),
    path("households/<int:household_id>/", views.household_detail, name="household"),
    path("households/<int:household_id>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:household_id>/add/", views.resident_new, name="resident_new"),
    # Rosters (花名册)
    path("roster/", roster_views.roster_index, name="roster"),
]
