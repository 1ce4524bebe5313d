"""URLs of mutual aid between committees (filled by the mutual-aid part of the module)."""

urlpatterns: list = []
