"""Resident and public pages, included at /masks/ in the "masks" namespace (names public_*)."""

from django.urls import include, path, re_path

from xiuhua.api import resident_api

from . import views_public as v

urlpatterns = [
    # Committee QR page, its printable QR, and the resident's phone login by SMS code.
    path("c/<str:code>/", v.committee_page, name="public_committee"),
    path("c/<str:code>/qr.svg", v.committee_qr, name="public_committee_qr"),
    path("c/<str:code>/print/", v.committee_poster, name="public_committee_poster"),
    path("c/<str:code>/code/", v.sign_in.send, name="public_otp_send"),
    path("c/<str:code>/verify/", v.sign_in.check, name="public_verify"),
    path("c/<str:code>/reserve/", v.reserve, name="public_reserve"),
    # The verified phone's own reservations and vouchers.
    path("me/", v.status, name="public_status"),
    path("me/logout/", v.sign_in.logout, name="public_logout"),
    # The same for apps, in JSON, with a bearer token for the proven phone (xiuhua/masks/api.py):
    # api/code, api/token, api/reservations as public_api_code, _token, _reservations.
    path("api/", include(resident_api.urls[0])),
    # Transparency: no login, no personal data.
    path("p/<int:pk>/", v.pharmacy_page, name="public_pharmacy"),
    path("open/", v.open_index, name="public_open"),
    path("open/rounds/<int:round_id>/", v.open_round, name="public_open_round"),
    re_path(
        r"^open/rounds/(?P<round_id>[0-9]+)/pharmacies\.(?P<fmt>json|csv)$",
        v.open_pharmacies,
        name="public_open_pharmacies",
    ),
    re_path(
        r"^open/rounds/(?P<round_id>[0-9]+)/committees\.(?P<fmt>json|csv)$",
        v.open_committees,
        name="public_open_committees",
    ),
]
