"""What logs, response headers, private files and names may carry (security review, 7 and 8).

Each test is written as the auditor would check it: drive the real flows and look at what came
out (every log line, every header, the file modes), rather than trusting the configuration.
"""

import contextlib
import datetime as dt
import io
import logging
import re
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from xiuhua.core.models import AuditEvent
from xiuhua.masks.tests.fixtures import build_masks
from xiuhua.residents.models import Resident
from xiuhua.residents.tests.test_roster_fixtures import import_file, new_id, person, problems_of, xlsx
from xiuhua.sms.models import InboundSms, OutboundSms
from xiuhua.testing import acting, as_user
from xiuhua.tickets import services as ticket_services
from xiuhua.tickets.door import door_key
from xiuhua.tickets.models import Ticket
from xiuhua.tickets.notify import follow_path

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)


# ------------------------------------------------------------------ 1. nothing personal in a log line


@contextlib.contextmanager
def every_log_line():
    """Every logger at DEBUG (SQL included), and every configured handler writing into one buffer,
    so the buffer holds exactly what production's handlers would have written. Records that find
    no handler at all go to logging.lastResort, which is captured too."""
    buffer = io.StringIO()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    handlers = {
        handler for logger in loggers for handler in logger.handlers
        if not type(handler).__module__.startswith("_pytest")
    }
    levels = {logger: (logger.level, logger.disabled) for logger in loggers}
    streams = {h: h.setStream(buffer) for h in handlers if isinstance(h, logging.StreamHandler)}
    last_resort = logging.lastResort
    logging.lastResort = logging.StreamHandler(buffer)
    debug_cursor = connection.force_debug_cursor
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    connection.force_debug_cursor = True
    try:
        yield buffer, handlers
    finally:
        connection.force_debug_cursor = debug_cursor
        logging.lastResort = last_resort
        for handler, stream in streams.items():
            handler.setStream(stream)
        for logger, (level, disabled) in levels.items():
            logger.setLevel(level)
            logger.disabled = disabled


class GunicornResponse:
    def __init__(self, response):
        self.status = f"{response.status_code} {response.reason_phrase}"
        self.headers = list(response.items())
        self.sent = len(getattr(response, "content", b""))


def gunicorn_lines(environs: list[dict], tmp_path: Path) -> str:
    """The access and error log lines gunicorn writes for these requests, under config/gunicorn.py."""
    import runpy

    from gunicorn.config import Config

    cfg = Config()
    for name, value in runpy.run_path(str(BASE_DIR / "config" / "gunicorn.py")).items():
        if name in cfg.settings:
            cfg.set(name, value)
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    log = cfg.logger_class(cfg)
    try:
        for environ, response in environs:
            environ = dict(environ)
            query = environ.get("QUERY_STRING", "")
            environ["RAW_URI"] = environ["PATH_INFO"] + (f"?{query}" if query else "")
            environ.setdefault("REMOTE_ADDR", "127.0.0.1")
            headers = [(k[5:].replace("_", "-"), v) for k, v in environ.items() if k.startswith("HTTP_")]
            log.access(GunicornResponse(response), headers, environ, dt.timedelta(milliseconds=12))
            # What a worker writes when the application raises (workers/base.py).
            log.error("Error handling request %s", environ["RAW_URI"])
    finally:
        for logger in (log.error_log, log.access_log):
            for handler in list(logger.handlers):
                handler.close()
                logger.removeHandler(handler)
    return (tmp_path / "access.log").read_text() + (tmp_path / "error.log").read_text()


def test_no_identifier_or_capability_reaches_any_log_line(world, tmp_path):
    w = world
    _ticket, token = ticket_services.ticket_create(
        actor=None, source="door_qr", category="medicine", urgency="normal", description="需要配降压药",
        committee=w.committee_a1, household=w.household_a1, requester_phone=w.resident_a1.mobile,
    )
    key = door_key(w.household_a1.pk)
    code = key.split("-")[1]
    forged = f"{w.household_a1b.pk}-{'ABCDEFGH' if code != 'ABCDEFGH' else 'HGFEDCBA'}"
    residents = [w.resident_a1, w.resident_a1b, w.resident_a2, w.resident_b1]
    secrets = {r.plain_id for r in residents} | {r.mobile for r in residents}
    secrets |= {key, code, forged, forged.split("-")[1], token}
    full_id, mobile = w.resident_a1.plain_id, w.resident_a1.mobile

    environs = []

    def keep(response):
        environs.append((response.wsgi_request.environ, response))
        return response

    with every_log_line() as (buffer, handlers):
        door = f"/help/d/{key}/"
        # A door form posted without a CSRF cookie: django.security.csrf names the path.
        strict = Client(enforce_csrf_checks=True)
        response = keep(strict.post(door, {"category": "medicine", "description": "x"},
                                    HTTP_REFERER=f"http://testserver{door}?phone={mobile}"))
        assert response.status_code == 403
        anonymous = Client()
        assert keep(anonymous.get(door)).status_code == 200
        assert keep(anonymous.get(follow_path(token), {"from": mobile})).status_code == 200
        # A forged door code and a page under a real one that does not exist: 404s name the path.
        assert keep(anonymous.get(f"/help/d/{forged}/")).status_code == 404
        assert keep(anonymous.get(f"{door}nothing-here/")).status_code == 404
        assert keep(anonymous.get(f"/help/t/{token}/nothing-here/")).status_code == 404
        staff = as_user(Client(), w.staff_a1)
        for q in (full_id, mobile):
            # Searches are POSTed; a query typed into a URL by hand is refused or not run, and
            # must still leave no trace in the logs.
            assert keep(staff.get("/residents/", {"q": q})).status_code == 200
            assert keep(staff.get("/api/residents", {"q": q})).status_code == 422
            assert keep(staff.post("/residents/", {"q": q})).status_code == 200
            posted = staff.post("/api/residents/search", {"q": q}, content_type="application/json")
            assert keep(posted).status_code == 200
        # What runserver writes for each request (django.core.servers.basehttp).
        logging.getLogger("django.server").warning(
            '"%s" %s %s', f"GET {door}?id={full_id} HTTP/1.1", "404", "179"
        )
        logging.getLogger("django.server").info('"%s" %s %s', f"GET {follow_path(token)} HTTP/1.1", "200", "2048")
        django_lines = buffer.getvalue()

    assert "Forbidden (CSRF" in django_lines and "Not Found:" in django_lines  # the flows did log
    lines = django_lines + gunicorn_lines(environs, tmp_path)
    assert "GET /help/d/" in lines and "GET /residents/ " in lines  # gunicorn logged the requests
    hits = sorted({secret for secret in secrets if secret in lines})
    assert hits == [], "\n".join(line for line in lines.splitlines() if any(s in line for s in hits))

    from xiuhua.core.logredact import RedactingFilter

    # A NullHandler (libraries add one to their loggers) writes nowhere.
    unfiltered = [h for h in handlers if not isinstance(h, logging.NullHandler)
                  and not any(isinstance(f, RedactingFilter) for f in h.filters)]
    assert unfiltered == []


def test_the_redaction_rules():
    from xiuhua.core.logredact import redact

    assert redact("GET /help/d/1234-K7M2Q9XA/verify/?next=/x HTTP/1.1") == "GET /help/d/[door]/verify/?[query] HTTP/1.1"
    assert redact("Not Found: /help/t/Zq3-_x8AbCdEfGhIjKlMnOp/") == "Not Found: /help/t/[token]/"
    assert redact("GET /passport/d/1234-K7M2Q9XA/stamps/ HTTP/1.1") == "GET /passport/d/[card]/stamps/ HTTP/1.1"
    assert redact("POST /supply/o/77-K7M2Q9XA/ HTTP/1.1") == "POST /supply/o/[label]/ HTTP/1.1"
    assert redact("Not Found: /supply/g/5-ABCDEFGH/") == "Not Found: /supply/g/[receipt]/"
    assert redact("GET /volunteers/p/9-K7M2Q9XA/verify/ HTTP/1.1") == "GET /volunteers/p/[post]/verify/ HTTP/1.1"
    assert redact("id 31011019800517001X, phone +86 138 1234 5678.") == "id [id], phone [mobile]."
    # Letters are no boundary: a number glued to a word is still a number.
    assert redact("tel13812345678,ID31011019800517001X") == "tel[mobile],ID[id]"
    assert redact("order 1381234567890 at 13:81") == "order 1381234567890 at 13:81"
    assert redact("/api/residents?q=%E5%BC%A0") == "/api/residents?[query]"
    assert redact("确定截止登记? 是") == "确定截止登记? 是"  # a question mark in prose is not a query


# ------------------------------------------------------------------ 2. Content-Security-Policy


def directives(header: str) -> dict[str, list[str]]:
    """The policy's directives, without the per-response nonce."""
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = [w for w in words[1:] if not w.startswith("'nonce-")]
    return parsed


def test_pages_carry_a_strict_content_security_policy(client, world):
    as_user(client, world.staff_a1)
    pages = [
        reverse("home"),
        reverse("residents:detail", args=[world.resident_a1.pk]),
        reverse("sms:outbox"),
        f"/help/d/{door_key(world.household_a1.pk)}/",
        reverse("accounts:login"),
    ]
    for url in pages:
        response = (Client() if url == reverse("accounts:login") else client).get(url)
        assert response.status_code == 200, url
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["form-action"] == ["'self'"], url
        assert policy["img-src"] == ["'self'", "data:"], url
        assert policy.get("script-src", policy["default-src"]) == ["'self'"], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["style-src"] == ["'self'"], url
    # A page with a <style> block allows exactly that block, by the nonce the response names.
    response = client.get(f"/help/d/{door_key(world.household_a1.pk)}/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])[1]
    assert f'<style nonce="{nonce}">' in response.content.decode()
    # Swagger UI (django-ninja's copy) needs no exception: its settings are a JSON <script>, its
    # code static files, and React sets its styles through the DOM, which the policy allows.
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == policy
    # A JSON answer is never rendered as a page: no policy to build for it.
    response = client.get("/api/me")
    assert response.status_code == 200 and "Content-Security-Policy" not in response


TEMPLATE_DIRS = sorted(BASE_DIR.glob("xiuhua/**/templates"))
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S)
STYLE_WITHOUT_NONCE = re.compile(r"<style\b(?![^>]*\bnonce=\"\{\{ request\.csp_nonce \}\}\")[^>]*>", re.I)


def test_no_template_holds_inline_script_handlers_or_style_attributes():
    found = []
    templates = [path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")]
    assert len(templates) > 50
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for rule, pattern in (
            ("inline <script>", INLINE_SCRIPT), ("on...= handler", INLINE_HANDLER),
            ("style= attribute", STYLE_ATTRIBUTE), ("<style> without the nonce", STYLE_WITHOUT_NONCE),
        ):
            found += [f"{path.relative_to(BASE_DIR)}: {rule}: {m[0][:60]}" for m in pattern.finditer(text)]
    assert found == []


# ------------------------------------------------------------------ 3. Cache-Control: no-store


def test_personal_pages_and_api_answers_are_not_stored(client, world):
    from xiuhua.tracing.tests.test_pages import csv_bytes, import_list

    w = world
    batch = import_list(w, csv_bytes(f"张秀英,{w.resident_a1.plain_id},13812345678,国和一村5号302室,"))
    entry = batch.entries.get()
    _ticket, token = ticket_services.ticket_create(
        actor=None, source="door_qr", category="medicine", urgency="normal", description="需要配降压药",
        committee=w.committee_a1, household=w.household_a1, requester_phone=w.resident_a1.mobile,
    )
    as_user(client, w.staff_a1)
    private = [
        reverse("residents:detail", args=[w.resident_a1.pk]),
        reverse("residents:household", args=[w.household_a1.pk]),
        "/api/residents",
        reverse("residents:search") + "?q=张",
        follow_path(token),
        reverse("home"),
    ]
    for url in private:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
    as_user(client, w.street_officer)
    response = client.get(reverse("tracing:entry", args=[entry.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    # Answers that are not 200 and carry a path are not stored either.
    assert "no-store" in Client().get("/residents/")["Cache-Control"]
    # The mask figures are public open data, cacheable for 30 seconds.
    masks = build_masks(w)
    response = Client().get(reverse("masks:public_open_pharmacies", kwargs={"round_id": masks.round.pk, "fmt": "json"}))
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"] and "max-age=30" in response["Cache-Control"]


# ------------------------------------------------------------------ 4. private files


def test_private_files_are_0600_in_0700_folders(settings, tmp_path):
    from xiuhua.core.files import private_storage

    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    storage = private_storage()
    name = storage.save("pledges/2026/05/case-1.jpg", ContentFile(b"\xff\xd8 a photo"))
    path = Path(storage.path(name))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    folder = path.parent
    while True:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        if folder == settings.PRIVATE_FILES_ROOT:
            break
        folder = folder.parent
    # A root made by an older install with the usual 0755 is closed as well.
    settings.PRIVATE_FILES_ROOT.chmod(0o755)
    private_storage()
    assert stat.S_IMODE(settings.PRIVATE_FILES_ROOT.stat().st_mode) == 0o700


# ------------------------------------------------------------------ 5. invisible characters in names

HIDDEN = ["\u202e", "\u2066", "\u200b", "\u200f", "\ufeff", "\u2028", "\u2029", "\u00ad", "\x07", "\x1b"]


@pytest.mark.parametrize("hidden", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_a_name_with_invisible_or_control_characters_is_refused(client, world, hidden):
    as_user(client, world.staff_a1)
    response = client.post(reverse("residents:edit", args=[world.resident_a1.pk]), {
        "name": f"张{hidden}秀英", "sex": "F", "birth_date": "1946-03-08", "id_type": "resident_id",
        "mobile": "13812345678", "relation": "head", "living_status": "here",
    })
    assert response.status_code == 200
    assert "姓名含有不可见或控制字符" in response.content.decode()
    assert Resident.objects.get(pk=world.resident_a1.pk).name == "张秀英"
    assert not AuditEvent.objects.filter(action="resident_update").exists()


def test_the_roster_import_reports_invisible_characters_in_names(world):
    staff = acting(world.staff_a1)
    good = person(姓名="陈新", 室号="601", 证件号码=new_id())
    spoofed = person(姓名="陈\u202e新", 室号="602", 证件号码=new_id())
    hidden = person(姓名="陈\u200b新", 室号="603", 证件号码=new_id())
    imp = import_file(staff, world.committee_a1, xlsx([good, spoofed, hidden]))
    assert problems_of(imp) == [(3, "姓名", "姓名含有不可见或控制字符"), (4, "姓名", "姓名含有不可见或控制字符")]


def test_every_other_place_that_takes_a_name_refuses_them(world):
    from django.core.exceptions import ValidationError

    from xiuhua.core.idnumbers import make_resident_id
    from xiuhua.isolation import services as isolation
    from xiuhua.masks import services as masks_services
    from xiuhua.masks.services import reservations
    from xiuhua.residents import services as residents
    from xiuhua.tracing.tests.test_pages import csv_bytes, import_list

    w, spoofed = world, "陈\u202e新"
    masks = build_masks(w)
    attempts = {
        "arrival": lambda: isolation.arrival_register(
            actor=acting(w.staff_a1), household=w.household_a1, name=spoofed, id_type="resident_id",
            id_number=make_resident_id("420102", dt.date(1985, 4, 2), 321), phone="13911112222",
            origin_text="湖北省武汉市", transport="train", arrival_date=dt.date.today(),
        ),
        "work order": lambda: ticket_services.ticket_create(
            actor=acting(w.staff_a1), source="call", category="medicine", urgency="normal", description="配药",
            committee=w.committee_a1, requester_name=spoofed, requester_phone="13911112222",
        ),
        "mask reservation": lambda: masks_services.reservation_submit(
            actor=None, round=masks.round, channel="online", name=spoofed, id_type="resident_id",
            id_number=new_id(), phone="13911112222", committee=w.committee_a1, address_text="国和一村5号201室",
        ),
        # A roster resident's own reservation: one SQL statement on PostgreSQL, which must not
        # take the name either.
        "own mask reservation": lambda: reservations.reservation_submit_resident(
            round=masks.round, phone=w.resident_a1.mobile, channel="online", name="张\u202e秀英",
            id_type="resident_id", id_number=w.resident_a1.plain_id, committee=w.committee_a1,
        ),
        "landlord": lambda: residents.household_create(
            actor=acting(w.staff_a1), building=w.building_a1, room="909", is_rental=True,
            landlord_name=spoofed, landlord_phone="13911112222",
        ),
    }
    for place, attempt in attempts.items():
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert "姓名含有不可见或控制字符" in str(refused.value.message_dict), place
    batch = import_list(w, csv_bytes(f"{spoofed},,13812345678,,", f"张秀英,{w.resident_a1.plain_id},,,"))
    assert list(batch.problems.values_list("row", "message")) == [(2, "姓名含有不可见或控制字符,该行未导入")]
    assert batch.entries.count() == 1


def test_names_keep_the_characters_real_names_use():
    from xiuhua.core.text import check_person_name

    for name in ("张秀英", "欧阳 娜娜", "阿依古丽·买买提", "O'Brien-Smith", "李\U000303b1", "葛\U000e0100", "邓 小平"):
        assert check_person_name(f" {name} ") == name


# ------------------------------------------------------------------ 6. the simulated SMS inbox


@pytest.mark.parametrize("who", ["staff_a1", "street_officer", "district_officer"])
def test_only_the_system_administrator_may_play_an_inbound_sms(client, world, settings, who):
    settings.SMS_BACKEND = "xiuhua.sms.backends.DevBackend"
    before = (InboundSms.objects.count(), OutboundSms.objects.count(), Ticket.objects.count(),
              AuditEvent.objects.count())
    as_user(client, getattr(world, who))
    # Filing a help request as another committee's resident, by their roster mobile.
    response = client.post(reverse("sms:simulate"), {"phone": world.resident_b1.mobile, "text": "求助 周三透析需要车"})
    assert response.status_code == 403
    assert 'id="simulate-form"' not in client.get(reverse("sms:outbox")).content.decode()
    after = (InboundSms.objects.count(), OutboundSms.objects.count(), Ticket.objects.count(),
             AuditEvent.objects.count())
    assert after == before

    as_user(client, world.sysadmin)
    response = client.post(reverse("sms:simulate"), {"phone": world.resident_b1.mobile, "text": "求助 周三透析需要车"})
    assert response.status_code == 302
    assert InboundSms.objects.get().source == "simulated"
