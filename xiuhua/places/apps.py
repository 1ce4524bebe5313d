from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "xiuhua.places"
    label = "places"
    verbose_name = "地点"
