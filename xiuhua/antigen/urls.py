"""URLs of the antigen module (see views.py and views_public.py)."""

from django.urls import path

from . import views as v
from . import views_public as p

app_name = "antigen"
urlpatterns: list = [
    path("", v.coverage, name="coverage"),
    path("not-reported/", v.not_reported, name="not_reported"),
    path("not-reported.xlsx", v.not_reported_xlsx, name="not_reported_xlsx"),
    path("b/<int:pk>/", v.building_page, name="building"),
    path("b/<int:pk>/record/", v.record, name="record"),
    path("r/<int:pk>/photo/", v.photo, name="photo"),
    path("positives/", v.positives, name="positives"),
    path("r/<int:pk>/arrange/", v.arrange, name="arrange"),
    path("r/<int:pk>/confirm/", v.confirm, name="confirm"),
    path("reminder/", v.reminder, name="reminder"),
    path("my/", p.my_start, name="my_start"),
    path("my/code/", p.sign_in.send, name="my_otp_send"),
    path("my/verify/", p.sign_in.check, name="my_verify"),
    path("my/logout/", p.sign_in.logout, name="my_logout"),
    path("my/report/", p.my_report, name="my_report"),
    path("my/report.json", p.my_report_json, name="my_report_json"),
]
