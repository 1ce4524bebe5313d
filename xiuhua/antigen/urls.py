"""URLs of the antigen module."""

app_name = "antigen"
urlpatterns: list = []
