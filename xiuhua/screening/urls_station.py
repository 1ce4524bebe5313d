"""URLs of the screening station pages."""

urlpatterns: list = []
