"""Delivery pages: who may open them, the gate check's preview and confirm, disinfection and
sorting by the pages, the pick lists and labels (fonts, room order, the QR a phone reads), and the
door page a label's QR opens."""

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.core.tests.test_pdf import fonts_of
from xiuhua.supply import services_delivery as d
from xiuhua.supply.models_orders import Delivery, OfferStatus, Order, OrderLine, OrderStatus
from xiuhua.testing import acting, as_user, make_user, qr_codes_in_pdf

from .test_delivery_services import arrive, items_of, two_buildings

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(world, documented):
    return two_buildings(world, documented)[0]


def disinfected(world, offer, minutes_ago=30):
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 4, veg.pk: 4}, "first_ordered")
    d.delivery_disinfect(actor=acting(world.staff_a1), offer=offer, chlorine=300, wait=10,
                         now=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return offer


def sorted_(world, offer):
    disinfected(world, offer)
    d.delivery_sort(actor=acting(world.staff_a1), offer=offer)
    return offer


def pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext (poppler-utils)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sheet.pdf"
        path.write_bytes(pdf)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                              text=True).stdout


OFFICE = ["deliveries", "delivery", "delivery_gate", "delivery_disinfect", "delivery_sort", "delivery_picklist",
          "delivery_labels"]


@pytest.mark.parametrize("name", OFFICE)
def test_office_pages_are_refused_to_volunteers_and_another_committee(client, world, offer, name):
    disinfected(world, offer)
    args = [] if name == "deliveries" else [offer.pk]
    url = reverse(f"supply:{name}", args=args)
    post = name in ("delivery_gate", "delivery_disinfect", "delivery_sort")
    before = AuditEvent.objects.count()
    as_user(client, world.volunteer)
    assert (client.post(url) if post else client.get(url)).status_code == 403
    if args:  # staff of another committee: the same 404 as a missing offer
        as_user(client, world.staff_a2)
        assert (client.post(url) if post else client.get(url)).status_code == 404
    assert AuditEvent.objects.count() == before
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DISINFECTED


def test_the_list_leads_to_the_offer_and_the_gate_check_previews_then_confirms(client, world, offer):
    as_user(client, world.staff_a1)
    page = client.get(reverse("supply:deliveries")).content.decode()
    assert reverse("supply:delivery", args=[offer.pk]) in page and "鸡蛋蔬菜团购" in page
    page = client.get(reverse("supply:delivery", args=[offer.pk])).content.decode()
    assert 'id="gate-form"' in page and "沪A12345" in page and "王师傅" in page
    eggs, veg = items_of(offer)
    form = {"step": "preview", "plate_matches": "1", "driver_matches": "1", "goods_match": "1",
            f"received_{eggs.pk}": "4", f"received_{veg.pk}": "4", "rule": "first_ordered"}
    response = client.post(reverse("supply:delivery_gate", args=[offer.pk]), form)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="preview"' in page
    unfilled = re.search(r'<ul id="unfilled">(.*?)</ul>', page, re.S).group(1)
    assert re.sub(r"<[^>]+>", "|", unfilled).strip("|") == "5号 101"
    assert not Delivery.objects.exists()
    fingerprint = re.search(r'name="fingerprint" value="(\w+)"', page).group(1)
    response = client.post(reverse("supply:delivery_gate", args=[offer.pk]),
                           form | {"step": "confirm", "fingerprint": fingerprint})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ARRIVED
    assert Order.objects.filter(offer=offer, status=OrderStatus.UNFILLED).count() == 1


@pytest.mark.parametrize("change, message", [
    ({"received_EGGS": "-1"}, "请填写“鸡蛋”实到份数"), ({"received_EGGS": "四"}, "请填写“鸡蛋”实到份数"),
    ({"rule": ""}, "有货品缺货,请选择缺货分配规则"), ({"plate_matches": ""}, "请填写核对说明"),
    ({"step": "confirm", "fingerprint": "stale"}, "预览之后订单有变化")])
def test_bad_gate_input_gets_a_chinese_message_and_writes_nothing(client, world, offer, change, message):
    as_user(client, world.staff_a1)
    eggs, veg = items_of(offer)
    form = {"step": "preview", "plate_matches": "1", "driver_matches": "1", "goods_match": "1",
            f"received_{eggs.pk}": "4", f"received_{veg.pk}": "4", "rule": "first_ordered"}
    form |= {k.replace("EGGS", str(eggs.pk)): v for k, v in change.items()}
    response = client.post(reverse("supply:delivery_gate", args=[offer.pk]), form)
    assert response.status_code == 400 and message in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CLOSED and not Delivery.objects.exists()


def test_disinfection_and_sorting_through_the_pages(client, world, offer):
    as_user(client, world.staff_a1)
    eggs, veg = items_of(offer)
    arrive(world, offer, {eggs.pk: 8, veg.pk: 4}, "")
    url = reverse("supply:delivery_disinfect", args=[offer.pk])
    response = client.post(url, {"chlorine": "600", "wait": "15"}, follow=True)
    assert "含氯消毒液浓度须在 250-500 mg/L 之间" in response.content.decode()
    response = client.post(url, {"chlorine": "300", "wait": "15"}, follow=True)
    page = response.content.decode()
    assert "已登记消杀" in page and "作用时间未到,不能分拣" in page
    response = client.post(reverse("supply:delivery_sort", args=[offer.pk]), follow=True)
    assert "消杀作用时间未到" in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DISINFECTED
    Delivery.objects.filter(offer=offer).update(disinfected_at=timezone.now() - dt.timedelta(minutes=16))
    response = client.post(reverse("supply:delivery_sort", args=[offer.pk]), follow=True)
    assert "已分拣完成" in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.SORTED


def test_the_pick_lists_list_rooms_in_natural_order_with_totals(client, world, offer):
    disinfected(world, offer)
    as_user(client, world.staff_a1)
    response = client.get(reverse("supply:delivery_picklist", args=[offer.pk]))
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    fonts = fonts_of(pdf)
    assert fonts and [(f["emb"], f["sub"]) for f in fonts] == [("yes", "yes")] * len(fonts)
    text = pdf_text(pdf)
    rows = [line.split() for line in text.splitlines() if line.strip()]
    # The totals page: per building and the grand total (5号101 got nothing: not on the sheets).
    assert ["5号", "2", "4", "2"] in rows and ["6号", "2", "0", "2"] in rows and ["合计", "4", "4", "4"] in rows
    # Building 5: rooms in natural order (302 before 1201), then its totals.
    assert ["1", "302", "3", "1", "□"] in rows and ["2", "1201", "1", "1", "□"] in rows
    assert rows.index(["1", "302", "3", "1", "□"]) < rows.index(["2", "1201", "1", "1", "□"])
    assert ["合计", "2户", "4", "2"] in rows
    one = client.get(reverse("supply:delivery_picklist", args=[offer.pk]) + f"?building={world.building_a1b.pk}")
    rows = [line.split() for line in pdf_text(one.content).splitlines() if line.strip()]
    assert ["1", "101", "1", "□"] in rows and ["合计", "2户", "0", "2"] in rows and ["5号", "2", "4", "2"] not in rows
    assert client.get(reverse("supply:delivery_picklist", args=[offer.pk]) + "?building=999999").status_code == 404


def test_labels_carry_masked_names_and_a_qr_of_the_door_url(client, world, offer):
    disinfected(world, offer)
    as_user(client, world.staff_a1)
    response = client.get(reverse("supply:delivery_labels", args=[offer.pk]))
    pdf = response.content
    fonts = fonts_of(pdf)
    assert fonts and [(f["emb"], f["sub"]) for f in fonts] == [("yes", "yes")] * len(fonts)
    live = Order.objects.filter(offer=offer, status=OrderStatus.PLACED)
    expected = sorted(d.door_url(pk) for pk in live.values_list("pk", flat=True))
    pages = qr_codes_in_pdf(pdf)
    assert len(pages) == 1
    assert sorted(text for fmt, text in pages[0]) == expected and {fmt for fmt, _t in pages[0]} == {"QRCode"}
    text = pdf_text(pdf)
    assert "张**" in text and "张秀英" not in text and "5号 302" in text
    event = AuditEvent.objects.get(action="groupbuy_labels_print")
    assert event.detail == {"building": None, "labels": 4}


def test_the_door_page_shows_the_address_and_items_and_delivers_once(client, world, offer):
    sorted_(world, offer)
    order = Order.objects.get(offer=offer, household=world.household_a1)
    url = reverse("supply:door", args=[d.door_key(order.pk)])
    as_user(client, world.volunteer)
    page = client.get(url).content.decode()
    assert "5号 302" in page and "鸡蛋 × 3" in page and "蔬菜套餐 × 1" in page and "确认送达" in page
    assert "张" not in page  # no name at the door
    response = client.post(url)
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    order.refresh_from_db()
    assert (order.status, order.delivered_by_id) == (OrderStatus.DELIVERED, world.volunteer.pk)
    page = client.get(url).content.decode()
    when = timezone.localtime(order.delivered_at).strftime("%m-%d %H:%M")
    assert f"已送达({when},volunteer)" in page and 'id="deliver-button"' not in page
    assert client.post(url).status_code == 302
    assert AuditEvent.objects.filter(action="groupbuy_order_deliver").count() == 1


def test_a_wrong_door_code_is_a_404_and_many_are_refused(client, world, offer):
    sorted_(world, offer)
    order = Order.objects.filter(offer=offer).first()
    as_user(client, world.volunteer)
    for n in range(20):
        assert client.get(reverse("supply:door", args=[f"{order.pk}-{n:08d}"])).status_code == 404
    right = reverse("supply:door", args=[d.door_key(order.pk)])
    response = client.get(right)
    assert response.status_code == 429 and "标签编码错误次数过多" in response.content.decode()


def test_the_door_of_another_committee_is_a_404(client, world, offer):
    sorted_(world, offer)
    order = Order.objects.filter(offer=offer).first()
    other = make_user("volunteer_a2", "volunteer", world.committee_a2)
    as_user(client, other)
    url = reverse("supply:door", args=[d.door_key(order.pk)])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_the_carriers_list_shows_what_is_left_per_building(client, world, offer):
    sorted_(world, offer)
    as_user(client, world.volunteer)
    page = client.get(reverse("supply:to_deliver")).content.decode()
    assert [re.sub(r"<[^>]+>", "", m).split("·")[0].strip() for m in re.findall(r"<h2>(.*?)</h2>", page, re.S)] == [
        "5号", "6号"]
    assert page.count('id="todo-') == 4
    order = Order.objects.get(offer=offer, household=world.household_a1)
    d.order_deliver(actor=acting(world.volunteer), order=order)
    page = client.get(reverse("supply:to_deliver") + f"?building={world.building_a1.pk}").content.decode()
    assert page.count('id="todo-') == 1 and f'id="todo-{order.pk}"' not in page


def test_lines_left_alone_by_the_pages_when_refused(client, world, offer):
    as_user(client, world.staff_a1)
    assert client.get(reverse("supply:delivery_picklist", args=[offer.pk])).status_code == 404  # not arrived
    assert not OrderLine.objects.filter(allotted__isnull=False).exists()
