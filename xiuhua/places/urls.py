from django.urls import path

from . import views

app_name = "places"
urlpatterns = [
    path("", views.tree_root, name="tree"),
    path("<int:unit_id>/", views.unit_detail, name="unit"),
]
