"""URLs of the work-order module (tickets_doors)."""

from django.urls import URLPattern

app_name = "tickets_doors"
urlpatterns: list[URLPattern] = []
