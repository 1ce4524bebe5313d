"""URLs of the passport module (/passport/)."""

from django.urls import path

from . import views

app_name = "passport"
urlpatterns = [
    path("", views.home, name="home"),
    path("grid/<int:pk>/", views.grid, name="grid"),
    path("grid/<int:pk>/cards.pdf", views.cards, name="cards"),
    path("h/<int:pk>/", views.household, name="household"),
    path("h/<int:pk>/stamp/", views.stamp, name="stamp"),
    path("h/<int:pk>/card.pdf", views.card, name="card"),
    path("stamp/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
