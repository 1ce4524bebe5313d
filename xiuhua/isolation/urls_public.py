"""Self-registration of arrivals by phone, included at /arrive/ in the "arrive" namespace."""

from django.urls import path

from . import views_public as v

app_name = "arrive"
urlpatterns = [
    path("c/<str:code>/", v.committee_page, name="committee"),
    path("c/<str:code>/qr.svg", v.committee_qr, name="committee_qr"),
    path("c/<str:code>/code/", v.sign_in.send, name="otp_send"),
    path("c/<str:code>/verify/", v.sign_in.check, name="verify"),
    path("c/<str:code>/register/", v.register, name="register"),
    path("c/<str:code>/done/", v.done, name="done"),
    path("c/<str:code>/logout/", v.sign_in.logout, name="logout"),
]
