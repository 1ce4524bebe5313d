"""URLs of the work-order module's street-office pages (tickets_office, at /tickets/office/)."""

from django.urls import path

from . import views_office

app_name = "tickets_office"
urlpatterns = [
    path("import/", views_office.hotline_import, name="import"),
    path("daily/", views_office.daily, name="daily"),
    path("daily.xlsx", views_office.daily_xlsx, name="daily_xlsx"),
]
