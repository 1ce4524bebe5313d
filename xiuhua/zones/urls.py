"""URLs of the zones module."""

app_name = "zones"
urlpatterns: list = []
