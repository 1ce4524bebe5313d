"""URLs of the passport module."""

app_name = "passport"
urlpatterns: list = []
