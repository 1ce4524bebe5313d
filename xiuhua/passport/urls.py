"""URLs of the passport module (/passport/): staff pages, and the page a card's QR code opens."""

from django.urls import path

from . import views, views_public

app_name = "passport"
urlpatterns = [
    path("", views.home, name="home"),
    path("grid/<int:pk>/", views.grid, name="grid"),
    path("grid/<int:pk>/cards.pdf", views.cards, name="cards"),
    path("h/<int:pk>/", views.household, name="household"),
    path("h/<int:pk>/stamp/", views.stamp, name="stamp"),
    path("h/<int:pk>/card.pdf", views.card, name="card"),
    path("stamp/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    # The card's QR code (residents prove a phone; staff go on to the staff page).
    path("d/<str:code>/", views_public.door, name="door"),
    path("d/<str:code>/code/", views_public.sign_in.send, name="door_send"),
    path("d/<str:code>/verify/", views_public.sign_in.check, name="door_verify"),
    path("d/<str:code>/logout/", views_public.sign_in.logout, name="door_logout"),
    path("d/<str:code>/stamps/", views_public.door_stamps, name="door_stamps"),
]
