"""URLs of the volunteers module."""

from django.urls import include, path

app_name = "volunteers"
urlpatterns: list = [
    path("", include("xiuhua.volunteers.urls_aid")),
]
