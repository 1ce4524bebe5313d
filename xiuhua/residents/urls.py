from django.urls import path

from . import roster_views, views

app_name = "residents"
urlpatterns = [
    path("", views.search, name="search"),
    path("search.xlsx", views.search_xlsx, name="search_xlsx"),
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
    path("roster/template/", roster_views.roster_template, name="roster_template"),
    path("roster/upload/", roster_views.roster_upload, name="roster_upload"),
    path("roster/imports/<int:import_id>/", roster_views.roster_import, name="roster_import"),
    path("roster/imports/<int:import_id>/progress/", roster_views.roster_import_progress,
         name="roster_import_progress"),
    path("roster/imports/<int:import_id>/commit/", roster_views.roster_import_commit, name="roster_import_commit"),
    path("roster/imports/<int:import_id>/discard/", roster_views.roster_import_discard,
         name="roster_import_discard"),
    path("roster/export/", roster_views.roster_export, name="roster_export"),
    path("roster/exports/", roster_views.roster_exports, name="roster_exports"),
    path("roster/exports/<int:export_id>/download/", roster_views.roster_export_download,
         name="roster_export_download"),
]
