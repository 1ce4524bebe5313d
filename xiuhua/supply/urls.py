"""URLs of the supply module."""

from django.urls import include, path

app_name = "supply"
urlpatterns: list = [
    path("", include("xiuhua.supply.urls_stock")),
]
