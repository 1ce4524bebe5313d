"""Results pages: the authorisation matrix, the street's upload of a lab file through the page,
and the committee's door-to-door single tube."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xiuhua.core.models import AuditEvent
from xiuhua.screening.models import Review, ReviewStatus, Tube, TubeStatus
from xiuhua.screening.services_results import ResultRow, results_apply
from xiuhua.testing import acting, as_user

from .test_results import closed_tube, codes_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(world, screening):
    codes = codes_for(world, screening, 3)
    tube = closed_tube(screening, "T0900", codes)
    results_apply(actor=acting(world.street_officer), screening_round=screening.round,
                  rows=[ResultRow(1, "T0900", "阳性")])
    return tube


def snapshot():
    return (sorted(Tube.objects.values_list("barcode", "status", "result")),
            sorted(Review.objects.values_list("pk", "status", "retest_tube_id")), AuditEvent.objects.count())


def urls(screening, pool):
    from xiuhua.screening.models import ResultImport

    record = ResultImport.objects.create(round=screening.round, uploaded_by=screening.round.created_by,
                                         filename="a.csv", sha256="0" * 64)
    review = Review.objects.filter(pool_tube=pool).first()
    return {
        "results": reverse("screening:results"),
        "round_results": reverse("screening:round_results", args=[screening.round.pk]),
        "box_receive": reverse("screening:box_receive", args=[screening.round.pk]),
        "result_import": reverse("screening:result_import", args=[record.pk]),
        "reviews": reverse("screening:reviews"),
        "coverage": reverse("screening:coverage", args=[screening.round.pk]),
        "not_sampled": reverse("screening:not_sampled", args=[screening.round.pk]),
        "not_sampled_xlsx": reverse("screening:not_sampled_xlsx", args=[screening.round.pk]),
        "review_sample": reverse("screening:review_sample", args=[review.pk]),
    }


NEEDS = {
    "results": "record_results", "round_results": "record_results", "box_receive": "record_results",
    "result_import": "record_results", "reviews": "view_screening", "review_sample": "collect_samples",
    "coverage": "view_screening", "not_sampled": "view_screening", "not_sampled_xlsx": "view_screening",
}
LACKING = {
    "record_results": ("staff_a1", "volunteer", "grid_a1", "district", "pharmacy", "sysadmin", "nobody"),
    "view_screening": ("pharmacy", "sysadmin", "nobody"),
    "collect_samples": ("grid_a1", "pharmacy", "sysadmin", "district", "nobody"),
}


def test_every_url_is_in_the_matrix(screening, pool):
    from xiuhua.screening.urls_results import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(screening, pool)) == set(NEEDS)


def test_anonymous_goes_to_login_and_writes_nothing(client, screening, pool):
    paths = urls(screening, pool)
    before = snapshot()
    for name, url in paths.items():
        for response in (client.get(url), client.post(url, {"barcode": "R0001"})):
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_wrong_role_is_refused_and_writes_nothing(client, screening, pool, name):
    url = urls(screening, pool)[name]
    before = snapshot()
    for username in LACKING[NEEDS[name]]:
        as_user(client, get_user_model().objects.get(username=username))
        assert client.get(url).status_code in (403, 405), (name, username)
        assert client.post(url, {"barcode": "R0001"}).status_code == 403, (name, username)
    assert snapshot() == before


def test_another_street_gets_404(client, world, screening, pool):
    paths = urls(screening, pool)
    as_user(client, world.street_officer_b)
    assert client.get(paths["round_results"]).status_code == 404
    assert client.get(paths["result_import"]).status_code == 404
    as_user(client, world.staff_b1)
    before = snapshot()
    assert client.post(paths["review_sample"], {"barcode": "R0001"}).status_code == 404
    assert snapshot() == before


def test_the_street_uploads_the_lab_file_and_the_committee_takes_the_single_tubes(client, world, screening, pool):
    codes = codes_for(world, screening, 9, start=3)  # nine more people (rooms 103..111)
    closed_tube(screening, "T0901", codes)
    as_user(client, world.street_officer)
    upload = SimpleUploadedFile("结果.csv", "试管条码,检测结果\nT0901,阴性\nZZZZ1,阴性\n".encode(), "text/csv")
    response = client.post(reverse("screening:round_results", args=[screening.round.pk]), {"file": upload})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "共 2 行:录入 1 管,重复 0 行,未能录入 1 行。" in page and "未找到该试管:不是本系统采样的试管" in page
    assert Tube.objects.get(barcode="T0901").result == "negative"
    # The same file again: refused on the page, nothing changed.
    before = snapshot()
    again = SimpleUploadedFile("结果.csv", "试管条码,检测结果\nT0901,阴性\nZZZZ1,阴性\n".encode(), "text/csv")
    response = client.post(reverse("screening:round_results", args=[screening.round.pk]), {"file": again})
    assert response.status_code == 200 and "这个文件已经导入过,未重复录入" in response.content.decode()
    assert snapshot() == before

    as_user(client, world.staff_a1)
    page = client.get(reverse("screening:reviews")).content.decode()
    assert "待上门单管采样 3 人,已采样待结果 0 人。" in page
    review = Review.objects.filter(pool_tube=pool).order_by("code__reference").first()
    response = client.post(reverse("screening:review_sample", args=[review.pk]), {"barcode": " r0100 "})
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.retest_tube.barcode, review.retest_tube.status) == (
        ReviewStatus.SAMPLED, "R0100", TubeStatus.CLOSED)
    page = client.get(reverse("screening:reviews")).content.decode()
    assert "待上门单管采样 2 人,已采样待结果 1 人。" in page and "已登记单管采样 R0100,等待结果" in page


def test_the_first_page_counts_people_under_review_and_overdue_tubes(client, world, screening, pool):
    import datetime as dt

    from django.utils import timezone

    closed_tube(screening, "T0950", codes_for(world, screening, 1, start=20),
                sampled=timezone.now() - dt.timedelta(hours=30))
    as_user(client, world.staff_a1)
    body = client.get("/").content.decode()
    assert "核酸待复核待上门采样 3 人" in body
    as_user(client, world.street_officer)
    body = client.get("/").content.decode()
    assert "核酸采样超时未出结果 1 管" in body and "核酸待复核 3 人" in body
