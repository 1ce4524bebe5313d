"""Passport pages: the authorisation matrix, stamping and withdrawing through the pages, the
coverage table and map, and the A6 cards with their QR codes decoded."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.passport import periods
from xiuhua.passport.keys import card_key, card_url
from xiuhua.passport.models import Stamp
from xiuhua.passport.services import stamp_record
from xiuhua.passport.urls import urlpatterns
from xiuhua.testing import acting, qr_codes_in_pdf

from .helpers import sample, vaccinate

pytestmark = pytest.mark.django_db

# name -> (capability, method)
MATRIX = {
    "home": ("view_passport", "get"),
    "grid": ("view_passport", "get"),
    "cards": ("view_passport", "get"),
    "household": ("view_passport", "get"),
    "card": ("view_passport", "get"),
    "stamp": ("stamp_passport", "post"),
    "withdraw": ("stamp_passport", "post"),
}


def _url(world, name: str) -> str:
    if name in ("grid", "cards"):
        return reverse(f"passport:{name}", args=[world.grid_a1.pk])
    if name in ("household", "card", "stamp"):
        return reverse(f"passport:{name}", args=[world.household_a1.pk])
    if name == "withdraw":
        stamp = Stamp.objects.first() or stamp_record(
            actor=acting(world.staff_a1), household=world.household_a1, kind="volunteer",
            stamped_on=timezone.localdate())
        return reverse("passport:withdraw", args=[stamp.pk])
    return reverse(f"passport:{name}")


# The card's pages: public (the phone sign-in) and the stamps behind a proven phone.
RESIDENT_URLS = {"door", "door_send", "door_verify", "door_logout", "door_stamps"}


def test_every_url_is_in_the_matrix():
    assert sorted(p.name for p in urlpatterns) == sorted([*MATRIX, *RESIDENT_URLS])


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_roles_without_the_capability_get_403_and_nothing_is_written(client, world, name):
    url = _url(world, name)
    stamps, audits = Stamp.objects.count(), AuditEvent.objects.count()
    for user in (world.volunteer, world.pharmacy_clerk, world.sysadmin, world.no_role):
        client.force_login(user)
        for method in (client.get, client.post):
            response = method(url, {"kind": "volunteer", "stamped_on": timezone.localdate().isoformat(),
                                    "reason": "测试"})
            assert response.status_code == 403, (name, user.username, method)
    assert (Stamp.objects.count(), AuditEvent.objects.count()) == (stamps, audits)
    client.logout()
    assert client.get(url)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_another_committees_rows_are_404(client, world, name):
    url = _url(world, name)
    cap, method = MATRIX[name]
    if name == "home":
        return
    stamps = Stamp.objects.filter(status="active").count()
    client.force_login(world.staff_b1)
    response = getattr(client, method)(url, {"kind": "volunteer", "stamped_on": timezone.localdate().isoformat(),
                                             "reason": "测试"})
    assert response.status_code == 404, name
    assert Stamp.objects.filter(status="active").count() == stamps


def test_the_street_officer_sees_but_may_not_stamp(client, world):
    client.force_login(world.street_officer)
    page = client.get(reverse("passport:household", args=[world.household_a1.pk]))
    assert page.status_code == 200 and 'id="stamp-form"' not in page.content.decode()
    response = client.post(reverse("passport:stamp", args=[world.household_a1.pk]),
                           {"kind": "volunteer", "stamped_on": timezone.localdate().isoformat()})
    assert response.status_code == 403 and not Stamp.objects.exists()


def test_stamping_through_the_page_then_twice_is_refused(client, world):
    client.force_login(world.grid_worker)
    url = reverse("passport:stamp", args=[world.household_a1.pk])
    today = timezone.localdate()
    response = client.post(url, {"kind": "volunteer", "stamped_on": today.isoformat(), "note": "陪同就医"})
    assert response.status_code == 302 and response["Location"] == reverse("passport:household",
                                                                           args=[world.household_a1.pk])
    page = client.get(response["Location"]).content.decode()
    assert "已盖志愿服务章" in page and "陪同就医" in page
    response = client.post(url, {"kind": "volunteer", "stamped_on": today.isoformat()})
    assert response.status_code == 400
    assert f"本户{periods.current().label}已盖过志愿服务章,不能重复盖章" in response.content.decode()
    response = client.post(url, {"kind": "nucleic", "stamped_on": "昨天"})
    text = response.content.decode()
    assert response.status_code == 400 and "请选择志愿服务或便民服务" in text and "日期格式不正确" in text
    assert Stamp.objects.count() == 1


def test_withdrawing_through_the_page(client, world):
    stamp = stamp_record(actor=acting(world.staff_a1), household=world.household_a1, kind="convenience",
                         stamped_on=timezone.localdate())
    client.force_login(world.staff_a1)
    page = client.get(reverse("passport:household", args=[world.household_a1.pk])).content.decode()
    assert reverse("passport:withdraw", args=[stamp.pk]) in page
    response = client.post(reverse("passport:withdraw", args=[stamp.pk]), {"reason": ""}, follow=True)
    assert "请填写撤销原因" in response.content.decode()
    stamp.refresh_from_db()
    assert stamp.status == "active"
    response = client.post(reverse("passport:withdraw", args=[stamp.pk]), {"reason": "录错户"}, follow=True)
    assert "已撤销便民服务章" in response.content.decode()
    stamp.refresh_from_db()
    assert (stamp.status, stamp.withdraw_reason) == ("withdrawn", "录错户")


def test_coverage_table_and_map_show_the_stamps_without_names(client, world):
    today = timezone.localdate()
    sample(world, world.resident_a1, dt.datetime.combine(today, dt.time(9, 0)))
    vaccinate(world.resident_a1)
    client.force_login(world.staff_a1)
    home = client.get(reverse("passport:home")).content.decode()
    assert "第一网格" in home and "1 (50%)" in home and "0 (0%)" in home
    page = client.get(reverse("passport:grid", args=[world.micro_a1.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert f'data-household="{world.household_a1.pk}" data-stamps="2"' in text
    assert "张秀英" not in text and "张*" not in text and ">302<" in text
    grid = client.get(reverse("passport:grid", args=[world.grid_a1.pk])).content.decode()
    assert "5号楼微网格" in grid and reverse("passport:grid", args=[world.micro_a1.pk]) in grid


def test_the_grid_worker_sees_their_grid_only(client, world):
    client.force_login(world.grid_worker)
    assert client.get(reverse("passport:household", args=[world.household_a1.pk])).status_code == 200
    assert client.get(reverse("passport:household", args=[world.household_a1b.pk])).status_code == 404
    home = client.get(reverse("passport:home")).content.decode()
    assert "第一网格" in home and "未划分" not in home


def test_the_card_is_a6_with_a_qr_code_of_the_households_page(client, world):
    client.force_login(world.staff_a1)
    response = client.get(reverse("passport:card", args=[world.household_a1.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert qr_codes_in_pdf(response.content) == [[("QRCode", card_url(world.household_a1.pk))]]
    assert card_url(world.household_a1.pk).endswith(f"/passport/d/{card_key(world.household_a1.pk)}/")
    event = AuditEvent.objects.get(action="passport_cards_print")
    assert (event.actor, event.committee_id, event.detail) == (world.staff_a1, world.committee_a1.pk, {"count": 1})


def test_the_batch_card_pdf_has_one_page_per_household_of_the_grid(client, world):
    from xiuhua.residents.models import Household

    extra = Household.objects.create(building=world.building_a1, room="101", grid=world.grid_a1,
                                     micro_grid=world.micro_a1)
    client.force_login(world.staff_a1)
    response = client.get(reverse("passport:cards", args=[world.micro_a1.pk]))
    pages = qr_codes_in_pdf(response.content)
    assert pages == [[("QRCode", card_url(extra.pk))], [("QRCode", card_url(world.household_a1.pk))]]


def test_the_first_page_counts_complete_passports_for_those_who_stamp(client, world):
    today = timezone.localdate()
    staff = acting(world.staff_a1)
    sample(world, world.resident_a1, dt.datetime.combine(today, dt.time(9, 0)))
    vaccinate(world.resident_a1)
    for kind in ("volunteer", "convenience"):
        stamp_record(actor=staff, household=world.household_a1, kind=kind, stamped_on=today)
    client.force_login(world.staff_a1)
    body = client.get("/").content.decode()
    assert 'id="work-passport"' in body and "家园护照:本周四章齐全 1 / 2 户" in body
    client.force_login(world.grid_worker)
    assert "家园护照:本周四章齐全 1 / 1 户" in client.get("/").content.decode()
    client.force_login(world.street_officer)  # sees passports, does not stamp: no count
    assert 'id="work-passport"' not in client.get("/").content.decode()


def test_the_street_sees_committees_then_a_committees_grids(client, world):
    client.force_login(world.street_officer)
    home = client.get(reverse("passport:home"))
    assert [(r.label, r.households) for r in home.context["rows"]] == [("国和一村居委会", 2), ("国和二村居委会", 1)]
    link = f"{reverse('passport:home')}?committee={world.committee_a1.pk}&week={periods.current().key}"
    assert link.replace("&", "&amp;") in home.content.decode()
    one = client.get(reverse("passport:home"), {"committee": world.committee_a1.pk})
    assert [(r.label, r.households) for r in one.context["rows"]] == [("第一网格", 1), ("", 1)]
    assert f"&amp;committee={world.committee_a1.pk}" in one.content.decode()  # the week links keep it
    other = client.get(reverse("passport:home"), {"committee": world.committee_b1.pk})  # not theirs: empty
    assert other.context["total"].households == 0
