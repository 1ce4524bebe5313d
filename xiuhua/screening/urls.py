"""URLs of the screening module: planning (rounds, sites, lines, the plan), codes, stations."""

from django.urls import include, path

app_name = "screening"
urlpatterns = [
    path("", include("xiuhua.screening.urls_plan")),
    path("codes/", include("xiuhua.screening.urls_codes")),
    path("station/", include("xiuhua.screening.urls_station")),
    path("", include("xiuhua.screening.urls_results")),
]
