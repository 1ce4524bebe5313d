from django.urls import path

app_name = "sms"
urlpatterns: list = []
