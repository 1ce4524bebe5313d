"""URLs of the work-order module (tickets_office)."""

from django.urls import URLPattern

app_name = "tickets_office"
urlpatterns: list[URLPattern] = []
