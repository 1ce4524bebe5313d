"""URLs of the supply module."""

app_name = "supply"
urlpatterns: list = []
