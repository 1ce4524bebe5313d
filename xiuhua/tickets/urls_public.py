"""The resident's door QR pages and follow-up page, included at /help/ in the "help" namespace."""

from django.urls import path

from . import views_public as v

app_name = "help"
urlpatterns = [
    path("", v.start, name="start"),
    path("d/<str:key>/", v.door, name="door"),
    path("d/<str:key>/code/", v.sign_in.send, name="otp_send"),
    path("d/<str:key>/verify/", v.sign_in.check, name="verify"),
    path("t/<str:token>/", v.follow, name="follow"),
]
