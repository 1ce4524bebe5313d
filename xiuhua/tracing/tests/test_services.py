"""Tracing lists: import, matching, assignment, outcomes and the same-day figure."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.lookups import LIMITS, LookupThrottled, lookup_throttle
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting, make_resident
from xiuhua.tracing import selectors, services
from xiuhua.tracing.models import BatchProblem, EntryEvent, EntryStatus, ListedPerson, ListEntry, MatchMethod

pytestmark = pytest.mark.django_db

HEADER = "姓名,身份证号,手机号码,现住址,抵沪日期\n"
ARRIVED = timezone.make_aware(dt.datetime(2020, 2, 10, 9, 0))


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode("utf-8")


def stranger_id(n: int = 1) -> str:
    return make_resident_id("420102", dt.date(1988, 6, 1), 300 + n)


def import_list(w, data: bytes, *, actor=None, street=None, filename="list.csv", received_at=ARRIVED, **extra):
    return services.batch_import(
        actor=acting(actor or w.street_officer), street=street or w.street_a, source="telecom",
        reference=extra.pop("reference", "通信大数据 第1批"), received_at=received_at, data=data,
        filename=filename, now=extra.pop("now", ARRIVED + dt.timedelta(hours=1)),
    )


def entries(batch):
    return {e.row: e for e in ListEntry.objects.filter(batch=batch)}


def test_each_person_is_matched_by_id_then_phone_then_address(world):
    w = world
    data = csv_bytes(
        f"张秀英,{w.resident_a1.plain_id},,,2020-02-09",  # row 2: identity number
        "李建国,,13812340000,,2020/2/9",  # row 3: mobile
        "王芳,,,杨浦区国和二村12号楼201室,2020年2月8日",  # row 4: address and name
        "钱多多,,,上海市国和一村6号101,",  # row 5: address only, name not in that household
        f"陌生人,{stranger_id()},13900009999,外省某地,",  # row 6: nothing in the roster
    )
    batch = import_list(w, data)
    got = entries(batch)
    assert (got[2].match_method, got[2].match_confidence, got[2].resident, got[2].committee) == (
        MatchMethod.ID, 100, w.resident_a1, w.committee_a1)
    assert (got[3].match_method, got[3].match_confidence, got[3].household) == (MatchMethod.PHONE, 80, w.household_a1b)
    assert (got[4].match_method, got[4].match_confidence, got[4].resident, got[4].committee) == (
        MatchMethod.ADDRESS, 75, w.resident_a2, w.committee_a2)
    assert (got[5].match_method, got[5].match_confidence, got[5].household, got[5].resident) == (
        MatchMethod.ADDRESS, 60, w.household_a1b, None)
    assert all(got[r].status == EntryStatus.ASSIGNED and got[r].street == w.street_a for r in (2, 3, 4, 5))
    assert (got[6].status, got[6].committee, got[6].street, got[6].match_method) == (
        EntryStatus.TRIAGE, None, w.street_a, "")
    assert got[4].arrival_date == dt.date(2020, 2, 8) and got[3].arrival_date == dt.date(2020, 2, 9)
    assert (batch.rows_total, batch.rows_bad) == (5, 0)
    assert EntryEvent.objects.filter(entry__batch=batch, action="matched").count() == 4
    event = AuditEvent.objects.get(action="tracing_batch_import")
    assert event.personal and event.detail == {"rows": 5, "entries": 5, "bad": 0, "matched": 4}
    # The match is a lookup: one routing event, by counts of each kind of key, never the keys.
    lookup = AuditEvent.objects.get(action="routing_match")
    assert lookup.personal and lookup.actor == w.street_officer
    assert lookup.detail == {
        "keys": {"id_number": 2, "phone": 2, "address": 3}, "purpose": "tracing_import", "matched": 4,
        "outside_scope": 0,
    }


def test_a_person_living_in_another_street_is_handed_over_to_that_committee(world):
    w = world
    batch = import_list(w, csv_bytes(f"赵强,{w.resident_b1.plain_id},13600002222,某路1号,", "本街道,,13812340000,,"))
    entry, own = ListEntry.objects.filter(batch=batch).order_by("row")
    assert (entry.committee, entry.street, entry.status) == (w.committee_b1, w.street_b, EntryStatus.ASSIGNED)
    # Street B and committee B1 hold it; street A sees its list row and acts on nothing.
    assert list(ListEntry.objects.held_by(acting(w.staff_b1))) == [entry]
    assert list(ListEntry.objects.held_by(acting(w.street_officer_b))) == [entry]
    assert list(ListEntry.objects.held_by(acting(w.street_officer))) == [own]
    assert list(ListEntry.objects.visible_to(acting(w.street_officer)).order_by("row")) == [entry, own]
    assert not ListEntry.objects.visible_to(acting(w.staff_a1)).filter(pk=entry.pk).exists()
    assert not ListEntry.objects.visible_to(acting(w.grid_worker)).exists()

    seen = {e.pk: selectors.as_seen(e) for e in ListEntry.objects.seen_by(acting(w.street_officer))
            .select_related("batch", "person")}
    assert seen[own.pk] == own
    row = seen[entry.pk]
    assert isinstance(row, selectors.ForwardedRow) and str(row.status_label) == "已转至其他街道"
    assert (row.name, row.phone_masked, row.address_text, row.row) == ("赵强", "136****2222", "某路1号", 2)
    assert row.id_masked == entry.person.id_masked and w.resident_b1.plain_id not in row.id_masked
    assert not {"committee", "household", "resident", "street", "match_confidence", "outcome_note"} & set(
        vars(row))
    # Street B sees it whole (its own resident), and which street's list it came from.
    [theirs] = ListEntry.objects.seen_by(acting(w.street_officer_b))
    assert selectors.as_seen(theirs) == entry and theirs.batch.street == w.street_a

    event = AuditEvent.objects.get(action="routing_match")
    assert (event.detail["matched"], event.detail["outside_scope"]) == (2, 1)


def test_importing_street_figures_count_forwarded_entries_not_their_outcome(world):
    w = world
    batch = import_list(w, csv_bytes(f"赵强,{w.resident_b1.plain_id},,,", f"张秀英,{w.resident_a1.plain_id},,,"))
    theirs, ours = ListEntry.objects.filter(batch=batch).order_by("row")
    same_day = ARRIVED + dt.timedelta(hours=2)
    services.entry_report(actor=acting(w.staff_b1), entry=theirs, status=EntryStatus.CONTROLLED, now=same_day)
    services.entry_report(actor=acting(w.staff_a1), entry=ours, status=EntryStatus.CONTROLLED, now=same_day)

    figures = selectors.batch_figures(batch=batch, user=acting(w.street_officer))
    t = figures.total
    assert (t.entries, t.forwarded, t.responsible, t.controlled, t.controlled_same_day) == (2, 1, 1, 1, 1)
    assert t.same_day_percent == 100 and t.open == 0
    assert [u.name for u, _f in figures.committees] == ["国和一村居委会"] and figures.streets == []
    assert figures.by_method == {"id": 1}
    totals = selectors.batch_totals(acting(w.street_officer), [batch.pk])[batch.pk]
    assert (totals["entries"], totals["forwarded"], totals["same_day"], totals["open"]) == (2, 1, 1, 0)
    # Street B counts the entry it holds as its own.
    figures = selectors.batch_figures(batch=batch, user=acting(w.street_officer_b))
    assert (figures.total.entries, figures.total.forwarded, figures.total.controlled_same_day) == (1, 0, 1)
    assert [u.name for u, _f in figures.committees] == ["政立路居委会"]
    # The district holds both.
    figures = selectors.batch_figures(batch=batch, user=acting(w.district_officer))
    assert (figures.total.entries, figures.total.forwarded, figures.total.controlled_same_day) == (2, 0, 2)


def test_an_ambiguous_mobile_is_noted_with_the_streets_own_households_only(world):
    w = world
    make_resident(w.household_a2, "合租甲", mobile="13955550000")
    make_resident(w.household_a1b, "合租乙", mobile="13955550000")
    make_resident(w.household_a2, "家人甲", mobile="13966660000")
    make_resident(w.household_b1, "家人乙", mobile="13966660000")
    batch = import_list(w, csv_bytes("某甲,,13955550000,,", "某乙,,13966660000,,"))
    both_here, one_elsewhere = ListEntry.objects.filter(batch=batch).order_by("row")
    assert both_here.match_note_text == "手机号对应2户,需人工确认"
    # One of the two households is in street B: street A is told nothing of it.
    assert one_elsewhere.match_note_text == "未匹配到花名册"
    assert both_here.status == one_elsewhere.status == EntryStatus.TRIAGE
    # Kept in the source language with its values, so an English reader reads English.
    assert (both_here.match_note, both_here.match_params) == ("手机号对应%(n)s户,需人工确认", {"n": 2})
    with translation.override("en"):
        assert both_here.match_note_text == "The mobile number matches 2 households; confirm manually"
        assert one_elsewhere.match_note_text == "Not found on the roster"


def test_an_import_is_one_lookup_and_a_throttled_actor_imports_nothing(world):
    officer = acting(world.street_officer)
    import_list(world, csv_bytes("张三,,13900000000,,"), reference="第1批")
    ten_minutes = next(rule for rule in LIMITS if rule.scope == "actor" and rule.window == 600)
    for _ in range(ten_minutes.limit - 1):
        lookup_throttle(actor=officer, purpose="search")
    with pytest.raises(LookupThrottled):
        import_list(world, csv_bytes("李四,,13900000001,,"), reference="第2批")
    assert ListEntry.objects.count() == 1
    assert AuditEvent.objects.filter(action="routing_match").count() == 1


def test_bad_rows_are_reported_by_row_and_good_rows_proceed(world):
    w = world
    wrong = w.resident_a1.plain_id[:-1] + ("0" if w.resident_a1.plain_id[-1] != "0" else "1")
    data = csv_bytes(
        f"张秀英,{wrong},13812345678,,",  # wrong check digit: kept, found by mobile
        ",,13900000000,某地,",  # no name: skipped
        "无线索,,,,",  # nothing to find them by: skipped
        "李建国,,12345,国和一村6号101室,2020-13-45",  # bad mobile and date: kept, found by address
    )
    batch = import_list(w, data)
    got = entries(batch)
    assert sorted(got) == [2, 5]
    assert (got[2].match_method, got[2].resident) == (MatchMethod.PHONE, w.resident_a1)
    assert (got[5].match_method, got[5].household, got[5].arrival_date, got[5].phone) == (
        MatchMethod.ADDRESS, w.household_a1b, None, "")
    problems = [(p.row, p.column) for p in BatchProblem.objects.filter(batch=batch)]
    assert problems == [(2, "id_number"), (3, "name"), (4, ""), (5, "phone"), (5, "arrival_date")]
    assert (batch.rows_total, batch.rows_bad) == (4, 2)
    message = BatchProblem.objects.get(batch=batch, row=2).message
    assert message.startswith("证件号码有误") and wrong not in message


def test_same_file_again_is_the_same_batch(world):
    data = csv_bytes(f"张秀英,{world.resident_a1.plain_id},,,")
    first = import_list(world, data)
    again = import_list(world, data)
    assert again.pk == first.pk and ListEntry.objects.count() == 1


def test_same_person_in_two_batches_is_one_person_with_two_entries(world):
    line = f"陌生人,{stranger_id(7)},13900007777,外地,"
    first = import_list(world, csv_bytes(line), reference="第1批")
    second = import_list(world, csv_bytes(line, "另一人,,13900008888,外地,"), reference="第2批")
    assert first.pk != second.pk
    person = ListedPerson.objects.get(id_last4=stranger_id(7)[-4:])
    assert [e.batch_id for e in person.entries.order_by("batch_id")] == [first.pk, second.pk]
    assert stranger_id(7) not in person.id_masked and person.id_encrypted and person.id_hash
    # Without a number, the mobile makes the person: a third batch finds 另一人 again.
    third = import_list(world, csv_bytes("另一人,,13900008888,外地,"), reference="第3批")
    assert ListedPerson.objects.get(phone="13900008888").entries.count() == 2
    assert third.pk != second.pk


def test_real_excel_file_with_a_title_row(world):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["市大数据中心推送清单(2020年2月10日)"])
    sheet.append(["序号", "姓名", "公民身份号码", "联系电话", "在沪地址", "来沪日期"])
    sheet.append([1, "张秀英", world.resident_a1.plain_id, None, None, dt.datetime(2020, 2, 9)])
    sheet.append([2, "王芳", None, 13700001111, None, "2020-02-09"])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = import_list(world, buffer.getvalue(), filename="清单.xlsx")
    got = entries(batch)
    assert got[3].resident == world.resident_a1 and got[3].arrival_date == dt.date(2020, 2, 9)
    assert got[4].household == world.household_a2 and got[4].phone == "13700001111"


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"", "a.csv", "文件是空的"),
        (b"\xd0\xcf\x11\xe0rest", "a.xls", "不支持旧版Excel"),
        ("名字,备注\n张三,无\n".encode(), "a.csv", "没有找到表头"),
        ("姓名,备注\n张三,无\n".encode(), "a.csv", "没有找到表头"),
    ],
)
def test_unusable_files_are_refused_and_write_nothing(world, data, filename, message):
    with pytest.raises(ValidationError) as caught:
        import_list(world, data, filename=filename)
    assert message in caught.value.message_dict["file"][0]
    assert not ListEntry.objects.exists() and not AuditEvent.objects.filter(action="tracing_batch_import").exists()


@pytest.mark.parametrize("user", ["staff_a1", "street_officer_b", "grid_worker", "district_officer"])
def test_only_the_streets_officer_imports(world, user):
    with pytest.raises(PermissionDenied):
        import_list(world, csv_bytes("张三,,13900000000,,"), actor=getattr(world, user))
    assert not ListEntry.objects.exists()


def test_committee_reports_and_same_day_control_is_counted(world):
    w = world
    batch = import_list(w, csv_bytes(
        f"张秀英,{w.resident_a1.plain_id},,,", "李建国,,13812340000,,", "王芳,,13700001111,,",
        f"陌生人,{stranger_id()},,外地,",
    ))
    got = entries(batch)
    same_day = ARRIVED + dt.timedelta(hours=8)  # 17:00 the day the list arrived
    services.entry_report(actor=acting(w.staff_a1), entry=got[2], status=EntryStatus.CONTROLLED, now=same_day)
    services.entry_report(  # the next morning: controlled, but not on the day
        actor=acting(w.staff_a1), entry=got[3], status=EntryStatus.CONTROLLED, now=ARRIVED + dt.timedelta(days=1)
    )
    with pytest.raises(ValidationError) as caught:
        services.entry_report(actor=acting(w.staff_a2), entry=got[4], status=EntryStatus.NOT_HERE, now=same_day)
    assert caught.value.message_dict == {"note": ["请写明此人现在何处(或已离沪)"]}
    services.entry_report(
        actor=acting(w.staff_a2), entry=got[4], status=EntryStatus.NOT_HERE, note="已搬至闵行区", now=same_day
    )
    figures = selectors.batch_figures(batch=batch, user=acting(w.street_officer))
    by_name = {unit.name: f for unit, f in figures.committees}
    a1, a2 = by_name["国和一村居委会"], by_name["国和二村居委会"]
    assert (a1.entries, a1.controlled, a1.controlled_same_day, a1.open) == (2, 2, 1, 0)
    assert (a2.entries, a2.not_here, a2.open) == (1, 1, 1)
    assert [(u.name, f.triage) for u, f in figures.streets] == [("长海路街道", 1)]
    t = figures.total
    assert (t.entries, t.controlled_same_day, t.open, t.same_day_percent) == (4, 1, 2, 25)
    assert figures.by_method == {"id": 1, "phone": 2, "": 1}
    # Committee A1 sees only its own rows of the batch.
    mine = selectors.batch_figures(batch=batch, user=acting(w.staff_a1))
    assert [u.name for u, _f in mine.committees] == ["国和一村居委会"] and mine.total.entries == 2


def test_reports_are_idempotent_and_final(world):
    batch = import_list(world, csv_bytes(f"张秀英,{world.resident_a1.plain_id},,,"))
    [entry] = ListEntry.objects.filter(batch=batch)
    staff = acting(world.staff_a1)
    services.entry_report(actor=staff, entry=entry, status=EntryStatus.CONTROLLED)
    again = services.entry_report(actor=staff, entry=entry, status=EntryStatus.CONTROLLED)
    assert again.status == EntryStatus.CONTROLLED
    assert EntryEvent.objects.filter(entry=entry, action="reported").count() == 1
    with pytest.raises(ValidationError):
        services.entry_report(actor=staff, entry=entry, status=EntryStatus.WRONG_INFO, note="电话错")


def test_another_committee_cannot_report_or_guess_an_entry(world):
    batch = import_list(world, csv_bytes(f"张秀英,{world.resident_a1.plain_id},,,"))
    [entry] = ListEntry.objects.filter(batch=batch)
    with pytest.raises(ListEntry.DoesNotExist):
        services.entry_report(actor=acting(world.staff_a2), entry=entry, status=EntryStatus.CONTROLLED)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ASSIGNED


def test_street_assigns_from_triage_and_transfers_with_history(world):
    w = world
    batch = import_list(w, csv_bytes(f"陌生人,{stranger_id()},,外地,"))
    [entry] = ListEntry.objects.filter(batch=batch)
    officer = acting(w.street_officer)
    services.entry_assign(actor=officer, entry=entry, to=w.committee_a2, note="经电话核实住国和二村")
    entry.refresh_from_db()
    assert (entry.status, entry.committee, entry.match_method) == (EntryStatus.ASSIGNED, w.committee_a2, "manual")
    services.entry_report(actor=acting(w.staff_a2), entry=entry, status=EntryStatus.NOT_HERE, note="住五角场")
    with pytest.raises(ValidationError):  # a committee of another street
        services.entry_assign(actor=officer, entry=entry, to=w.committee_b1)
    services.entry_assign(actor=officer, entry=entry, to=w.street_b, note="转五角场街道")
    entry.refresh_from_db()
    assert (entry.status, entry.street, entry.committee) == (EntryStatus.TRIAGE, w.street_b, None)
    with pytest.raises(ListEntry.DoesNotExist):  # street B holds it now: for street A it is a list row
        services.entry_assign(actor=officer, entry=entry, to=w.committee_a1)
    services.entry_assign(actor=acting(w.street_officer_b), entry=entry, to=w.committee_b1)
    actions = list(EntryEvent.objects.filter(entry=entry).values_list("action", "status"))
    assert actions == [
        ("assigned", "assigned"), ("reported", "not_here"), ("transferred", "triage"), ("assigned", "assigned"),
    ]
    with pytest.raises(PermissionDenied):
        services.entry_assign(actor=acting(w.staff_b1), entry=entry, to=w.committee_b1)


def test_only_the_unit_holding_an_entry_may_act_on_it_as_the_pages_ask(world):
    """The pages offer a form by core.workflow.can, the same table, capability and guard as the
    service: street A still sees its list row once street B holds it, and may no longer act."""
    from xiuhua.core.workflow import can, may

    w = world
    batch = import_list(w, csv_bytes(f"陌生人,{stranger_id()},,外地,"))
    [entry] = ListEntry.objects.filter(batch=batch)
    officer, officer_b = acting(w.street_officer), acting(w.street_officer_b)
    assert can(officer, entry, "assign") and can(officer, entry, "transfer")
    assert not can(officer, entry, "report_controlled") and not may(acting(w.staff_a1), entry, "report_controlled")
    services.entry_assign(actor=officer, entry=entry, to=w.street_b)
    entry.refresh_from_db()
    assert ListEntry.objects.visible_to(officer).filter(pk=entry.pk).exists()
    assert not may(officer, entry, "assign") and can(officer_b, entry, "assign")
    services.entry_assign(actor=officer_b, entry=entry, to=w.committee_b1)
    entry.refresh_from_db()
    staff_b1 = acting(w.staff_b1)
    assert can(staff_b1, entry, "report_not_here") and not can(officer_b, entry, "report_not_here")
    services.entry_report(actor=staff_b1, entry=entry, status=EntryStatus.CONTROLLED)
    entry.refresh_from_db()
    assert may(staff_b1, entry, "report_controlled") and not can(staff_b1, entry, "report_controlled")
    assert not can(officer_b, entry, "assign") and not can(officer_b, entry, "transfer")


# Day one: IDs written with spaces, the list's own other columns, many entries at once


def spaced(number: str) -> str:
    """An ID as lists often write it: "310110 19430211 1048"."""
    return f"{number[:6]} {number[6:14]} {number[14:]}"


def test_an_id_with_spaces_inside_is_read_as_the_roster_reads_it(world):
    w = world
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in w.resident_a1.plain_id[:6]) + w.resident_a1.plain_id[6:]
    batch = import_list(w, csv_bytes(
        f"张秀英,{spaced(w.resident_a1.plain_id)},,,",
        f"陌生人,{spaced(stranger_id())},,外地,",
        f"张秀英,{full_width},,,",
    ))
    got = entries(batch)
    assert not BatchProblem.objects.filter(batch=batch).exists()
    assert (got[2].resident, got[2].match_method, got[2].match_confidence) == (w.resident_a1, MatchMethod.ID, 100)
    assert (got[3].person.id_type, got[3].status) == ("resident_id", EntryStatus.TRIAGE)
    assert got[4].person == got[2].person


def test_a_lists_other_columns_are_kept_on_the_entry_in_the_files_order(world, caplog):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "姓名", "公民身份号码", "途经地", "联系电话", "备注", "", "航班座位"])
    sheet.append([1, "张秀英", spaced(world.resident_a1.plain_id), "武汉 汉口站", None, "同车厢有确诊病例", None, None])
    sheet.append([2, "陌生人", None, None, 13700009999, None, None, "32C"])
    buffer = io.BytesIO()
    book.save(buffer)
    caplog.set_level("DEBUG")
    batch = import_list(world, buffer.getvalue(), filename="清单.xlsx")
    got = entries(batch)
    # Every column the importer does not know, but the list's own row counter (序号).
    assert got[2].extra == [["途经地", "武汉汉口站"], ["备注", "同车厢有确诊病例"]]
    assert got[3].extra == [["航班座位", "32C"]]
    assert got[2].resident == world.resident_a1 and not BatchProblem.objects.filter(batch=batch).exists()
    assert "同车厢有确诊病例" not in caplog.text and "汉口站" not in caplog.text


def test_the_street_assigns_many_entries_at_once_each_through_its_workflow(world):
    w = world
    batch = import_list(w, csv_bytes(*(f"陌生人{i},{stranger_id(i)},,外地,"for i in range(1, 5))))
    rows = entries(batch)
    officer = acting(w.street_officer)
    picked = [rows[2].pk, rows[3].pk, rows[4].pk]
    before = AuditEvent.objects.filter(action="tracing_entry_assign").count()
    moved = services.entries_assign(actor=officer, entry_ids=picked, to=w.committee_a2, note="电话核实")
    assert moved == 3
    for pk in picked:
        entry = ListEntry.objects.get(pk=pk)
        assert (entry.status, entry.committee, entry.street, entry.match_method) == (
            EntryStatus.ASSIGNED, w.committee_a2, w.street_a, MatchMethod.MANUAL)
        assert list(entry.events.values_list("action", "to_unit", "note")) == [
            ("assigned", w.committee_a2.pk, "电话核实")]
    assert AuditEvent.objects.filter(action="tracing_entry_assign").count() == before + 3
    assert ListEntry.objects.get(pk=rows[5].pk).status == EntryStatus.TRIAGE


def test_a_bulk_assign_with_one_entry_that_cannot_move_moves_none(world):
    w = world
    batch = import_list(w, csv_bytes(*(f"陌生人{i},{stranger_id(i)},,外地,"for i in range(1, 4))))
    rows = entries(batch)
    officer = acting(w.street_officer)
    services.entry_assign(actor=officer, entry=rows[3], to=w.committee_a1)
    services.entry_report(actor=acting(w.staff_a1), entry=rows[3], status=EntryStatus.CONTROLLED)
    snapshot = sorted(ListEntry.objects.values_list("pk", "status", "committee_id"))
    events, audits = EntryEvent.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.entries_assign(actor=officer, entry_ids=[rows[2].pk, rows[3].pk, rows[4].pk], to=w.committee_a2)
    assert caught.value.message_dict["entries"] == ["陌生人2(第3行):该人员已落实或已反馈信息有误,不能再分派"]
    with pytest.raises(ValidationError) as caught:  # nothing ticked
        services.entries_assign(actor=officer, entry_ids=[], to=w.committee_a2)
    assert caught.value.message_dict["entries"] == ["请先勾选要分派的人员"]
    with pytest.raises(ValidationError) as caught:  # another street's committee
        services.entries_assign(actor=officer, entry_ids=[rows[2].pk], to=w.committee_b1)
    assert caught.value.message_dict["to"] == ["只能分派给本街道的居委会"]
    with pytest.raises(ValidationError) as caught:  # not the street's entry
        services.entries_assign(actor=acting(w.street_officer_b), entry_ids=[rows[2].pk], to=w.committee_b1)
    assert caught.value.message_dict["entries"] == ["所选人员中有的已不由本街道负责,请刷新页面后重新勾选"]
    with pytest.raises(PermissionDenied):
        services.entries_assign(actor=acting(w.staff_a1), entry_ids=[rows[2].pk], to=w.committee_a1)
    assert sorted(ListEntry.objects.values_list("pk", "status", "committee_id")) == snapshot
    assert (EntryEvent.objects.count(), AuditEvent.objects.count()) == (events, audits)


def test_the_street_office_sees_todays_lists_and_their_same_day_control(world):
    w = world
    now = timezone.make_aware(dt.datetime(2022, 4, 2, 23, 0))  # 11 pm
    today = import_list(w, csv_bytes(f"张秀英,{w.resident_a1.plain_id},,,", "李建国,,13812340000,,"),
                        received_at=now - dt.timedelta(minutes=5), now=now)
    import_list(w, csv_bytes("王芳,,13700001111,,"), received_at=now - dt.timedelta(days=2), now=now,
                filename="old.csv", reference="通信大数据 前天")
    first = entries(today)[2]
    services.entry_report(actor=acting(w.staff_a1), entry=first, status=EntryStatus.CONTROLLED, now=now)
    lists, figures = selectors.today_figures(acting(w.street_officer), now=now)
    assert (lists, figures.entries, figures.controlled_same_day, figures.open, figures.same_day_percent) == (
        1, 2, 1, 1, 50)
    other = acting(w.street_officer_b)  # another street: none of these lists
    lists, figures = selectors.today_figures(other, now=now)
    assert (lists, figures.entries) == (0, 0)
