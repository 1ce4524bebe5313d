"""URLs of group buying's delivery (included from supply.urls)."""

urlpatterns: list = []
