"""URLs of the work-order module (tickets)."""

from django.urls import URLPattern

app_name = "tickets"
urlpatterns: list[URLPattern] = []
