from django.contrib import admin
from django.urls import include, path

from xiuhua.api import api
from xiuhua.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Resolved in order: group-buy orders come thousands a minute when an offer opens.
    path("supply/", include("xiuhua.supply.urls")),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("accounts/", include("xiuhua.accounts.urls")),
    path("places/", include("xiuhua.places.urls")),
    path("residents/", include("xiuhua.residents.urls")),
    path("sms/", include("xiuhua.sms.urls")),
    path("masks/", include("xiuhua.masks.urls")),
    path("tracing/", include("xiuhua.tracing.urls")),
    path("isolation/", include("xiuhua.isolation.urls")),
    path("arrive/", include("xiuhua.isolation.urls_public")),
    path("tickets/office/", include("xiuhua.tickets.urls_office")),
    path("tickets/doors/", include("xiuhua.tickets.urls_doors")),
    path("tickets/", include("xiuhua.tickets.urls")),
    path("help/", include("xiuhua.tickets.urls_public")),
    path("screening/", include("xiuhua.screening.urls")),
    path("zones/", include("xiuhua.zones.urls")),
    path("antigen/", include("xiuhua.antigen.urls")),
    path("passport/", include("xiuhua.passport.urls")),
    path("volunteers/", include("xiuhua.volunteers.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
