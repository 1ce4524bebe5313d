from django.urls import path

from . import views

app_name = "sms"
urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("simulate/", views.simulate, name="simulate"),
    path("webhooks/report/", views.webhook_report, name="webhook_report"),
    path("webhooks/inbound/", views.webhook_inbound, name="webhook_inbound"),
]
