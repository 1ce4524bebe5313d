"""What a user without the reveal permission receives about a resident can never be combined back
into the full identity number (design rule 8).

Each test logs in as such a user, collects every page, API answer and masked export that shows
the resident, reads out the masked number and every birth field, and counts the identity numbers
that remain possible: every region code of the place of birth consistent with the shown prefix,
every birth date consistent with what is shown, every hidden sequence digit of the shown sex,
and only those whose GB 11643 check character agrees with the one shown. A full-number search
can confirm one candidate per try, so a handful of candidates is a rebuilt number.
"""

import datetime as dt
import html
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from xiuhua.core.idnumbers import IdType, gb11643_check_char, make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.residents import services
from xiuhua.residents.identity import identity_fields
from xiuhua.residents.models import Relation, Resident
from xiuhua.testing import acting, as_user

pytestmark = pytest.mark.django_db

# Fewer candidates than this and trying them one by one through a search is practical.
MINIMUM_CANDIDATES = 1000

# Shanghai's region codes (GB/T 2260), current and former districts and counties, as found in the
# numbers of people born there: 黄浦 310101, 卢湾 310103, 徐汇 310104, 长宁 310105, 静安 310106,
# 普陀 310107, 闸北 310108, 虹口 310109, 杨浦 310110, 闵行 310112, 宝山 310113, 嘉定 310114,
# 浦东 310115, 金山 310116, 松江 310117, 青浦 310118, 南汇 310119, 奉贤 310120, 崇明 310151,
# and the counties 南汇 310225, 奉贤 310226, 松江 310227, 金山 310228, 青浦 310229, 崇明 310230.
SHANGHAI_REGIONS = (
    ["310101"]
    + [f"3101{n:02d}" for n in range(3, 11)]
    + [f"3101{n:02d}" for n in range(12, 21)]
    + ["310151"]
    + [f"3102{n:02d}" for n in range(25, 31)]
)
# HK/Macau/Taiwan residence permits: the region part is one fixed code per place.
PERMIT_REGIONS = ["810000", "820000", "830000"]

# GB 11643's check characters, indexed by the weighted sum of the first 17 digits modulo 11.
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_YEAR = 1900

_TAG = re.compile(r"<[^>]+>")
_CELL = re.compile(r'<td data-label="([^"]*)">(.*?)</td>', re.S)
_LABELLED = re.compile(r"<div><label[^>]*>(.*?)</label>(.*?)</div>", re.S)
_MASKED = re.compile(r"[0-9A-Z]*\*+[0-9A-Z]*")


@dataclass
class Received:
    source: str
    raw: str
    fields: list[tuple[str, object]] = field(default_factory=list)


@dataclass
class Known:
    """What the user can tell about the number: the characters shown, and the birth date parts."""

    chars: list[str | None]
    year: int | None = None
    month: int | None = None
    day: int | None = None

    def learn_birth(self, year: int, month: int | None = None, day: int | None = None, *, source: str) -> None:
        for part, value in (("year", year), ("month", month), ("day", day)):
            if value is None:
                continue
            known = getattr(self, part)
            assert known in (None, value), f"{source}: two different birth {part}s shown ({known}, {value})"
            setattr(self, part, value)


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", fragment))).strip()


def _html_fields(page: str, name: str) -> list[tuple[str, object]]:
    """(label, text) of what a page says about the resident: cells of the table rows naming them,
    labelled values, the heading's small print, and the form's inputs and selected options."""
    fields: list[tuple[str, object]] = []
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        if name in row:
            fields += [(label, _text(value)) for label, value in _CELL.findall(row)]
    fields += [(_text(label), _text(value)) for label, value in _LABELLED.findall(page)]
    for heading in re.findall(r"<h1>(.*?)</h1>", page, re.S):
        for small in re.findall(r"<small[^>]*>(.*?)</small>", heading, re.S):
            fields += [("heading", part.strip()) for part in _text(small).split("·")]
    for tag in re.findall(r"<input[^>]*>", page):
        input_name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if input_name and value:
            fields.append((input_name.group(1), html.unescape(value.group(1))))
    for select_name, options in re.findall(r'<select name="([^"]*)"[^>]*>(.*?)</select>', page, re.S):
        fields += [(select_name, v) for v in re.findall(r'<option value="([^"]*)"[^>]*selected', options)]
    return fields


def _is_birth_label(label: str) -> bool:
    return "出生" in label or "birth" in label.lower() or label == "heading"


def _read_birth(known: Known, value: object, source: str) -> None:
    """A birth field as the user reads it: a date, a year and month, a year, or nothing."""
    if isinstance(value, dt.date):  # also a datetime, as openpyxl reads a date cell
        known.learn_birth(value.year, value.month, value.day, source=source)
        return
    text = str(value if value is not None else "").strip()
    if not re.search(r"[0-9]", text):  # empty, a dash, the sex, a help text: no date in it
        return
    full = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", text)
    year_month = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?", text)
    year = re.fullmatch(r"(\d{4})\s*年?生?", text)
    if full:
        known.learn_birth(*(int(g) for g in full.groups()), source=source)
    elif year_month:
        known.learn_birth(*(int(g) for g in year_month.groups()), source=source)
    elif year:
        known.learn_birth(int(year.group(1)), source=source)
    else:
        raise AssertionError(f"{source}: a birth field this test cannot read, teach it: {text!r}")


def what_is_known(received: list[Received], resident: Resident, number: str) -> Known:
    known = Known(chars=[None] * len(number))
    birth = resident.birth_date
    spelled = [f"{birth:%Y-%m-%d}", f"{birth:%Y%m%d}", f"{birth:%Y/%m/%d}",
               f"{birth.year}年{birth.month}月{birth.day}日"]
    for item in received:
        assert number not in item.raw, f"{item.source}: the full number"
        # Every masked form anywhere in the answer that fits the number: what it shows is known.
        for masked in _MASKED.findall(item.raw):
            if len(masked) == len(number) and all(c in ("*", n) for c, n in zip(masked, number, strict=True)):
                for i, c in enumerate(masked):
                    if c != "*":
                        known.chars[i] = c
        # The full birth date in any common spelling, wherever it is, gives the date away.
        if any(s in item.raw for s in spelled):
            known.learn_birth(birth.year, birth.month, birth.day, source=item.source)
        for label, value in item.fields:
            assert "age" not in str(label).lower().split("_"), f"{item.source}: an age, watched daily, dates a birthday"
            if _is_birth_label(str(label)):
                _read_birth(known, value, f"{item.source} {label}")
    assert any(known.chars), "no masked number found: the test no longer sees what the user sees"
    assert known.year, "no birth year found: the test no longer sees what the user sees"
    return known


def _residues(partials: Iterable[str]) -> Counter[int]:
    """The weighted sums modulo 11 of parts of a number (zeros elsewhere), counted."""
    return Counter(CHECK_CHARS.index(gb11643_check_char(p)) for p in partials)


def _fits(known: Known, start: int, text: str) -> bool:
    return all(known.chars[start + i] in (None, c) for i, c in enumerate(text))


def possible_numbers(known: Known, *, regions: list[str], sex: str) -> int:
    """How many valid 18-character numbers agree with everything the user knows."""
    today = dt.date.today()
    regions = [r for r in regions if _fits(known, 0, r)]
    years = [known.year] if known.year else range(EARLIEST_BIRTH_YEAR, today.year + 1)
    dates = []
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year and day <= today:
            if known.month in (None, day.month) and known.day in (None, day.day) and _fits(known, 6, f"{day:%Y%m%d}"):
                dates.append(f"{day:%Y%m%d}")
            day += dt.timedelta(days=1)
    odd = 1 if sex == "M" else 0  # the last sequence digit is odd for men
    sequences = [f"{s:03d}" for s in range(1000) if s % 2 == odd and _fits(known, 14, f"{s:03d}")]
    by_region = _residues(r + "0" * 11 for r in regions)
    by_date = _residues("0" * 6 + d + "000" for d in dates)
    by_sequence = _residues("0" * 14 + s for s in sequences)
    shown_check = known.chars[17]
    return sum(
        a * b * c
        for ra, a in by_region.items()
        for rb, b in by_date.items()
        for rc, c in by_sequence.items()
        if shown_check in (None, CHECK_CHARS[(ra + rb + rc) % 11])
    )


def what_user_receives(client, user, resident: Resident) -> list[Received]:
    as_user(client, user)
    received = []

    def page(source: str, response, *, required: bool = True) -> None:
        if not required and response.status_code == 403:
            return
        assert response.status_code == 200, (source, response.status_code)
        raw = response.content.decode()
        received.append(Received(source, raw, _html_fields(raw, resident.name)))

    def api(source: str, url: str, pick, *, search: bool = False) -> None:
        if search:
            response = client.post(url, {"q": resident.name}, content_type="application/json")
        else:
            response = client.get(url)
        assert response.status_code == 200, (source, response.status_code)
        items = [item for item in pick(response.json()) if item["id"] == resident.pk]
        assert items, f"{source}: the resident is missing"
        received.append(Received(source, response.content.decode(), [kv for item in items for kv in item.items()]))

    page("search page", client.post(reverse("residents:search"), {"q": resident.name}))
    page("detail page", client.get(reverse("residents:detail", args=[resident.pk])))
    page("household page", client.get(reverse("residents:household", args=[resident.household_id])))
    page("edit form", client.get(reverse("residents:edit", args=[resident.pk])), required=False)
    page("audit page", client.get(reverse("accounts:audit")), required=False)
    api("API list", "/api/residents", lambda body: body["items"])
    api("API search", "/api/residents/search", lambda body: body["items"], search=True)
    api("API detail", f"/api/residents/{resident.pk}", lambda body: [body])
    api("API household", f"/api/households/{resident.household_id}", lambda body: body["residents"])
    export = client.post(reverse("residents:roster_export"), {"q": resident.name})
    if export.status_code != 403:
        assert export.status_code == 200, export.status_code
        rows = list(load_workbook(io.BytesIO(export.content), read_only=True).worksheets[0].iter_rows(values_only=True))
        header, mine = rows[0], [row for row in rows[1:] if resident.name in row]
        assert mine, "masked export: the resident is missing"
        raw = "\n".join("\t".join("" if v is None else str(v) for v in row) for row in mine)
        fields = [(str(h), v) for row in mine for h, v in zip(header, row, strict=True)]
        received.append(Received("masked export", raw, fields))
    return received


def _sources(who: str) -> set[str]:
    """All of them: a grid worker may also edit; a district officer may also export and read the
    audit page, where staff's reveals of the number are listed with it masked."""
    extra = {"grid_worker": {"edit form"}, "district_officer": {"masked export", "audit page"}}[who]
    return {"search page", "detail page", "household page", "API list", "API search", "API detail", "API household",
            *extra}


def _check_sources(received: list[Received], who: str, resident: Resident) -> None:
    assert {r.source for r in received} == _sources(who)
    for item in received:  # each is about this resident: it shows their number, masked
        assert resident.id_masked in item.raw, item.source


def _permit_holder(world) -> tuple[Resident, str]:
    number = make_resident_id("810000", dt.date(1990, 7, 21), 123)
    resident = Resident.objects.create(
        household=world.household_a1, name="陈嘉欣", sex="M", birth_date=dt.date(1990, 7, 21),
        relation=Relation.OTHER, **identity_fields(IdType.RESIDENCE_PERMIT, number),
    )
    return resident, number


def _audited_reveal(world, resident: Resident) -> None:
    """Committee staff look the number up with a reason: the audit page lists it, masked."""
    services.resident_reveal_id(actor=acting(world.staff_a1), resident=resident, reason="核对口罩预约身份")
    assert AuditEvent.objects.filter(object_id=resident.pk, action="reveal_id").exists()


@pytest.mark.parametrize("who", ["grid_worker", "district_officer"])
def test_a_shanghai_born_residents_number_cannot_be_rebuilt(client, world, who):
    user, resident = getattr(world, who), world.resident_a1
    _audited_reveal(world, resident)
    received = what_user_receives(client, user, resident)
    _check_sources(received, who, resident)
    count = possible_numbers(what_is_known(received, resident, resident.plain_id),
                             regions=SHANGHAI_REGIONS, sex=resident.sex)
    print(f"{who}, resident ID born in Shanghai: {count} numbers possible")
    assert count >= MINIMUM_CANDIDATES, f"{who} narrows the resident ID down to {count} numbers"


@pytest.mark.parametrize("who", ["grid_worker", "district_officer"])
def test_a_residence_permit_number_cannot_be_rebuilt(client, world, who):
    user = getattr(world, who)
    resident, number = _permit_holder(world)
    _audited_reveal(world, resident)
    received = what_user_receives(client, user, resident)
    _check_sources(received, who, resident)
    count = possible_numbers(what_is_known(received, resident, number), regions=PERMIT_REGIONS, sex=resident.sex)
    print(f"{who}, HK residence permit: {count} numbers possible")
    assert count >= MINIMUM_CANDIDATES, f"{who} narrows the residence permit down to {count} numbers"


def test_the_counting_itself():
    """Everything shown leaves the one number, a wrong region none; the first 3, the last 2 and the
    birth year leave about 365 days x 100 sequences / 11 check characters for one region."""
    number = make_resident_id("310110", dt.date(1946, 3, 8), 42)
    everything = Known(chars=list(number), year=1946, month=3, day=8)
    assert possible_numbers(everything, regions=SHANGHAI_REGIONS, sex="F") == 1
    assert possible_numbers(everything, regions=["310101"], sex="F") == 0
    last_two = Known(chars=list(number[:3]) + [None] * 13 + list(number[-2:]), year=1946)
    assert 3000 < possible_numbers(last_two, regions=["310110"], sex="F") < 3700
