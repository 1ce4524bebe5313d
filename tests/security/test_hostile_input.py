"""Hostile files and bodies, sent the way an attacker would: through the real pages and APIs.

Each of them must be refused with a clear Chinese message before it costs memory, CPU or a
database error, and must leave the data as it was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator

import PIL.Image
import PIL.ImageFile
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from xiuhua.core import images, ratelimit
from xiuhua.core.models import AuditEvent
from xiuhua.isolation import services as isolation_services
from xiuhua.residents.roster import files as roster_files
from xiuhua.residents.tests.test_api import as_token
from xiuhua.residents.tests.test_roster_fixtures import snapshot, upload
from xiuhua.sms.models import InboundSms
from xiuhua.sms.tests.fake_provider import WEBHOOK_SECRET, sign_webhook
from xiuhua.testing import as_user
from xiuhua.tickets import door_requests
from xiuhua.tickets.door import door_code, door_key, door_path
from xiuhua.tickets.models import Ticket, TicketEvent
from xiuhua.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- finding 5: xlsx that kill a worker

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER_CELLS = "".join(
    f"<c r='{column}1' t='inlineStr'><is><t>{text}</t></is></c>"
    for column, text in zip("ABCDEFGHIJ", ["小区", "楼栋", "室号", "姓名", "性别", "出生日期", "证件类型",
                                          "证件号码", "手机号", "与户主关系"], strict=True)
)


def workbook(sheet_xml: str | Iterable[bytes]) -> bytes:
    """A minimal xlsx written by hand, the way an attacker would, around one worksheet (its XML,
    or its XML in pieces, so that a huge one never sits in memory)."""
    parts = {
        "[Content_Types].xml": (
            "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'>"
            "<Default Extension='rels' ContentType='application/vnd.openxmlformats-package.relationships+xml'/>"
            "<Default Extension='xml' ContentType='application/xml'/>"
            "<Override PartName='/xl/workbook.xml' "
            "ContentType='application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml'/>"
            "<Override PartName='/xl/worksheets/sheet1.xml' "
            "ContentType='application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml'/></Types>"
        ),
        "_rels/.rels": (
            "<Relationships xmlns='http://schemas.openxmlformats.org/package/2006/relationships'>"
            "<Relationship Id='rId1' Target='xl/workbook.xml' "
            "Type='http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument'/>"
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f"<workbook xmlns='{MAIN_NS}' xmlns:r='{REL_NS}'><sheets>"
            "<sheet name='花名册' sheetId='1' r:id='rId1'/></sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            "<Relationships xmlns='http://schemas.openxmlformats.org/package/2006/relationships'>"
            "<Relationship Id='rId1' Target='worksheets/sheet1.xml' "
            "Type='http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet'/>"
            "</Relationships>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for piece in [sheet_xml.encode()] if isinstance(sheet_xml, str) else sheet_xml:
                part.write(piece)
    return buffer.getvalue()


def sheet(body: str, dimension: str = "") -> str:
    return (f"<worksheet xmlns='{MAIN_NS}'>{dimension}<sheetData><row r='1'>{HEADER_CELLS}</row>{body}"
            "</sheetData></worksheet>")


# Two cells far apart, references in single quotes: calamine would hold A1:XFD1048576 as one
# dense grid (17 billion cells) and abort the process.
FAR_CELL = workbook(sheet("<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>"))
FAR_DIMENSION = workbook(sheet("", "<dimension ref='A1:XFD1048576'/>"))
FAR_ROW_OF_UNREFERENCED_CELLS = workbook(sheet("<row r='900000'>" + "<c><v>1</v></c>" * 30 + "</row>"))
PREFIXED = workbook(
    f"<x:worksheet xmlns:x='{MAIN_NS}'><x:sheetData><x:row r='1'>"
    "<x:c r='A1'><x:v>1</x:v></x:c><x:c r='ZZ900000'><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>"
)
HOSTILE_XLSX = {
    "far cell": FAR_CELL, "far dimension": FAR_DIMENSION, "unreferenced cells": FAR_ROW_OF_UNREFERENCED_CELLS,
    "prefixed names": PREFIXED,
    "lower case": workbook(sheet("<row r='1048576'><c r='xfd1048576'><v>1</v></c></row>")),
}
TOO_LARGE = "工作表的范围过大"

_READ_IN_A_CAGE = """
import sys
import django
django.setup()
from xiuhua.residents.roster.files import RosterFileError, open_table
try:
    open_table(sys.stdin.buffer.read(), "r.xlsx")
except RosterFileError as exc:
    print(exc.messages[0])
else:
    print("read")
"""


def _cage() -> None:
    # 3 GB of address space: ample for Django and a real roster, far from what a forged grid asks.
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))


def measured(data: bytes) -> str:
    """What check_workbook says of a workbook: its refusal, or "" when it lets it through."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            roster_files.check_workbook(archive)
        except roster_files.RosterFileError as refused:
            return refused.messages[0]
    return ""


def read_in_a_cage(data: bytes) -> tuple[int, str]:
    """open_table in a child process with a memory limit: if the reader tries to allocate the
    forged grid, the child dies, not the test run."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_CAGE], input=data, capture_output=True, timeout=300,
        preexec_fn=_cage, env=os.environ.copy(),
    )
    return done.returncode, done.stdout.decode().strip() or done.stderr.decode()[-300:]


@pytest.mark.parametrize("name", HOSTILE_XLSX)
def test_a_forged_grid_is_refused_before_calamine_reads_it(name):
    data = HOSTILE_XLSX[name]
    assert len(data) < 5000
    returncode, said = read_in_a_cage(data)
    assert (returncode, TOO_LARGE in said) == (0, True), said
    assert TOO_LARGE in measured(data)  # the measure itself, in this process: it never calls calamine


def test_a_forged_grid_uploaded_on_the_roster_page_is_refused_and_writes_nothing(client, world):
    # Proven harmless in a cage first, so that a missing check cannot kill this test run.
    assert read_in_a_cage(FAR_CELL)[0] == 0
    staff = as_user(client, world.staff_a1)
    before = snapshot()
    response = staff.post(reverse("residents:roster_upload"), {"file": upload(FAR_CELL, "花名册.xlsx")})
    assert response.status_code == 400
    assert TOO_LARGE in response.content.decode()
    assert snapshot() == before


def inflating_sheet(megabytes: int, *, padding_in: str = "") -> Iterator[bytes]:
    """A worksheet padded with spaces that deflate a thousandfold: between its elements, or inside
    one comment or attribute (one token that an XML parser must hold whole)."""
    head, tail = {"": ("", ""), "comment": ("<!--", "-->"), "attribute": ("<x a='", "'/>")}[padding_in]
    yield (sheet("").removesuffix("</worksheet>") + head).encode()
    for _ in range(megabytes):
        yield b" " * (1024 * 1024)
    yield (tail + "</worksheet>").encode()


def test_a_small_xlsx_that_inflates_to_380_mb_is_refused(client, world):
    data = workbook(inflating_sheet(380))
    assert len(data) < 500 * 1024
    staff = as_user(client, world.staff_a1)
    before = snapshot()
    response = staff.post(reverse("residents:roster_upload"), {"file": upload(data, "花名册.xlsx")})
    assert response.status_code == 400
    assert "文件解压后过大" in response.content.decode()
    assert snapshot() == before


def test_sheets_past_the_sheet_limit_are_refused_while_inflating(monkeypatch):
    """The limit on the sheets holds on what is actually inflated, not on what the zip says."""
    monkeypatch.setattr(roster_files, "MAX_SHEET_BYTES", 3 * 1024 * 1024)
    assert "工作表解压后过大" in measured(workbook(inflating_sheet(4)))


@pytest.mark.parametrize("padding_in", ["comment", "attribute"])
def test_one_huge_token_is_refused_before_the_parser_rescans_it(padding_in):
    """expat scans an unfinished token again with each piece: a 64 MB comment would cost a minute."""
    data = workbook(inflating_sheet(64, padding_in=padding_in))
    started = time.monotonic()
    assert "工作表内容已损坏" in measured(data)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("body", [
    "<row r='2'><c r='A2'><v>1</v></c></rowx>",  # end tags that do not match: calamine reads on
    "<row r='2'><c r='2A'><v>1</v></c></row>",
])
def test_a_sheet_that_is_not_well_formed_is_refused(body):
    assert "工作表内容已损坏" in measured(workbook(sheet(body)))


def test_a_doctype_is_refused():
    data = workbook("<!DOCTYPE w [<!ENTITY a 'aaaaaaaaaa'>]>" + sheet("<row r='2'><c r='A2'><v>&a;</v></c></row>"))
    assert "工作表内容已损坏" in measured(data)


def test_a_real_roster_passes_the_measure():
    rows = "".join(
        f"<row r='{n}'><c r='A{n}' t='inlineStr'><is><t>国和一村</t></is></c><c r='J{n}'><v>1</v></c></row>"
        for n in range(2, 2000)
    )
    assert measured(workbook(sheet(rows, "<dimension ref='A1:J1999'/>"))) == ""


# ---------------------------------------------------------------- finding 6: a 20 KB PNG that costs 1 GB


def giant_png(side: int = 13_000) -> bytes:
    """A black 1-bit PNG of side x side pixels: about 20 KB, 169 megapixels once decoded (and
    three bytes a pixel more once turned into RGB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte, then the row's bits
    pixels = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


class Decoded(Exception):
    """Raised by the spy in place of decoding pixels."""


@pytest.fixture
def decodes(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images whose pixels were decoded; decoding itself is stopped (Decoded)."""
    seen: list[tuple[int, int]] = []

    def spy(image, *args, **kwargs):
        seen.append(image.size)
        raise Decoded(image.size)

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", spy)
    monkeypatch.setattr(PIL.Image.Image, "load", spy)
    return seen


def door_form(**extra) -> dict:
    return {"category": "dialysis", "urgency": "urgent", "description": "周三上午要透析,需要车辆接送",
            "phone": "13812345678", "submission_key": "hostile-key-0000000001"} | extra


def door_snapshot() -> tuple[int, int, int]:
    return Ticket.objects.count(), TicketEvent.objects.count(), AuditEvent.objects.count()


def test_a_giant_png_on_the_door_form_is_refused_from_its_header(client, world, decodes):
    data = giant_png()
    assert len(data) < 30 * 1024
    before = door_snapshot()
    photo = SimpleUploadedFile("p.png", data, content_type="image/png")
    response = client.post(door_path(world.household_a1.pk), door_form(photo=photo))  # no login
    assert response.status_code == 400
    assert "照片像素过高" in response.content.decode()
    assert decodes == [] and door_snapshot() == before


def test_a_giant_png_as_a_pledge_photo_is_refused_from_its_header(decodes):
    with pytest.raises(ValidationError) as refused:
        isolation_services.clean_photo(SimpleUploadedFile("p.png", giant_png(), content_type="image/png"))
    assert "照片像素过高" in refused.value.message_dict["pledge_photo"][0]
    assert decodes == []


def test_pillow_refuses_what_the_header_check_would_have():
    assert PIL.Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS
    with pytest.raises(PIL.Image.DecompressionBombError):
        PIL.Image.open(io.BytesIO(giant_png(15_000)))


def _small_jpeg() -> bytes:
    buffer = io.BytesIO()
    PIL.Image.new("RGB", (640, 480), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


SMALL_JPEG = _small_jpeg()  # made before the spy is in place


def test_a_door_request_over_the_limit_costs_no_decode(client, world, decodes):
    for _n in range(door_requests.HOUSEHOLD_PER_HOUR):
        ticket_create(actor=None, source="door_qr", category="food", urgency="normal", description="买菜",
                      committee=world.committee_a1, household=world.household_a1)
    before = door_snapshot()
    photo = SimpleUploadedFile("p.jpg", SMALL_JPEG, content_type="image/jpeg")
    response = client.post(door_path(world.household_a1.pk), door_form(photo=photo))
    assert response.status_code == 429 and "这一户1小时内已提交3次求助" in response.content.decode()
    assert decodes == [] and door_snapshot() == before


def test_a_photo_whose_pixels_are_broken_is_refused_once_decoded(client, world):
    """Past its header and the limits, a photo that does not decode is a form error, not a 500."""
    broken = SMALL_JPEG[: len(SMALL_JPEG) // 2]
    before = door_snapshot()
    photo = SimpleUploadedFile("p.jpg", broken, content_type="image/jpeg")
    response = client.post(door_path(world.household_a1.pk), door_form(photo=photo))
    assert response.status_code == 400 and "无法识别该照片" in response.content.decode()
    assert door_snapshot() == before


# ---------------------------------------------------------------- finding 8: bodies read before "too large"


class UnreadBody(io.RawIOBase):
    """A request body that fails the test as soon as anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


HUGE = 200 * 1024 * 1024


def huge_post(client, path: str, content_type: str, **headers):
    return client.generic("POST", path, b"", content_type=content_type, headers=headers,
                          CONTENT_LENGTH=str(HUGE), **{"wsgi.input": UnreadBody()})


def test_a_huge_door_form_is_refused_before_its_body_is_read(client, world):
    before = door_snapshot()
    response = huge_post(client, door_path(world.household_a1.pk), "multipart/form-data; boundary=xx")
    assert response.status_code == 413
    assert "提交的内容过大" in response.content.decode() and response["Content-Type"].startswith("text/html")
    assert door_snapshot() == before


def test_a_huge_roster_upload_is_refused_before_its_body_is_read(client, world, settings):
    staff = as_user(client, world.staff_a1)
    before = snapshot()
    response = huge_post(staff, reverse("residents:roster_upload"), "multipart/form-data; boundary=xx")
    assert response.status_code == 413 and "提交的内容过大" in response.content.decode()
    assert snapshot() == before
    # Just past the limit is enough; a roster at its own limit (and the form around it) fits.
    assert settings.XIUHUA_MAX_REQUEST_BYTES >= settings.ROSTER_MAX_UPLOAD_BYTES + 64 * 1024
    settings.XIUHUA_MAX_REQUEST_BYTES = 1000
    response = staff.generic("POST", reverse("residents:roster_upload"), b"", content_type="multipart/form-data",
                             CONTENT_LENGTH="1001", **{"wsgi.input": UnreadBody()})
    assert response.status_code == 413


def test_a_huge_api_body_is_refused_as_json_before_it_is_read(world):
    api = as_token(world.street_officer)
    response = huge_post(api.client, "/api/tickets/hotline", "application/json", **api.headers)
    assert response.status_code == 413
    assert "提交的内容过大" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_a_chunked_body_without_a_length_is_cut_off_under_asgi(settings):
    """Under WSGI Django reads nothing past Content-Length (none: nothing at all); an ASGI server
    hands the body over in pieces, which Django would spool whole before any middleware runs."""
    from config.asgi import application

    settings.XIUHUA_MAX_REQUEST_BYTES = 3 * 1024 * 1024
    pieces_taken = 0
    sent: list[dict] = []

    async def receive():
        # 12 MB in all: enough to see where reading stops, bounded so that a missing cap costs
        # the test run no more than that.
        nonlocal pieces_taken
        if pieces_taken == 12:
            await asyncio.Event().wait()  # the client stays connected, waiting for the answer
        pieces_taken += 1
        return {"type": "http.request", "body": b"x" * (1024 * 1024), "more_body": pieces_taken < 12}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/help/", "raw_path": b"/help/", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked"),
                    (b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }
    asyncio.run(application(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert "提交的内容过大" in b"".join(m.get("body", b"") for m in sent[1:]).decode()
    assert pieces_taken <= 4


# ---------------------------------------------------------------- finding 8: times off the calendar

OUT_OF_RANGE_TIMES = [
    "2026-01-01T00:00:00-22:53",  # PostgreSQL: "time zone displacement out of range"
    "2026-01-01T00:00:00+23:59",
    "2026-01-01T00:00:00+15:00",
    "2026-01-01T00:00:00-12:01",
    "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC (OverflowError)
    "0001-01-01T00:00:00",  # Beijing time, the same
    "9999-12-31T23:59:59-01:00",  # after year 9999 once in UTC
]


@pytest.mark.parametrize("value", OUT_OF_RANGE_TIMES)
def test_a_time_off_the_calendar_in_changed_since_is_a_422_in_chinese(world, value):
    response = as_token(world.street_officer).get("/api/tickets", {"changed_since": value})
    assert response.status_code == 422, response.content
    [message] = response.json()["detail"]["changed_since"]
    assert "时区" in message or "时间超出范围" in message


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00+14:00", "2026-01-01T00:00:00-12:00",
                                   "0001-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01"])
def test_times_at_the_edges_of_the_calendar_are_taken(world, value):
    response = as_token(world.street_officer).get("/api/tickets", {"changed_since": value})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("value", OUT_OF_RANGE_TIMES)
def test_a_pushed_order_received_off_the_calendar_is_a_422(world, value):
    order = {"external_number": "12345-20260101-0001", "received_at": value, "description": "楼道停水两天",
             "address": world.household_a1.address}
    response = as_token(world.street_officer).send("POST", "/api/tickets/hotline", order)
    assert response.status_code == 422, response.content
    assert list(response.json()["detail"]) == ["received_at"]
    assert not Ticket.objects.exists()


# ---------------------------------------------------------------- finding 8: NUL and lone surrogates by SMS


def signed_post(client, url: str, payload) -> HttpResponse:
    """As the provider posts: JSON with \\u escapes (a lone surrogate cannot be UTF-8), signed."""
    body = json.dumps(payload).encode()
    return client.post(url, body, content_type="application/json", headers=sign_webhook(body, WEBHOOK_SECRET))


def sms_in(message_id: str, content: str, phone: str = "13812345678") -> dict:
    return {"message_id": message_id, "phone_number": phone, "content": content,
            "receive_time": "2026-02-05T10:00:00+08:00"}


@pytest.mark.parametrize("dirty, clean", [
    (sms_in("m-1", "帮助\x00"), ("m-1", "帮助")),
    (sms_in("m-1", "帮\ud800助"), ("m-1", "帮\ufffd助")),
    (sms_in("m-\x001", "帮助\udfff"), ("m-1", "帮助\ufffd")),
    (sms_in("m-1", "帮助", phone="138\x0012345678"), ("m-1", "帮助")),
])
def test_a_signed_message_with_nul_or_a_lone_surrogate_is_stored_cleaned_with_its_batch(client, settings,
                                                                                         dirty, clean):
    """PostgreSQL refuses NUL in text, and no database can encode a lone surrogate: stored
    cleaned, so the rest of the batch is not lost with it (and not retried forever)."""
    settings.SMS_WEBHOOK_SECRET = WEBHOOK_SECRET
    response = signed_post(client, reverse("sms:webhook_inbound"), [dirty, sms_in("m-2", "口罩")])
    assert response.status_code == 200 and response.json()["stored"] == 2
    stored = dict(InboundSms.objects.values_list("provider_message_id", "text"))
    assert stored == dict([clean, ("m-2", "口罩")])
    assert not InboundSms.objects.filter(status=InboundSms.Status.RECEIVED).exists()  # all handled


def test_a_delivery_report_with_nul_in_its_id_is_an_unknown_id(client, settings):
    settings.SMS_WEBHOOK_SECRET = WEBHOOK_SECRET
    report = {"biz_id": "biz\x00", "success": True, "report_time": "2026-02-05 10:00:05"}
    response = signed_post(client, reverse("sms:webhook_report"), [report])
    assert response.status_code == 404


# ---------------------------------------------------------------- finding 8: door codes guessed at 540 a second


def wrong_door_url(household_pk: int, n: int) -> str:
    code = door_code(household_pk)
    wrong = "".join(sorted({"0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(n + i) % 32] for i in range(8)}))[:8]
    assert wrong != code
    return f"/help/d/{household_pk}-{wrong}/"


def test_wrong_door_codes_from_one_address_are_throttled_also_for_the_right_code(client, world, monkeypatch):
    household = world.household_a1
    right = door_path(household.pk)
    any_404 = client.get("/no-such-page/")
    for n in range(10):
        response = client.get(wrong_door_url(household.pk, n))
        assert response.status_code == 404 and response.content == any_404.content  # nothing tells it apart
    for n in range(10):  # typed from the card on /help/: the same guessing
        response = client.post(reverse("help:start"), {"code": f"{household.pk}-ABCDEFG{n}"})
        assert response.status_code == 400 and "求助码不正确" in response.content.decode()
    before = door_snapshot()
    key = door_key(household.pk)
    for answer in (client.get(wrong_door_url(household.pk, 99)), client.get(right), client.post(right, door_form()),
                   client.post(reverse("help:start"), {"code": key}),
                   client.post(reverse("help:otp_send", kwargs={"key": key}), {"phone": "13812345678"})):
        assert answer.status_code == 429
        text = answer.content.decode()
        assert "求助码错误次数过多" in text and "120" in text
        assert int(answer["Retry-After"]) <= 600
    assert door_snapshot() == before
    # Another address is not held up; this one is let in again once the ten minutes are over.
    assert Client(REMOTE_ADDR="10.9.8.7").get(right).status_code == 200
    later = ratelimit.clock() + dt.timedelta(minutes=11)
    monkeypatch.setattr(ratelimit, "clock", lambda: later)
    assert client.get(right).status_code == 200


def test_an_ipv6_subscriber_is_one_address_for_the_door_code_limit(world):
    household = world.household_a1
    for n in range(20):
        Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}").get(wrong_door_url(household.pk, n))
    assert Client(REMOTE_ADDR="2001:db8:1:2:ffff::1").get(door_path(household.pk)).status_code == 429
    assert Client(REMOTE_ADDR="2001:db8:1:3::1").get(door_path(household.pk)).status_code == 200
