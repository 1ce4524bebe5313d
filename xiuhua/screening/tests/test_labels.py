"""Printed sampling codes: every code on every label and sheet is read back by a real decoder."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from xiuhua.core.models import AuditEvent
from xiuhua.core.tests.test_pdf import fonts_of
from xiuhua.residents.models import Household
from xiuhua.screening.labels import LAYOUTS, LabelSheet, labels_pdf
from xiuhua.screening.models import SamplingCode
from xiuhua.screening.services_codes import codes_generate, label_codes, labels_export
from xiuhua.testing import acting, make_resident, qr_codes_in_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def building(world, screening):
    """5号 of 国和一村 with 张秀英 in 302 and 31 more people in rooms 12, 1202 and 501 (read 501)."""
    rooms = {room: Household.objects.create(building=world.building_a1, room=room) for room in ("1202", "12", "501")}
    for i in range(31):
        make_resident(list(rooms.values())[i % 3], f"测试居民{i:02d}")
    codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1)
    return world.building_a1


def test_codes_print_in_room_order(world, screening, building):
    rooms = [code.room for code in label_codes(screening.round, building)]
    assert rooms == ["12"] * 10 + ["302"] + ["501"] * 10 + ["1202"] * 11


@pytest.mark.parametrize("layout", ["40x30", "50x30"])
def test_every_thermal_label_is_read_back(world, screening, building, layout):
    pdf = labels_export(actor=acting(world.staff_a1), round=screening.round, building=building, layout=layout)
    pages = qr_codes_in_pdf(pdf, dpi=200)
    expected = [code.reference for code in label_codes(screening.round, building)]
    # A title label, then one label per code, in print order.
    assert pages == [[]] + [[("QRCode", reference)] for reference in expected]
    event = AuditEvent.objects.get(action="screening_labels_export")
    assert (event.personal, event.actor_id, event.committee_id, event.object_id, event.detail) == (
        True, world.staff_a1.pk, world.committee_a1.pk, building.pk,
        {"round": screening.round.pk, "layout": layout, "codes": 32})


def test_every_code_of_an_a4_sheet_is_read_back(world, screening, building):
    pdf = labels_export(actor=acting(world.street_officer), round=screening.round, building=building, layout="a4")
    pages = qr_codes_in_pdf(pdf)
    expected = [code.reference for code in label_codes(screening.round, building)]
    assert [len(page) for page in pages] == [28, 4]
    assert [sorted(text for _fmt, text in page) for page in pages] == [sorted(expected[:28]), sorted(expected[28:])]
    assert {fmt for page in pages for fmt, _text in page} == {"QRCode"}


def test_hundreds_of_codes_decode_on_small_labels(world, screening):
    """The fixed mask pattern (labels.QR_MASK) across many random references."""
    from types import SimpleNamespace

    from xiuhua.screening.services_codes import new_reference

    codes = [SimpleNamespace(reference=new_reference(), name_masked="张**", room="302") for _ in range(300)]
    pdf = labels_pdf([LabelSheet(title="国和一村5号", building="5号", codes=codes)], layout="40x30",
                     round_name=screening.round.name)
    pages = qr_codes_in_pdf(pdf, dpi=150)
    assert pages[1:] == [[("QRCode", code.reference)] for code in codes]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_labels_embed_their_fonts(screening, layout):
    from types import SimpleNamespace

    codes = [SimpleNamespace(reference="0123456789ABX", name_masked="欧阳**", room="1202")]
    pdf = labels_pdf([LabelSheet(title="国和一村5号", building="5号", codes=codes),
                      LabelSheet(title="国和一村6号", building="6号", codes=[])], layout=layout,
                     round_name=screening.round.name)
    fonts = fonts_of(pdf)
    assert fonts and [(f["emb"], f["sub"]) for f in fonts] == [("yes", "yes")] * len(fonts)
    assert {re.sub(r"^[A-Z]{6}\+", "", f["name"]).rsplit("-", 1)[0] for f in fonts} <= {
        "WenQuanYiZenHei", "WenQuanYiZenHeiMono"}


@pytest.mark.parametrize(
    ("who", "place", "error"),
    [
        ("staff_a1", "building_a2", Http404),  # another committee's building
        ("staff_a2", "building_a1", Http404),
        ("staff_b1", "building_a1", Http404),  # street B's staff see neither round nor building
        ("volunteer", "building_a1", PermissionDenied),  # scans, does not print
        ("grid_worker", "building_a1", PermissionDenied),
    ],
)
def test_printing_refused_outside_scope_writes_nothing(world, screening, building, who, place, error):
    with pytest.raises(error):
        labels_export(actor=acting(getattr(world, who)), round=screening.round, building=getattr(world, place),
                      layout="a4")
    assert not AuditEvent.objects.filter(action="screening_labels_export").exists()


def test_a_building_the_round_does_not_screen_is_refused(world, screening):
    import datetime as dt

    from xiuhua.screening.models import RoundCompound, ScreeningRound

    only_a2 = ScreeningRound.objects.create(
        name="国和二村加测", scope=world.street_a, first_day=dt.date(2026, 5, 1), last_day=dt.date(2026, 5, 1),
        created_by=world.street_officer)
    RoundCompound.objects.create(round=only_a2, compound=world.compound_a2)
    with pytest.raises(Http404):
        labels_export(actor=acting(world.street_officer), round=only_a2, building=world.building_a1, layout="a4")
    assert not AuditEvent.objects.exists()
    assert SamplingCode.objects.count() == 0
