"""URLs of group buying's delivery (included from supply.urls)."""

from django.urls import path

from . import views_delivery as delivery

urlpatterns: list = [
    path("deliveries/", delivery.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/", delivery.delivery, name="delivery"),
    path("deliveries/<int:pk>/gate/", delivery.delivery_gate, name="delivery_gate"),
    path("deliveries/<int:pk>/disinfect/", delivery.delivery_disinfect, name="delivery_disinfect"),
    path("deliveries/<int:pk>/sort/", delivery.delivery_sort, name="delivery_sort"),
    path("deliveries/<int:pk>/picklist.pdf", delivery.picklist, name="delivery_picklist"),
    path("deliveries/<int:pk>/labels.pdf", delivery.labels, name="delivery_labels"),
    path("deliver/", delivery.to_deliver, name="to_deliver"),
    path("o/<str:key>/", delivery.door, name="door"),
]
