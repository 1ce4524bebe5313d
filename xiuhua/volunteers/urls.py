"""URLs of the volunteers module."""

app_name = "volunteers"
urlpatterns: list = []
