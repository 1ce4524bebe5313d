"""URLs of the screening plan pages."""

urlpatterns: list = []
