"""A tracing list is not a city-wide lookup.

Street B's officer uploads a "list" of bare identity numbers, mobiles and addresses of people who
live in street A, then reads everything the tracing pages and the API answer. The people must be
routed to their committee, but street B may learn nothing of them beyond its own rows and that
they were forwarded: not their roster name, address, committee, household, match or outcome.
"""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.crypto import mask_identity, mask_phone
from xiuhua.core.models import AuditEvent
from xiuhua.testing import as_user
from xiuhua.tracing.models import EntryStatus, ListEntry, TracingBatch

pytestmark = pytest.mark.django_db

FORWARDED = "已转至其他街道"


def probe_list(w) -> bytes:
    """Names made up by the prober: only the keys are real."""
    return (
        "姓名,身份证号,手机号码,现住址\n"
        f"甲,{w.resident_a1.plain_id},,\n"  # identity number only
        f"乙,,{w.resident_a1b.mobile},\n"  # mobile only
        "丙,,,杨浦区国和二村12号楼201室\n"  # address only
    ).encode()


def roster_secrets(w) -> list[str]:
    """What the roster holds of the three people and the list did not give."""
    a1, a1b, a2 = w.resident_a1, w.resident_a1b, w.resident_a2
    secrets = [
        # roster names
        a1.name, a1b.name, a2.name,
        # where they live: committee, street, compound, building and room
        w.committee_a1.name, w.committee_a2.name, w.street_a.name, w.compound_a1.name,
        w.household_a1.address, w.household_a1b.address, w.household_a2.address, "5号302", "6号101",
        # numbers the list did not carry, plain or masked
        a1.mobile, mask_phone(a1.mobile), a2.mobile, mask_phone(a2.mobile),
        a1b.plain_id, mask_identity(a1b.plain_id), a2.plain_id, mask_identity(a2.plain_id),
        # birth dates (tags are not tested by label: the home page heads its own counts with them)
        a1.birth_date.isoformat(), a1.birth_date.strftime("%Y年%m月%d日"),
        # household and resident ids, as links
        *(f"/residents/households/{h.pk}/" for h in (w.household_a1, w.household_a1b, w.household_a2)),
        *(f"/residents/{r.pk}/" for r in (a1, a1b, a2)),
        # how they were matched, and what the committees reported
        "地址与姓名相符", "地址相符,姓名不在该户", "本人居家,已告知", "已搬至闵行区",
        str(w.staff_a1), str(w.staff_a2),
    ]
    return [s for s in secrets if s]


# A match confidence, as the entry page ("可信度100") or a table cell (data-label="可信度">100) shows it.
CONFIDENCE = re.compile(r'可信度(?:"\s*>\s*)?\d')


def leaks(body: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in body] + CONFIDENCE.findall(body)


def tracing_urls(batch, entries) -> list[str]:
    """Every GET page of the tracing app, for the batch and each entry (new pages are walked too)."""
    from xiuhua.tracing.urls import urlpatterns

    names = [p.name for p in urlpatterns]
    out = []
    for name in names:
        pattern = [p for p in urlpatterns if p.name == name][0]
        params = set(pattern.pattern.converters)
        if not params:
            out.append(reverse(f"tracing:{name}"))
        elif params == {"batch_id"}:
            out.append(reverse(f"tracing:{name}", args=[batch.pk]))
        elif params == {"entry_id"}:
            out.extend(reverse(f"tracing:{name}", args=[e.pk]) for e in entries)
        else:
            raise AssertionError(f"tracing:{name} takes {params}: teach this test to walk it")
    return out


def text_of(response) -> str:
    """A page's text, or every cell of a downloaded workbook (the lists' Excel files)."""
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        sheet = load_workbook(io.BytesIO(response.content)).active
        return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    return response.content.decode()


def api_urls(client, w, batch, entries) -> list[str]:
    """Every GET operation of the API that the prober could point at these people."""
    spec = client.get("/api/openapi.json").json()
    values = {
        "batch_id": [batch.pk],
        "entry_id": [e.pk for e in entries],
        "resident_id": [r.pk for r in (w.resident_a1, w.resident_a1b, w.resident_a2)],
        "household_id": [h.pk for h in (w.household_a1, w.household_a1b, w.household_a2)],
    }
    out = []
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        params = re.findall(r"{(\w+)}", path)
        if not params:
            out.append(path)
        elif len(params) == 1 and params[0] in values:
            out.extend(path.replace("{" + params[0] + "}", str(v)) for v in values[params[0]])
    return out


def test_a_street_cannot_read_the_roster_of_another_street_through_a_list(client, world):
    w = world
    secrets = roster_secrets(w)

    # Street B's officer uploads the probe through the import page.
    as_user(client, w.street_officer_b)
    now = timezone.localtime().replace(second=0, microsecond=0)
    response = client.post(reverse("tracing:import"), {
        "file": SimpleUploadedFile("清单.csv", probe_list(w), content_type="text/csv"),
        "source": "telecom", "reference": "通信大数据", "received_at": now.strftime("%Y-%m-%dT%H:%M"),
    })
    batch = TracingBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("tracing:batch", args=[batch.pk])
    entries = list(ListEntry.objects.filter(batch=batch).order_by("row"))

    # The people are routed to their committees in street A the same day...
    assert [(e.committee, e.street, e.status) for e in entries] == [
        (w.committee_a1, w.street_a, EntryStatus.ASSIGNED),
        (w.committee_a1, w.street_a, EntryStatus.ASSIGNED),
        (w.committee_a2, w.street_a, EntryStatus.ASSIGNED),
    ]
    # ... and the committees report.
    as_user(client, w.staff_a1)
    report = reverse("tracing:entry_report", args=[entries[0].pk])
    assert client.post(report, {"status": "controlled", "note": "本人居家,已告知"}).status_code == 302
    as_user(client, w.staff_a2)
    report = reverse("tracing:entry_report", args=[entries[2].pk])
    assert client.post(report, {"status": "not_here", "note": "已搬至闵行区"}).status_code == 302

    # Street B reads every tracing page, its home and the API: none of it tells the roster.
    as_user(client, w.street_officer_b)
    pages = [*tracing_urls(batch, entries), reverse("home"), *api_urls(client, w, batch, entries)]
    found = {}
    for url in pages:
        response = client.get(url)
        if response.status_code == 200:
            body = text_of(response)
            if leaks(body, secrets):
                found[url] = leaks(body, secrets)
    assert found == {}, "\n".join(f"{u}: {v}" for u, v in found.items())

    # What it does see: its own rows as it sent them, forwarded, and no per-committee figures.
    page = client.get(reverse("tracing:batch", args=[batch.pk]))
    figures = page.context["figures"]
    assert (figures.total.entries, figures.total.forwarded, figures.total.controlled) == (3, 3, 0)
    assert figures.committees == [] and figures.streets == [] and figures.by_method == {}
    assert page.content.decode().count(FORWARDED) >= 3
    entry_page = client.get(reverse("tracing:entry", args=[entries[1].pk])).content.decode()
    assert "乙" in entry_page and FORWARDED in entry_page and mask_phone(w.resident_a1b.mobile) in entry_page
    assert w.resident_a1b.mobile not in entry_page

    # Nor can it act on them (a transfer to its own committee would hand it the roster view).
    before = list(ListEntry.objects.order_by("pk").values_list("status", "committee_id", "street_id"))
    for e in entries:
        response = client.post(reverse("tracing:entry_assign", args=[e.pk]), {"to": w.committee_b1.pk})
        assert response.status_code == 404
    assert list(ListEntry.objects.order_by("pk").values_list("status", "committee_id", "street_id")) == before

    # The probes are accountable: the receiving committee sees which street sent the list.
    as_user(client, w.staff_a1)
    worklist = client.get(reverse("tracing:home"))
    assert [e.pk for e in worklist.context["worklist"]] == [entries[1].pk]
    assert f"{w.street_b.name}转来" in worklist.content.decode()
    entry_page = client.get(reverse("tracing:entry", args=[entries[1].pk])).content.decode()
    assert w.street_b.name in entry_page and str(w.street_officer_b) in entry_page

    # The match was a governed lookup: audited by counts, never by the keys themselves.
    event = AuditEvent.objects.get(action="routing_match")
    assert event.actor == w.street_officer_b and event.personal
    assert event.detail == {
        "keys": {"id_number": 1, "phone": 1, "address": 1}, "purpose": "tracing_import", "matched": 3,
        "outside_scope": 3,
    }
    assert w.resident_a1.plain_id not in str(event.detail) and w.resident_a1b.mobile not in str(event.detail)
