"""Mutual aid's URLs (included by the volunteers module's urls at "")."""

from django.urls import path

from . import views_aid as views

urlpatterns = [
    path("aid/", views.aid, name="aid"),
    path("aid/open.json", views.aid_open_json, name="aid_open_json"),
    path("aid/new/", views.aid_post, name="aid_post"),
    path("aid/<int:pk>/", views.aid_detail, name="aid_detail"),
    path("aid/<int:pk>/claim/", views.aid_claim, name="aid_claim"),
    path("aid/<int:pk>/done/", views.aid_done, name="aid_done"),
    path("aid/<int:pk>/cancel/", views.aid_cancel, name="aid_cancel"),
    path("aid/pairing/", views.aid_pairing, name="aid_pairing"),
    path("aid/pairing/rule/", views.aid_rule_set, name="aid_rule_set"),
    path("aid/pairing/pool/", views.aid_pool_save, name="aid_pool_save"),
    path("aid/pairing/pair/", views.aid_pair_create, name="aid_pair_create"),
    path("aid/pairing/unpair/", views.aid_pair_remove, name="aid_pair_remove"),
    path("aid/covers/", views.aid_covers, name="aid_covers"),
    path("aid/covers/<int:pk>/end/", views.aid_cover_end, name="aid_cover_end"),
    path("aid/seconded/<int:pk>/end/", views.aid_secondment_end, name="aid_secondment_end"),
]
