"""URLs of the screening plan pages: rounds, their compounds, sites and lines, the door-to-door
list and the plan."""

from django.urls import path

from . import views_plan as views

urlpatterns = [
    path("", views.rounds, name="rounds"),
    path("rounds/new/", views.round_new, name="round_new"),
    path("rounds/<int:round_id>/", views.round_detail, name="round"),
    path("rounds/<int:round_id>/edit/", views.round_edit, name="round_edit"),
    path("rounds/<int:round_id>/move/<str:action>/", views.round_move, name="round_move"),
    path("rounds/<int:round_id>/compounds/", views.compound_add, name="compound_add"),
    path("compounds/<int:round_compound_id>/", views.compound_change, name="compound_change"),
    path("compounds/<int:round_compound_id>/remove/", views.compound_remove, name="compound_remove"),
    path("rounds/<int:round_id>/sites/new/", views.site_new, name="site_new"),
    path("sites/<int:site_id>/", views.site_edit, name="site_edit"),
    path("sites/<int:site_id>/lines/", views.line_add, name="line_add"),
    path("lines/<int:line_id>/", views.line_edit, name="line_edit"),
    path("rounds/<int:round_id>/exemptions/", views.exemptions, name="exemptions"),
    path("rounds/<int:round_id>/door-to-door.xlsx", views.door_to_door_xlsx, name="door_to_door_xlsx"),
    path("exemptions/<int:exemption_id>/remove/", views.exemption_remove, name="exemption_remove"),
    path("rounds/<int:round_id>/plan/", views.plan, name="plan"),
    path("rounds/<int:round_id>/plan/make/", views.plan_make, name="plan_make"),
    path("rounds/<int:round_id>/plan/sms/", views.plan_sms, name="plan_sms"),
    path("rounds/<int:round_id>/plan/notices.pdf", views.plan_notices, name="plan_notices"),
    path("rounds/<int:round_id>/plan/speaker/", views.plan_speaker, name="plan_speaker"),
]
