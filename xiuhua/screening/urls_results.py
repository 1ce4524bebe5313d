"""URLs of the screening results pages."""

from django.urls import path

from . import views_coverage as coverage
from . import views_results as v

urlpatterns = [
    path("results/", v.results_index, name="results"),
    path("rounds/<int:pk>/results/", v.round_results, name="round_results"),
    path("rounds/<int:pk>/boxes/receive/", v.box_receive_view, name="box_receive"),
    path("results/imports/<int:pk>/", v.result_import, name="result_import"),
    path("reviews/", v.reviews, name="reviews"),
    path("rounds/<int:pk>/coverage/", coverage.coverage, name="coverage"),
    path("rounds/<int:pk>/coverage/not-sampled/", coverage.not_sampled, name="not_sampled"),
    path("rounds/<int:pk>/coverage/not-sampled.xlsx", coverage.not_sampled_xlsx, name="not_sampled_xlsx"),
    path("reviews/<int:pk>/sample/", v.review_sample_view, name="review_sample"),
]
