"""Every PDF the system prints embeds its fonts, so Chinese never prints blank on a viewer or
printer without a CJK font of its own."""

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from xiuhua.core import pdf as core_pdf
from xiuhua.masks.models import MaskRound, Pharmacy, Reservation, Voucher
from xiuhua.masks.pdf import vouchers_pdf
from xiuhua.passport.cards import Card, cards_pdf
from xiuhua.passport.periods import current as current_week
from xiuhua.passport.selectors import Shown
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.screening.labels import LabelSheet, labels_pdf
from xiuhua.screening.models import CallSlot, SamplingCode, ScreeningRound, Site
from xiuhua.screening.plan_output import notices_pdf
from xiuhua.tickets.printing import DoorCard, door_sheet_pdf

# The modules that draw PDFs. A new one fails test_every_pdf_producer_is_checked until a test here
# prints its sheet.
PRODUCERS = {"xiuhua/core/pdf.py", "xiuhua/masks/pdf.py", "xiuhua/tickets/printing.py",
             "xiuhua/screening/plan_output.py", "xiuhua/screening/labels.py", "xiuhua/passport/cards.py",
             "xiuhua/supply/receipts.py", "xiuhua/volunteers/sheets.py", "xiuhua/supply/picklists.py"}


def fonts_of(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts (poppler) of the document: name, type and whether it is embedded, per font."""
    if shutil.which("pdffonts") is None:
        reason = "needs pdffonts (Debian: apt install poppler-utils)"
        if os.environ.get("XIUHUA_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sheet.pdf"
        source.write_bytes(pdf)
        lines = subprocess.run(["pdffonts", str(source)], check=True, capture_output=True, text=True).stdout
    rows = lines.splitlines()[2:]
    fonts = []
    for row in rows:
        name, kind, rest = row[:37].strip(), row[37:55].strip(), row[55:].split()
        fonts.append({"name": name, "type": kind, "emb": rest[1], "sub": rest[2]})
    return fonts


def voucher() -> Voucher:
    now = timezone.now()
    return Voucher(
        number="K7Q2M9X4P03A5", masks=5, issued_at=now, expires_at=now + dt.timedelta(days=3),
        round=MaskRound(name="第一轮口罩预约"),
        pharmacy=Pharmacy(name="益丰大药房国和路店", address="国和路346号", opening_hours="8:00-20:00"),
        reservation=Reservation(name="张秀英", address_text="国和路346弄5号101室"),
    )


def door_card(room: str) -> DoorCard:
    return DoorCard(compound="国和小区", building="5号", room=room, key=f"1{room}-K7Q2M9X4",
                    url=f"{settings.PUBLIC_BASE_URL}/help/d/1{room}-K7Q2M9X4/")


def call_slot() -> CallSlot:
    committee = OrgUnit(kind=Kind.COMMITTEE, name="国和一村居委会")
    compound = OrgUnit(kind=Kind.COMPOUND, name="国和一村", parent=committee)
    start = timezone.now().replace(hour=1, minute=0)
    return CallSlot(site=Site(name="国和一村广场", address="国和路1号"), building=OrgUnit(name="5号", parent=compound),
                    committee=committee, day=start.date(), starts_at=start, ends_at=start + dt.timedelta(minutes=40),
                    people=120, expected=108)


def sheets() -> dict[str, bytes]:
    return {
        "screening_notices": notices_pdf(ScreeningRound(name="第一轮全员核酸筛查"), [call_slot()]),
        **{f"screening_labels_{layout}": labels_pdf(
            [LabelSheet(title="国和一村5号", building="国和一村5号",
                        codes=[SamplingCode(reference="7K3M9QXD2B4HT", name_masked="张**", room="302")])],
            layout=layout, round_name="第一轮全员核酸筛查") for layout in ("40x30", "50x30", "a4")},
        "vouchers": vouchers_pdf([voucher(), voucher()]),
        "no_vouchers": vouchers_pdf([]),
        "door_cards": door_sheet_pdf([door_card("101"), door_card("102")], title="国和小区5号"),
        "no_door_cards": door_sheet_pdf([], title="国和小区6号"),
        "passport_cards": cards_pdf([Card(pk=1, committee="国和一村居委会", compound="国和一村", building="5号",
                                          room="302", grid="第一网格1号微网格",
                                          stamps={"volunteer": Shown("volunteer", dt.date(2026, 12, 8), "王建国")})],
                                    current_week()),
        **volunteer_sheets(),
    }


def volunteer_sheets() -> dict[str, bytes]:
    from xiuhua.volunteers.models import Duty, Post, Shift, Volunteer
    from xiuhua.volunteers.selectors import DayTable, PostRow, ShiftRow
    from xiuhua.volunteers.sheets import duty_table_pdf, post_sheet

    post = Post(pk=1, compound=OrgUnit(kind=Kind.COMPOUND, name="国和一村"), kind="gate", name="东门门岗",
                duties="问询、登记、测温", required_skill="nurse", health_statement=True)
    start = timezone.now().replace(hour=1, minute=0)
    shift = Shift(pk=1, post=post, day=start.date(), starts_at=start, ends_at=start + dt.timedelta(hours=4), needed=3)
    duty = Duty(pk=1, shift=shift, volunteer=Volunteer(name="周志强", mobile="13900001234"))
    table = DayTable(start.date(), [PostRow(post, [ShiftRow(shift, [duty], {1})])], 2, 1)
    return {"volunteer_post_sheet": post_sheet(post),
            "volunteer_duty_table": duty_table_pdf("国和一村", "国和一村居委会", table),
            "volunteer_empty_duty_table": duty_table_pdf("国和一村", "国和一村居委会",
                                                         DayTable(start.date(), [], 0, 0))}


@pytest.mark.parametrize("name", ["vouchers", "no_vouchers", "door_cards", "no_door_cards", "passport_cards",
                                  "screening_notices",
                                  "screening_labels_40x30", "screening_labels_50x30", "screening_labels_a4",
                                  "volunteer_post_sheet", "volunteer_duty_table", "volunteer_empty_duty_table"])
def test_every_font_of_every_printed_sheet_is_embedded_as_a_subset(name):
    fonts = fonts_of(sheets()[name])
    assert fonts, "a sheet with text names its fonts"
    assert [(f["emb"], f["sub"]) for f in fonts] == [("yes", "yes")] * len(fonts), fonts
    assert {re.sub(r"^[A-Z]{6}\+", "", f["name"]).rsplit("-", 1)[0] for f in fonts} <= {
        "WenQuanYiZenHei", "WenQuanYiZenHeiMono"}


@pytest.mark.django_db
def test_the_donation_receipt_embeds_its_font_as_a_subset(world):
    from xiuhua.supply.receipts import receipt_pdf
    from xiuhua.supply.services_stock import donation_record
    from xiuhua.testing import acting

    donation = donation_record(actor=acting(world.staff_a1), unit=world.committee_a1, donor_name="国和超市",
                               donor_kind="organisation", kind="money", amount="500.00")
    fonts = fonts_of(receipt_pdf(donation))
    assert fonts and [(f["emb"], f["sub"]) for f in fonts] == [("yes", "yes")] * len(fonts), fonts


def test_a_sheet_carries_only_the_glyphs_it_uses():
    # The whole font is ~10 MB; a page of vouchers embeds a few dozen glyphs.
    assert len(sheets()["vouchers"]) < 200_000


def test_every_pdf_producer_is_checked():
    root = Path(__file__).resolve().parents[3]
    found = {
        str(path.relative_to(root))
        for path in (root / "xiuhua").rglob("*.py")
        if "tests" not in path.parts and re.search(r"^\s*(from|import) reportlab", path.read_text(), re.M)
    }
    assert found == PRODUCERS


def test_a_missing_font_is_a_clear_configuration_error(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("XIUHUA_PDF_FONT", "/nonexistent/font.ttc")
    with pytest.raises(ImproperlyConfigured, match="fonts-wqy-zenhei"):
        core_pdf.font_file()


def test_the_system_check_warns_when_the_install_has_no_font(monkeypatch):
    from xiuhua.core.apps import check_pdf_font

    assert check_pdf_font() == []
    monkeypatch.setenv("XIUHUA_PDF_FONT", "/nonexistent/font.ttc")
    assert [w.id for w in check_pdf_font()] == ["core.W001"]
