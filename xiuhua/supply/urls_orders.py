"""URLs of group buying's orders (included from supply.urls)."""

urlpatterns: list = []
