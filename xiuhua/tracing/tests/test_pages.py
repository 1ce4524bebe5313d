"""Pages of the tracing module: authorisation matrix and exact outcomes of every form."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.core.audit import AuditEvent
from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.lookups import LIMITS, lookup_throttle
from xiuhua.testing import acting, as_user
from xiuhua.tracing import services
from xiuhua.tracing.models import (
    BatchProblem,
    EntryEvent,
    EntryStatus,
    ListedPerson,
    ListEntry,
    MatchMethod,
    TracingBatch,
)

pytestmark = pytest.mark.django_db

HEADER = "姓名,身份证号,手机号码,现住址,抵沪日期\n"


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode("utf-8")


def stranger_id(n: int = 1) -> str:
    return make_resident_id("420102", dt.date(1988, 6, 1), 300 + n)


def this_morning() -> dt.datetime:
    """Today 00:00 in Shanghai: any report made while the test runs is on the same day."""
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(0, 0)))


def later_today(step: int) -> dt.datetime:
    """A time today after this_morning() and not yet come: the step-th of three equal steps from
    midnight to now (a list cannot arrive in the future, and the tests run at any hour)."""
    start = this_morning()
    return start + (timezone.now() - start) * step / 3


def same_day(body: str) -> str:
    """The text of the prominent same-day figure."""
    found = re.search(r'id="same-day">(.*?)</div>\s*<div class="stats"', body, re.S)
    assert found is not None
    return re.sub(r"<[^>]+>|\s+", " ", found[1]).strip()


def snapshot():
    return (
        TracingBatch.objects.count(),
        sorted(ListEntry.objects.values_list("pk", "status", "committee_id", "street_id", "outcome_note")),
        EntryEvent.objects.count(),
        BatchProblem.objects.count(),
        ListedPerson.objects.count(),
        AuditEvent.objects.count(),
    )


def form_data(data: bytes, *, filename="清单.csv", reference="通信大数据 第1批", received_at=None, source="telecom"):
    when = timezone.localtime(received_at or this_morning())
    return {
        "file": SimpleUploadedFile(filename, data, content_type="text/csv"),
        "source": source,
        "reference": reference,
        "received_at": when.strftime("%Y-%m-%dT%H:%M"),
    }


def import_list(w, data: bytes, *, received_at=None, reference="通信大数据 第1批"):
    return services.batch_import(
        actor=acting(w.street_officer), street=w.street_a, source="telecom", reference=reference,
        received_at=received_at or this_morning(), data=data, filename="list.csv",
    )


@pytest.fixture
def listed(world):
    """A list of street A: 张秀英 (A1, by ID), 李建国 (A1, by mobile), 王芳 (A2, by address),
    a stranger (triage)."""
    w = world
    batch = import_list(w, csv_bytes(
        f"张秀英,{w.resident_a1.plain_id},13812345678,国和一村5号302室,",
        "李建国,,13812340000,,",
        "王芳,,,杨浦区国和二村12号楼201室,",
        f"陌生人,{stranger_id()},13900009999,外省某地,",
    ))
    entries = {e.row: e for e in ListEntry.objects.filter(batch=batch)}
    return {"w": w, "batch": batch, "a1": entries[2], "a1b": entries[3], "a2": entries[4], "stranger": entries[5]}


def urls(s):
    entry = s["a1"].pk
    return {
        "home": reverse("tracing:home"),
        "import": reverse("tracing:import"),
        "batch": reverse("tracing:batch", args=[s["batch"].pk]),
        "triage": reverse("tracing:triage"),
        "triage_assign": reverse("tracing:triage_assign"),
        "triage_xlsx": reverse("tracing:triage_xlsx"),
        "worklist_xlsx": reverse("tracing:worklist_xlsx"),
        "entry": reverse("tracing:entry", args=[entry]),
        "entry_assign": reverse("tracing:entry_assign", args=[entry]),
        "entry_report": reverse("tracing:entry_report", args=[entry]),
    }


NEEDS = {
    "home": "view_tracing",
    "import": "import_tracing",
    "batch": "view_tracing",
    "triage": "import_tracing",
    "triage_assign": "import_tracing",
    "triage_xlsx": "import_tracing",
    "worklist_xlsx": "report_tracing",
    "entry": "view_tracing",
    "entry_assign": "import_tracing",
    "entry_report": "report_tracing",
}
# A user with a membership but without the capability: 403.
LACKING = {"view_tracing": "grid_a1", "import_tracing": "district", "report_tracing": "street_a"}


def test_every_url_is_in_the_matrix(listed):
    from xiuhua.tracing.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(listed)) == set(NEEDS)


def test_anonymous_goes_to_login_and_writes_nothing(client, listed):
    before = snapshot()
    for name, url in urls(listed).items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/"), name
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_wrong_role_is_refused_and_writes_nothing(client, listed, name):
    before = snapshot()
    url = urls(listed)[name]
    post = {"status": "controlled", "to": listed["w"].committee_a1.pk, "note": "x"} | form_data(b"x")
    for username in (LACKING[NEEDS[name]], "grid_a1", "volunteer", "pharmacy", "nobody", "sysadmin"):
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code in (403, 405), (name, username)
        assert client.post(url, post).status_code == 403, (name, username)
    assert snapshot() == before


def test_right_user_gets_every_page(client, listed):
    for username, names in (
        ("street_a", ("home", "batch", "triage", "triage_xlsx", "entry")),
        ("staff_a1", ("home", "batch", "worklist_xlsx", "entry")),
        ("district", ("home", "batch", "entry")),
    ):
        as_user(client, User.objects.get(username=username))
        for name in names:
            assert client.get(urls(listed)[name]).status_code == 200, (username, name)


def test_nav_link_shows_for_tracing_roles_only(client, world):
    link = reverse("tracing:home")
    for username, shown in (
        ("street_a", True), ("staff_a1", True), ("district", True),
        ("grid_a1", False), ("volunteer", False), ("pharmacy", False),
    ):
        as_user(client, User.objects.get(username=username))
        assert (f'href="{link}"' in client.get("/").content.decode()) is shown, username


# Import


def test_import_via_the_page_shows_the_batch_with_exact_figures(client, world):
    w = world
    data = csv_bytes(
        f"张秀英,{w.resident_a1.plain_id},,,2020-02-09",  # A1 by identity number
        "李建国,,13812340000,,",  # A1 by mobile
        "王芳,,,杨浦区国和二村12号楼201室,",  # A2 by address and name
        f"陌生人,{stranger_id()},13900009999,外省某地,",  # nobody: the street's triage
        ",,13900000000,某地,",  # no name: a problem, skipped
    )
    as_user(client, w.street_officer)
    page = client.get(reverse("tracing:home")).content.decode()
    assert 'id="import-form"' in page and 'type="datetime-local"' in page
    response = client.post(reverse("tracing:import"), form_data(data))
    batch = TracingBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tracing:batch", args=[batch.pk])
    assert (batch.street, batch.source, batch.reference, batch.rows_total, batch.rows_bad) == (
        w.street_a, "telecom", "通信大数据 第1批", 5, 1)
    assert batch.received_at == this_morning() and batch.filename == "清单.csv"

    response = client.get(response["Location"])
    figures = response.context["figures"]
    by_name = {unit.name: f for unit, f in figures.committees}
    assert (by_name["国和一村居委会"].entries, by_name["国和一村居委会"].open) == (2, 2)
    assert (by_name["国和二村居委会"].entries, by_name["国和二村居委会"].open) == (1, 1)
    assert [(u.name, f.triage) for u, f in figures.streets] == [("长海路街道", 1)]
    assert (figures.total.entries, figures.total.controlled_same_day, figures.total.open) == (4, 0, 4)
    assert dict(response.context["methods"]) == {"证件号码": 1, "手机号": 1, "地址": 1, "未匹配": 1}
    body = response.content.decode()
    assert "0/4" in same_day(body)
    problems = response.context["problems"]
    assert [(p.row, column) for p, column in problems] == [(6, "姓名")]
    assert [e.row for e in response.context["page"]] == [2, 3, 4, 5]
    assert w.resident_a1.plain_id not in body

    # The home page lists the batch with its totals and the triage count.
    home = client.get(reverse("tracing:home"))
    [(listed_batch, totals)] = home.context["batches"]
    assert listed_batch == batch and (totals["entries"], totals["same_day"], totals["open"]) == (4, 0, 4)
    assert home.context["triage_count"] == 1

    # The same file again (a double click) is the same batch.
    again = client.post(reverse("tracing:import"), form_data(data, reference="重复"))
    assert again["Location"] == reverse("tracing:batch", args=[batch.pk])
    assert TracingBatch.objects.count() == 1 and ListEntry.objects.count() == 4


@pytest.mark.parametrize(
    "data, filename, field, message",
    [
        ("名字,备注\n张三,无\n".encode(), "a.csv", "file", "没有找到表头"),
        (b"", "a.csv", "file", "文件是空的"),
        (b"PK\x03\x04", "a.xls", "file", "请上传 .xlsx 或 .csv 文件"),
    ],
)
def test_a_bad_file_is_shown_on_the_form_and_writes_nothing(client, world, data, filename, field, message):
    before = snapshot()
    as_user(client, world.street_officer)
    response = client.post(reverse("tracing:import"), form_data(data, filename=filename))
    assert response.status_code == 200
    assert message in " ".join(response.context["import_form"].errors[field])
    assert message in response.content.decode()
    assert snapshot() == before


def test_service_errors_are_shown_on_the_form(client, world):
    before = snapshot()
    as_user(client, world.street_officer)
    later = timezone.now() + dt.timedelta(days=1)
    response = client.post(reverse("tracing:import"), form_data(csv_bytes("张三,,13900000000,,"), received_at=later))
    assert response.context["import_form"].errors == {"received_at": ["清单到达时间不能晚于现在"]}
    response = client.post(reverse("tracing:import"), form_data(csv_bytes("张三,,13900000000,,"), reference=" "))
    assert response.context["import_form"].errors == {"reference": ["请填写批次名称"]}
    assert snapshot() == before


def test_an_oversized_upload_is_refused_before_it_is_read(client, world, monkeypatch):
    def must_not_read(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(services, "batch_import", must_not_read)
    monkeypatch.setattr(services, "open_table", must_not_read)
    before = snapshot()
    as_user(client, world.street_officer)
    big = HEADER.encode() + b"x" * (services.MAX_FILE_BYTES + 1 - len(HEADER.encode()))
    response = client.post(reverse("tracing:import"), form_data(big))
    assert response.status_code == 200
    assert response.context["import_form"].errors == {"file": ["文件超过10MB,请拆分后上传"]}
    assert "文件超过10MB,请拆分后上传" in response.content.decode()
    assert snapshot() == before


def test_a_district_officer_sees_batches_but_cannot_import(client, listed):
    as_user(client, listed["w"].district_officer)
    response = client.get(reverse("tracing:home"))
    assert [b for b, _t in response.context["batches"]] == [listed["batch"]]
    assert "import_form" not in response.context and 'id="import-form"' not in response.content.decode()
    before = snapshot()
    assert client.post(reverse("tracing:import"), form_data(csv_bytes("张三,,13900000000,,"))).status_code == 403
    assert snapshot() == before


def test_a_throttled_officer_is_told_on_the_import_form_and_nothing_is_written(client, world):
    officer = acting(world.street_officer)
    ten_minutes = next(rule for rule in LIMITS if rule.scope == "actor" and rule.window == 600)
    for _ in range(ten_minutes.limit):
        lookup_throttle(actor=officer, purpose="search")
    before = snapshot()
    as_user(client, world.street_officer)
    response = client.post(reverse("tracing:import"), form_data(csv_bytes("张三,,13900000000,,")))
    assert response.status_code == 200
    assert "查询过于频繁" in " ".join(response.context["import_form"].non_field_errors())
    # Nothing is written but the alert to the street (core.lookups) that the limit was reached.
    assert snapshot()[:-1] == before[:-1]
    assert list(AuditEvent.objects.order_by("-pk").values_list("action", flat=True)[:1]) == ["lookup_burst"]
    assert AuditEvent.objects.count() == before[-1] + 1


# The committee's worklist and reports


def test_committee_reports_controlled_and_the_batch_shows_it(client, listed):
    w, batch, entry = listed["w"], listed["batch"], listed["a1"]
    as_user(client, w.staff_a1)
    response = client.get(reverse("tracing:home"))
    assert [e.pk for e in response.context["worklist"]] == [entry.pk, listed["a1b"].pk]
    body = response.content.decode()
    assert 'href="tel:13812345678"' in body and "国和一村5号302室" in body and "可信度100" in body
    assert 'class="overdue"' not in body
    assert "王芳" not in body and "陌生人" not in body  # A2's and the street's entries

    page = client.get(reverse("tracing:entry", args=[entry.pk]))
    assert page.context["report_form"] is not None and page.context["assign_form"] is None
    assert 'id="report-form"' in page.content.decode()

    response = client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "controlled", "note": ""})
    assert response.status_code == 302 and response["Location"] == reverse("tracing:home")
    entry.refresh_from_db()
    assert (entry.status, entry.outcome_by) == (EntryStatus.CONTROLLED, w.staff_a1)
    assert timezone.localdate(entry.outcome_at) == timezone.localdate()
    home = client.get(response["Location"])
    assert "已反馈:张秀英 已落实管控" in home.content.decode()
    assert [e.pk for e in home.context["worklist"]] == [listed["a1b"].pk]
    # Reported once: the form is gone from the entry page.
    assert client.get(reverse("tracing:entry", args=[entry.pk])).context["report_form"] is None

    as_user(client, w.street_officer)
    response = client.get(reverse("tracing:batch", args=[batch.pk]))
    assert response.context["figures"].total.controlled_same_day == 1
    assert "1/4" in same_day(response.content.decode())
    home = client.get(reverse("tracing:home"))
    [(_b, totals)] = home.context["batches"]
    assert (totals["entries"], totals["same_day"], totals["open"]) == (4, 1, 3)


def test_not_here_needs_a_note_shown_on_the_form(client, listed):
    entry = listed["a1"]
    as_user(client, listed["w"].staff_a1)
    before = snapshot()
    response = client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "not_here", "note": " "})
    assert response.status_code == 200
    assert response.context["report_form"].errors == {"note": ["请写明此人现在何处(或已离沪)"]}
    assert snapshot() == before
    response = client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "gone"})
    assert "status" in response.context["report_form"].errors
    assert snapshot() == before
    client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "not_here", "note": "已搬至闵行区"})
    entry.refresh_from_db()
    assert (entry.status, entry.outcome_note) == (EntryStatus.NOT_HERE, "已搬至闵行区")


def test_an_old_list_is_highlighted_as_overdue(client, world):
    yesterday = this_morning() - dt.timedelta(hours=12)
    import_list(world, csv_bytes(f"张秀英,{world.resident_a1.plain_id},,,"), received_at=yesterday)
    as_user(client, world.staff_a1)
    body = client.get(reverse("tracing:home")).content.decode()
    assert 'class="overdue"' in body and "逾期" in body
    # Reported today, the day after the list arrived: controlled, but not on the same day.
    entry = ListEntry.objects.get()
    client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "controlled"})
    as_user(client, world.street_officer)
    [(_b, totals)] = client.get(reverse("tracing:home")).context["batches"]
    assert (totals["entries"], totals["same_day"], totals["open"]) == (1, 0, 0)
    body = client.get(reverse("tracing:batch", args=[entry.batch_id])).content.decode()
    assert "0/1" in same_day(body)


def test_another_committee_gets_404_for_an_entry_and_writes_nothing(client, listed):
    w, entry = listed["w"], listed["a1"]
    before = snapshot()
    as_user(client, w.staff_a2)
    assert client.get(reverse("tracing:entry", args=[entry.pk])).status_code == 404
    assert client.get(reverse("tracing:entry", args=[999999])).status_code == 404
    response = client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "controlled"})
    assert response.status_code == 404
    assert client.post(reverse("tracing:entry_report", args=[999999]), {"status": "controlled"}).status_code == 404
    # A2 sees the batch, but only its own row and figures.
    response = client.get(reverse("tracing:batch", args=[listed["batch"].pk]))
    assert [e.pk for e in response.context["page"]] == [listed["a2"].pk]
    assert response.context["figures"].total.entries == 1 and response.context["problems"] == []
    # Committee B1 and street B have nothing in the list: it is not there for them.
    for user in (w.staff_b1, w.street_officer_b):
        as_user(client, user)
        assert client.get(reverse("tracing:batch", args=[listed["batch"].pk])).status_code == 404
        assert client.get(reverse("tracing:entry", args=[entry.pk])).status_code == 404
    as_user(client, w.street_officer_b)
    data = {"to": w.committee_b1.pk, "note": ""}
    assert client.post(reverse("tracing:entry_assign", args=[listed["stranger"].pk]), data).status_code == 404
    assert snapshot() == before


def test_the_entry_page_shows_the_masked_number_and_the_history(client, listed):
    entry = listed["stranger"]
    as_user(client, listed["w"].street_officer)
    response = client.get(reverse("tracing:entry", args=[entry.pk]))
    body = response.content.decode()
    assert entry.person.id_masked in body and stranger_id() not in body
    assert response.context["assign_form"] is not None and response.context["report_form"] is None
    assert "地址未能对应到花名册中的住户" in body


# Triage


def test_triage_assign_and_transfer_via_the_page(client, listed):
    w, entry = listed["w"], listed["stranger"]
    as_user(client, w.street_officer)
    response = client.get(reverse("tracing:triage"))
    assert [e.pk for e, _form in response.context["rows"]] == [entry.pk]
    body = response.content.decode()
    assert "地址未能对应到花名册中的住户" in body and stranger_id() not in body and entry.person.id_masked in body
    # The choices: the street's committees, then the district's other streets.
    _e, form = response.context["rows"][0]
    choices = [(str(group), [label for _v, label in options]) for group, options in form.fields["to"].choices[1:]]
    assert choices == [("本街道居委会", ["国和一村居委会", "国和二村居委会"]), ("转至其他街道", ["五角场街道"])]

    # A committee of another street is not a choice: an error on the form, nothing written.
    before = snapshot()
    assign_url = reverse("tracing:entry_assign", args=[entry.pk])
    response = client.post(assign_url, {"to": w.committee_b1.pk, "back": "triage"})
    assert response.status_code == 200 and "to" in response.context["assign_form"].errors
    assert snapshot() == before

    response = client.post(
        reverse("tracing:entry_assign", args=[entry.pk]),
        {"to": w.committee_a2.pk, "note": "经电话核实住国和二村", "back": "triage"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("tracing:triage")
    entry.refresh_from_db()
    assert (entry.status, entry.committee, entry.match_method) == (
        EntryStatus.ASSIGNED, w.committee_a2, MatchMethod.MANUAL)
    assert EntryEvent.objects.filter(entry=entry, action="assigned").get().note == "经电话核实住国和二村"
    assert client.get(reverse("tracing:triage")).context["rows"] == []
    as_user(client, w.staff_a2)
    assert entry.pk in [e.pk for e in client.get(reverse("tracing:home")).context["worklist"]]

    # Sent on to street B: it leaves street A's queue and waits in street B's, whose officer
    # assigns it to B1. Street A keeps its list row, forwarded, without B's work on it.
    as_user(client, w.street_officer)
    response = client.post(reverse("tracing:entry_assign", args=[entry.pk]), {"to": w.street_b.pk, "note": "转五角场"})
    assert response["Location"] == reverse("tracing:entry", args=[entry.pk])
    assert client.get(reverse("tracing:triage")).context["rows"] == []
    page = client.get(reverse("tracing:entry", args=[entry.pk]))
    assert page.status_code == 200 and "assign_form" not in page.context and "events" not in page.context
    assert "已转至其他街道" in page.content.decode() and 'id="history"' not in page.content.decode()
    before = snapshot()
    response = client.post(reverse("tracing:entry_assign", args=[entry.pk]), {"to": w.committee_a1.pk})
    assert response.status_code == 404 and snapshot() == before
    as_user(client, w.street_officer_b)
    assert [e.pk for e, _f in client.get(reverse("tracing:triage")).context["rows"]] == [entry.pk]
    client.post(reverse("tracing:entry_assign", args=[entry.pk]), {"to": w.committee_b1.pk, "back": "triage"})
    entry.refresh_from_db()
    assert (entry.status, entry.street, entry.committee) == (EntryStatus.ASSIGNED, w.street_b, w.committee_b1)
    history = client.get(reverse("tracing:entry", args=[entry.pk])).context["events"]
    assert [(e.action, str(label)) for e, label in history] == [
        ("assigned", "分派"), ("transferred", "转街道"), ("assigned", "分派"),
    ]
    as_user(client, w.street_officer)
    body = client.get(reverse("tracing:entry", args=[entry.pk])).content.decode()
    assert w.committee_b1.name not in body and "经电话核实住国和二村" not in body


def test_entries_of_the_list_held_by_another_street(client, world):
    """Street A's list names 赵强, who lives in street B: B and B1 get him, saying where from;
    A's batch page shows its row forwarded and counts it apart."""
    w = world
    batch = import_list(w, csv_bytes(
        f"赵强,{w.resident_b1.plain_id},13600002222,,", f"张秀英,{w.resident_a1.plain_id},,,",
    ))
    theirs, ours = ListEntry.objects.filter(batch=batch).order_by("row")
    as_user(client, w.street_officer)
    response = client.get(reverse("tracing:batch", args=[batch.pk]))
    body = response.content.decode()
    assert [(e.row, e.held) for e in response.context["rows"]] == [(2, False), (3, True)]
    assert "0/1" in same_day(body) and 'id="forwarded"' in body
    assert w.committee_b1.name not in body and w.street_b.name not in body
    page = client.get(reverse("tracing:entry", args=[theirs.pk])).content.decode()
    assert "136****2222" in page and "13600002222" not in page and w.household_b1.address not in page
    home = client.get(reverse("tracing:home")).content.decode()
    assert "1人已转至其他街道" in home

    as_user(client, w.staff_b1)
    body = client.get(reverse("tracing:home")).content.decode()
    assert f"{w.street_a.name}转来" in body and w.household_b1.address in body
    page = client.get(reverse("tracing:entry", args=[theirs.pk]))
    assert page.context["report_form"] is not None and w.street_a.name in page.content.decode()
    as_user(client, w.street_officer_b)
    assert client.get(reverse("tracing:entry", args=[theirs.pk])).context["entry"] == theirs
    assert client.get(reverse("tracing:entry", args=[ours.pk])).status_code == 404


def test_viewing_a_matched_person_is_audited_and_a_list_row_is_not(client, listed):
    w = listed["w"]
    as_user(client, w.staff_a1)
    client.get(reverse("tracing:entry", args=[listed["a1"].pk]))
    [event] = AuditEvent.objects.filter(action="tracing_entry_view")
    assert (event.actor, event.personal, event.object_id, event.committee_id) == (
        w.staff_a1, True, listed["a1"].pk, w.committee_a1.pk)
    assert event.subject_label == "通信大数据 第1批 #2"
    as_user(client, w.street_officer)
    client.get(reverse("tracing:entry", args=[listed["stranger"].pk]))  # unmatched: the list's own data
    assert AuditEvent.objects.filter(action="tracing_entry_view").count() == 1


def test_a_reported_not_here_entry_returns_to_the_streets_queue(client, listed):
    w, entry = listed["w"], listed["a2"]
    as_user(client, w.staff_a2)
    client.post(reverse("tracing:entry_report", args=[entry.pk]), {"status": "not_here", "note": "住五角场"})
    as_user(client, w.street_officer)
    response = client.get(reverse("tracing:triage"))
    assert [e.pk for e, _f in response.context["rows"]] == [entry.pk, listed["stranger"].pk]
    assert "住五角场" in response.content.decode()


def test_queries_do_not_grow_with_the_list(client, world):
    """The import and the batch page take as many queries for nine rows as for three, forwarded
    rows included (the bench imports 3,488 rows against a million residents)."""
    w = world
    short = csv_bytes(f"赵强,{w.resident_b1.plain_id},,,", "李建国,,13812340000,,", "某人,,,政立小区3号401室,")
    long = csv_bytes(
        f"赵强,{w.resident_b1.plain_id},,,", f"张秀英,{w.resident_a1.plain_id},,,", f"陌生人,{stranger_id()},,,",
        "李建国,,13812340000,,", "赵强,,13600002222,,", "某人,,13900001111,,",
        "某人,,,政立小区3号401室,", "王芳,,,国和二村12号201室,", "某人,,,外省某地,",
    )
    as_user(client, w.street_officer)
    counts = []
    for n, data in enumerate((short, long)):
        with CaptureQueriesContext(connection) as imported:
            response = client.post(reverse("tracing:import"), form_data(data, reference=f"第{n}批"))
        batch_url = response["Location"]
        with CaptureQueriesContext(connection) as page:
            assert client.get(batch_url).status_code == 200
        counts.append((len(imported), len(page)))
    assert counts[0] == counts[1]


# Day one: the list's other columns, bulk assignment, numbered printable worklist

EXTRA_HEADER = "姓名,身份证号,手机号码,现住址,途经地,备注\n"


def test_the_lists_other_columns_show_on_the_entry_and_the_worklist(client, world):
    w = world
    spaced_id = f"{w.resident_a1.plain_id[:6]} {w.resident_a1.plain_id[6:14]} {w.resident_a1.plain_id[14:]}"
    data = (EXTRA_HEADER + f"张秀英,{spaced_id},,,武汉,居家观察第3天\n").encode()
    as_user(client, w.street_officer)
    response = client.post(reverse("tracing:import"), form_data(data))
    assert response.status_code == 302
    entry = ListEntry.objects.get()
    assert entry.extra == [["途经地", "武汉"], ["备注", "居家观察第3天"]] and entry.resident == w.resident_a1
    assert not BatchProblem.objects.exists()
    body = client.get(reverse("tracing:entry", args=[entry.pk])).content.decode()
    assert re.search(r'class="extra-column"><label>途经地</label>武汉</div>', body)
    assert re.search(r'class="extra-column"><label>备注</label>居家观察第3天</div>', body)
    as_user(client, w.staff_a1)
    body = client.get(reverse("tracing:home")).content.decode()
    row = re.search(rf'<tr id="work-{entry.pk}".*?</tr>', body, re.S)[0]
    assert '<td class="seq" data-label="序号">1</td>' in row
    assert "<div>途经地:武汉</div><div>备注:居家观察第3天</div>" in row


def test_the_worklist_numbers_its_rows_across_pages_and_prints_on_a4(client, world, monkeypatch):
    from xiuhua.tracing import views

    monkeypatch.setattr(views, "WORKLIST_PER_PAGE", 2)
    w = world
    batch = import_list(w, csv_bytes(*(f"陌生人{i},{stranger_id(i)},,外地," for i in range(1, 4))))
    services.entries_assign(actor=acting(w.street_officer), entry_ids=[e.pk for e in batch.entries.all()],
                            to=w.committee_a1)
    as_user(client, w.staff_a1)
    first = client.get(reverse("tracing:home")).content.decode()
    second = client.get(reverse("tracing:home") + "?page=2").content.decode()
    numbers = re.findall(r'<td class="seq" data-label="序号">(\d+)</td>', first + second)
    assert numbers == ["1", "2", "3"]
    # Printed, the list starts with whose list it is, when it was printed and which page.
    note = re.search(r'<p class="print-note">([^<]+)</p>', first)[1]
    assert note.startswith(f"{w.committee_a1.name} · 打印于 ") and note.endswith(" · 筛选:全部待落实人员 · 第 1 / 2 页")


def test_the_street_assigns_ticked_entries_from_triage_at_once(client, world):
    w = world
    batch = import_list(w, csv_bytes(*(f"陌生人{i},{stranger_id(i)},,外地," for i in range(1, 4))))
    rows = {e.row: e for e in ListEntry.objects.filter(batch=batch)}
    as_user(client, w.street_officer)
    page = client.get(reverse("tracing:triage")).content.decode()
    assert f'name="entries" value="{rows[2].pk}" form="bulk-assign"' in page and 'id="bulk-assign"' in page
    response = client.post(reverse("tracing:triage_assign"), {
        "entries": [rows[2].pk, rows[4].pk], "bulk-to": w.committee_a2.pk, "bulk-note": "核实",
    })
    assert response.status_code == 302 and response["Location"] == reverse("tracing:triage")
    assert sorted(ListEntry.objects.filter(committee=w.committee_a2).values_list("row", flat=True)) == [2, 4]
    assert ListEntry.objects.get(pk=rows[3].pk).status == EntryStatus.TRIAGE
    assert AuditEvent.objects.filter(action="tracing_entry_assign").count() == 2
    assert "已将2人分派给国和二村居委会" in client.get(response["Location"]).content.decode()


def test_a_bulk_assign_without_ticks_or_target_is_told_and_writes_nothing(client, world):
    w = world
    batch = import_list(w, csv_bytes(f"陌生人,{stranger_id()},,外地,"))
    entry = ListEntry.objects.get(batch=batch)
    as_user(client, w.street_officer)
    before = snapshot()
    response = client.post(reverse("tracing:triage_assign"), {"bulk-to": w.committee_a2.pk})
    assert response.status_code == 400 and "请先勾选要分派的人员" in response.content.decode()
    response = client.post(reverse("tracing:triage_assign"), {"entries": [entry.pk], "bulk-to": ""})
    assert response.status_code == 400 and "请选择居委会或街道" in response.content.decode()
    # The ticks survive the refusal.
    assert f'value="{entry.pk}" form="bulk-assign" checked' in response.content.decode()
    response = client.post(
        reverse("tracing:triage_assign"), {"entries": [entry.pk, 999999], "bulk-to": w.committee_a2.pk}
    )
    assert response.status_code == 400 and "所选人员中有的已不由本街道负责" in response.content.decode()
    assert snapshot() == before
