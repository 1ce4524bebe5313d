"""URLs of the screening station pages."""

from django.urls import path

from . import views_station as v

urlpatterns = [
    path("", v.station_index, name="station_index"),
    path("sw.js", v.station_service_worker, name="station_sw"),
    path("<int:site_id>/", v.station_page, name="station"),
    path("<int:site_id>/batch", v.station_batch, name="station_batch"),
    path("<int:site_id>/counts", v.station_counts, name="station_counts"),
    path("<int:site_id>/lead/", v.station_lead, name="station_lead"),
]
