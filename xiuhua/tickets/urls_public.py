"""URLs of the work-order module (help)."""

from django.urls import URLPattern

app_name = "help"
urlpatterns: list[URLPattern] = []
