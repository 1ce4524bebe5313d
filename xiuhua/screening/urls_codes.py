"""URLs of the screening codes pages."""

urlpatterns: list = []
