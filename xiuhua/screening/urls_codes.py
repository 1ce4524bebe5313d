"""URLs of the screening codes pages (views_codes), in the "screening" namespace."""

from django.urls import path

from . import views_codes as v

urlpatterns: list = [
    path("", v.round_list, name="codes_rounds"),
    path("r/<int:round_pk>/", v.round_page, name="codes_round"),
    path("r/<int:round_pk>/c/<int:committee_pk>/generate/", v.generate, name="codes_generate"),
    path("r/<int:round_pk>/b/<int:building_pk>/<str:layout>.pdf", v.labels, name="codes_labels"),
    path("r/<int:round_pk>/walk-in/", v.walk_in, name="codes_walk_in"),
    path("r/<int:round_pk>/code/<int:code_pk>/<str:layout>.pdf", v.code_label, name="codes_label"),
    path("my/", v.my_start, name="my_start"),
    path("my/code/", v.sign_in.send, name="my_otp_send"),
    path("my/verify/", v.sign_in.check, name="my_verify"),
    path("my/logout/", v.sign_in.logout, name="my_logout"),
    path("my/codes/", v.my_codes, name="my_codes"),
]
