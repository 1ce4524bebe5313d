"""URLs of the zones: the board, zones, positives, compounds and their posters, rules, and each
compound's public page (`p/<token>/`, no login)."""

from django.urls import path

from . import views

app_name = "zones"
urlpatterns = [
    path("", views.board, name="board"),
    path("<int:zone_id>/", views.zone_detail, name="zone"),
    path("<int:zone_id>/draw/", views.zone_draw, name="zone_draw"),
    path("positives/new/", views.positive_new, name="positive_new"),
    path("compounds/", views.compounds, name="compounds"),
    path("compounds/<int:compound_id>/poster/", views.poster, name="poster"),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.rule_new, name="rule_new"),
    path("rules/<int:rule_id>/", views.rule_detail, name="rule"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/publish/", views.rule_publish, name="rule_publish"),
    path("p/<str:token>/", views.public_page, name="public"),
]
