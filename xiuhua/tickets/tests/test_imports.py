"""The 12345 import: exact outcomes per row with real xlsx and CSV files, and its page."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import ROLE_CAPS, Cap, Role
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting, as_user, make_user
from xiuhua.tickets import imports
from xiuhua.tickets.calendar import WorkCalendar
from xiuhua.tickets.models import Department, Ticket, TicketEvent

from .test_calendar import at, end_of

pytestmark = pytest.mark.django_db

NOW = at(2022, 4, 6, 9)
HEADER = ["工单编号", "受理时间", "办理时限", "诉求类别", "紧急程度", "诉求内容", "联系人", "联系电话", "地址",
          "居委会"]


def xlsx_bytes(rows, header=HEADER, title="长海路街道12345工单导出 2022-04-02") -> bytes:
    """A workbook as the hotline exports it: a title row above the header."""
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_AND_BAD = [
    # row 3: a consultation received on Friday 1 April at 18:00 (an Excel date-time), placed by address.
    ["12345-2022-0001", dt.datetime(2022, 4, 1, 18, 0), "咨询", "配药", "一般", "需要配降压药", "张秀英",
     "13812345678", "杨浦区国和一村5号302室", ""],
    # row 4: supervision, time as text, no address: placed by the committee's name.
    ["12345-2022-0002", "2022/4/1 9:30", "督办", "生活物资", "紧急", "三天没有收到物资", "王芳", "13700001111", "",
     "国和二村"],
    # row 5: no number.
    ["", "2022-04-01 10:00", "求助", "", "", "求助", "", "", "", "国和一村居委会"],
    # row 6: a time that cannot be read.
    ["12345-2022-0004", "明天上午", "求助", "", "", "求助", "", "", "", "国和一村居委会"],
    # row 7: a committee of another street, and an address that is not ours.
    ["12345-2022-0005", "2022-04-01 11:00", "求助", "", "", "求助", "", "", "黄浦区某路1号", "政立路居委会"],
    # row 8: a mobile that is not one.
    ["12345-2022-0006", "2022-04-01 12:00", "求助", "", "", "求助", "", "12345", "", "国和一村居委会"],
    # row 9: a complaint received on Saturday 2 April (worked), a room not on the roster: the compound's committee.
    ["12345-2022-0007", "2022年4月2日 8时15分", "投诉", "停水", "", "楼里停水两天", "", "", "国和二村12号999室", ""],
    # row 10: the number of row 3 again.
    ["12345-2022-0001", "2022-04-01 18:00", "咨询", "配药", "", "重复", "", "", "", "国和一村"],
    # row 11: several things wrong at once.
    ["12345-2022-0009", "", "很急", "", "特别", "", "", "", "", ""],
]


def run(w, data, *, filename="export.xlsx", now=NOW, user=None, street=None):
    return imports.hotline_import(actor=acting(user or w.street_officer), street=street or w.street_a, data=data,
                                  filename=filename, now=now)


def snapshot():
    return Ticket.objects.count(), TicketEvent.objects.count(), AuditEvent.objects.count()


def test_good_rows_are_created_and_bad_rows_reported_by_row(world):
    w = world
    result = run(w, xlsx_bytes(GOOD_AND_BAD))
    assert (result.rows_total, len(result.created), len(result.existing), result.bad_rows) == (9, 3, 0, 6)
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (5, "工单编号", "缺少工单编号"),
        (6, "受理时间", "无法识别的时间“明天上午”,请写成 2022-04-01 18:30"),
        (7, "居委会", "居委会“政立路居委会”不是本街道的居委会"),
        (8, "联系电话", "联系电话不是有效的手机号码或固定电话"),
        (10, "工单编号", "与第3行的工单编号重复"),
        (11, "受理时间", "缺少受理时间"),
        (11, "办理时限", "办理时限“很急”无法识别,应为咨询、督办、求助、投诉或复杂"),
        (11, "紧急程度", "紧急程度“特别”无法识别,应为紧急或一般"),
        (11, "诉求内容", "缺少诉求内容"),
        (11, "地址", "缺少地址和居委会,无法确定所属居委会"),
    ]
    assert [(c.row, c.external_number, c.committee, c.placed_by) for c in result.created] == [
        (3, "12345-2022-0001", "国和一村居委会", "住户"),
        (4, "12345-2022-0002", "国和二村居委会", "居委会"),
        (9, "12345-2022-0007", "国和二村居委会", "小区"),
    ]
    tickets = {t.external_number: t for t in Ticket.objects.all()}
    assert len(tickets) == 3
    first, second, third = (tickets[f"12345-2022-000{n}"] for n in (1, 2, 7))
    assert (first.source, first.category, first.urgency, first.deadline_class) == (
        "hotline", "medicine", "normal", "consultation")
    assert (first.committee, first.household, first.requester_name, first.requester_phone) == (
        w.committee_a1, w.household_a1, "张秀英", "13812345678")
    assert (first.created_by, first.status, first.description) == (w.street_officer, "received", "需要配降压药")
    # Deadlines from each row's own received time across Qingming (3-5 April off, Saturday 2 April worked).
    assert (first.received_at, first.deadline_at) == (at(2022, 4, 1, 18), end_of(2022, 4, 2))
    assert (second.category, second.urgency, second.deadline_class, second.household) == (
        "food", "urgent", "supervision", None)
    assert (second.received_at, second.deadline_at) == (at(2022, 4, 1, 9, 30), end_of(2022, 4, 7))
    assert (third.committee, third.household, third.category, third.deadline_class) == (
        w.committee_a2, None, "utilities", "complaint")
    assert (third.received_at, third.deadline_at) == (at(2022, 4, 2, 8, 15), end_of(2022, 4, 12))
    assert result.created[0].deadline_at == end_of(2022, 4, 2)
    # Each ticket has its intake event at its received time, and one audit event sums up the import.
    assert TicketEvent.objects.get(ticket=first).at == at(2022, 4, 1, 18)
    event = AuditEvent.objects.get(action="ticket_import")
    assert event.detail == {"street": w.street_a.pk, "rows": 9, "created": 3, "existing": 0, "bad": 6}
    assert event.actor == w.street_officer and event.subject_label == "export.xlsx"


def test_the_same_file_again_creates_nothing(world):
    data = xlsx_bytes(GOOD_AND_BAD)
    run(world, data)
    tickets = sorted(Ticket.objects.values_list("pk", "external_number", "deadline_at"))
    again = run(world, data)
    assert sorted(Ticket.objects.values_list("pk", "external_number", "deadline_at")) == tickets
    assert again.created == []
    assert [(e.row, e.external_number) for e in again.existing] == [
        (3, "12345-2022-0001"), (4, "12345-2022-0002"), (9, "12345-2022-0007")]
    assert all(e.ticket_number for e in again.existing)
    assert again.bad_rows == 6
    assert AuditEvent.objects.filter(action="ticket_import").count() == 2
    assert AuditEvent.objects.filter(action="ticket_create").count() == 3


def test_an_order_taken_elsewhere_is_reported_as_existing_without_its_number(world):
    from xiuhua.tickets import services

    services.ticket_create(actor=acting(world.staff_b1), source="hotline", category="food", urgency="normal",
                           description="买菜", committee=world.committee_b1, external_number="12345-2022-0001",
                           now=at(2022, 4, 1, 18))
    result = run(world, xlsx_bytes(GOOD_AND_BAD[:1]))
    assert [(e.row, e.external_number, e.ticket_number) for e in result.existing] == [(3, "12345-2022-0001", "")]
    assert Ticket.objects.count() == 1


def test_a_gbk_csv_with_other_spellings(world):
    text = (
        "工单号,派单时间,受理时间,时限类别,问题分类,缓急程度,来电内容,来电人,来电号码,事发地址,所属居委\n"
        "HL-001,2022-04-02 09:00,2022-04-01 17:00,复杂事项,独居老人,,老人无人照顾,,,长海路街道国和一村6号101,\n"
        "HL-002,2022-04-02 09:00,,1个工作日,化疗,紧急,化疗需要出行,,+86 138 1234 0000,,国和一村居民委员会\n"
        "HL-003,2022-04-02 09:00,,2022-04-06,其他诉求,,询问政策,,,,国和二村居委会\n"
        "HL-004,2022-04-02 09:00,,2022-04-11,,,询问政策,,,,国和二村居委会\n"
    )
    result = run(world, text.encode("gb18030"), filename="导出.csv")
    assert result.file_format == "csv"
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (5, "办理时限", "办理时限为4个工作日,不是1、3、5或15个工作日")]
    by_number = {t.external_number: t for t in Ticket.objects.all()}
    one, two, three = by_number["HL-001"], by_number["HL-002"], by_number["HL-003"]
    # Both times given: the hotline's acceptance (受理时间) starts the clock.
    assert (one.received_at, one.deadline_class, one.category) == (at(2022, 4, 1, 17), "complex", "elderly_care")
    assert (one.household, one.committee) == (world.household_a1b, world.committee_a1)
    # 15 working days: 2, 6-8, 11-15, 18-22 April and Sunday 24 April (worked for Labour Day).
    assert one.deadline_at == end_of(2022, 4, 24)
    assert (two.received_at, two.deadline_class, two.category, two.urgency, two.requester_phone) == (
        at(2022, 4, 2, 9), "consultation", "chemotherapy", "urgent", "13812340000")
    assert (two.committee, two.deadline_at) == (world.committee_a1, end_of(2022, 4, 6))
    # A due date is read back into its class with the calendar: 2 April -> 6 April is 1 working day.
    assert (three.deadline_class, three.category, three.committee) == ("consultation", "other", world.committee_a2)


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"PK\x03\x04 not really a zip", "export.xlsx", "无法读取该文件"),
        (b"", "export.csv", "文件是空的"),
        (b"\xd0\xcf\x11\xe0old excel", "export.xls", "不支持旧版Excel"),
        ("名字,备注\n张三,无\n".encode(), "export.csv", "没有找到表头"),
        ("工单编号,诉求内容,联系人\nA1,停水,张三\n".encode(), "export.csv", "表头缺少以下列:受理时间"),
        ("工单编号,受理时间,联系人\nA1,2022-04-01 10:00,张三\n".encode(), "export.csv", "表头缺少以下列:诉求内容"),
    ],
)
def test_a_file_that_cannot_be_used_writes_nothing(world, data, filename, message):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        run(world, data, filename=filename)
    assert message in " ".join(caught.value.message_dict["file"])
    assert snapshot() == before


def test_oversized_and_overlong_files_are_refused(world, monkeypatch):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        run(world, b"x" * (imports.MAX_FILE_BYTES + 1), filename="big.csv")
    assert caught.value.message_dict == {"file": ["文件超过10MB,请拆分后上传"]}
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    with pytest.raises(ValidationError) as caught:
        run(world, xlsx_bytes(GOOD_AND_BAD))
    assert caught.value.message_dict == {"file": ["每个文件最多2条工单,请拆分后再导入"]}
    assert snapshot() == before


def test_a_received_time_in_the_future_is_refused(world):
    result = run(world, xlsx_bytes([GOOD_AND_BAD[0]]), now=at(2022, 4, 1, 12))
    assert [(p.row, p.column, p.message) for p in result.problems] == [(3, "受理时间", "受理时间晚于当前时间")]
    assert not Ticket.objects.exists()


def test_only_a_street_officer_of_that_street_imports(world, monkeypatch):
    data = xlsx_bytes(GOOD_AND_BAD[:2])
    before = snapshot()
    for user, street in ((world.staff_a1, world.street_a), (world.street_officer_b, world.street_a),
                         (world.district_officer, world.street_a), (world.grid_worker, world.street_a),
                         (world.street_officer, world.street_b)):
        with pytest.raises(PermissionDenied):
            run(world, data, user=user, street=street)
    assert snapshot() == before
    # A district membership that may record orders picks one of its streets.
    monkeypatch.setitem(ROLE_CAPS, Role.DISTRICT_OFFICER, ROLE_CAPS[Role.DISTRICT_OFFICER] | {Cap.RECORD_TICKET})
    result = run(world, data, user=world.district_officer, street=world.street_a)
    assert len(result.created) == 2 and result.street == world.street_a


def test_a_year_without_holidays_on_file_is_pointed_out(world):
    row = ["12345-2023-0001", "2023-04-03 10:00", "咨询", "", "", "咨询", "", "", "", "国和一村"]
    result = run(world, xlsx_bytes([row]), now=at(2023, 4, 4))
    assert result.warnings == ["2023年的节假日尚未维护,办理时限暂按周一至周五计算(未扣除节假日);请管理员补录后核对时限"]


@pytest.mark.parametrize(
    "value, expected",
    [
        (dt.datetime(2022, 4, 1, 18, 0), at(2022, 4, 1, 18)),
        ("2022-04-01 18:30:05", at(2022, 4, 1, 18, 30) + dt.timedelta(seconds=5)),
        ("2022.4.1 8:05", at(2022, 4, 1, 8, 5)),
        ("2022-04-01T18:30", at(2022, 4, 1, 18, 30)),
        ("２０２２－０４－０１　１８：３０", at(2022, 4, 1, 18, 30)),
        ("20220401183000", at(2022, 4, 1, 18, 30)),
        (44652.75, at(2022, 4, 1, 18)),  # an Excel serial number
    ],
)
def test_received_times_in_the_forms_exports_use(value, expected):
    assert imports.parse_received(value) == expected


@pytest.mark.parametrize("value", ["2022-04-01", dt.date(2022, 4, 1), 44652.0, "2022-02-30 10:00", "昨天", 12.5])
def test_unusable_received_times(value):
    with pytest.raises(ValueError):
        imports.parse_received(value)


def test_words_are_mapped():
    calendar = WorkCalendar([])
    received = at(2022, 4, 1, 10)
    assert [imports.parse_deadline_class(v, received, calendar) for v in
            ("", "咨询类", "督办件", "求助", "投诉举报", "复杂事项", "3", "15个工作日", "5天")] == [
        "help", "consultation", "supervision", "help", "complaint", "complex", "supervision", "complex", "help"]
    words = ("血液透析", "换药", "配药需求", "生活物资保障", "停电", "噪音扰民", "")
    assert [imports.parse_category(v) for v in words] == [
        "dialysis", "wound_care", "medicine", "food", "utilities", "other", "other"]
    assert [imports.parse_urgency(v) for v in ("", "一般", "紧急", "特急")] == ["normal", "normal", "urgent", "urgent"]
    assert imports.committee_key("国和一村居民委员会") == imports.committee_key("国和一村") == "国和一村"
    with pytest.raises(ValueError, match="科学计数法"):
        imports.parse_external_number("2.20401E+15")
    with pytest.raises(ValueError, match="存成了数字"):
        imports.parse_external_number(2204011234567890.0)
    assert imports.parse_external_number(22040100012.0) == "22040100012"


# ---------------------------------------------------------------- the page


def upload(data: bytes, filename="export.xlsx", **extra):
    return {"file": SimpleUploadedFile(filename, data), **extra}


def test_the_page_imports_and_shows_the_result(client, world):
    as_user(client, world.street_officer)
    page = client.get(reverse("tickets_office:import"))
    assert page.status_code == 200 and 'id="import-form"' in page.content.decode()
    assert "street" not in page.context["form"].fields
    response = client.post(reverse("tickets_office:import"), upload(xlsx_bytes(GOOD_AND_BAD)))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="created-count">3<' in body and 'id="bad-count">6<' in body and 'id="existing-count">0<' in body
    assert "居委会“政立路居委会”不是本街道的居委会" in body and "与第3行的工单编号重复" in body
    assert Ticket.objects.count() == 3
    again = client.post(reverse("tickets_office:import"), upload(xlsx_bytes(GOOD_AND_BAD)))
    assert 'id="created-count">0<' in again.content.decode() and 'id="existing-count">3<' in again.content.decode()
    assert Ticket.objects.count() == 3


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"PK\x03\x04 broken", "export.xlsx", "无法读取该文件"),
        (b"whatever", "export.xls", "请上传 .xlsx 或 .csv 文件"),
        ("名字,备注\n张三,无\n".encode(), "export.csv", "没有找到表头"),
    ],
)
def test_a_bad_file_is_shown_on_the_form_and_writes_nothing(client, world, data, filename, message):
    before = snapshot()
    as_user(client, world.street_officer)
    response = client.post(reverse("tickets_office:import"), upload(data, filename))
    assert response.status_code == 200 and response.context["result"] is None
    assert message in " ".join(response.context["form"].errors["file"])
    assert message in response.content.decode()
    assert snapshot() == before


def test_an_oversized_upload_is_refused_before_it_is_read(client, world, monkeypatch):
    def must_not_read(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(imports, "hotline_import", must_not_read)
    before = snapshot()
    as_user(client, world.street_officer)
    response = client.post(reverse("tickets_office:import"), upload(b"x" * (imports.MAX_FILE_BYTES + 1), "a.csv"))
    assert response.context["form"].errors == {"file": ["文件超过10MB,请拆分后上传"]}
    assert snapshot() == before


def test_a_district_officer_with_the_capability_picks_a_street(client, world, monkeypatch):
    monkeypatch.setitem(ROLE_CAPS, Role.DISTRICT_OFFICER, ROLE_CAPS[Role.DISTRICT_OFFICER] | {Cap.RECORD_TICKET})
    as_user(client, world.district_officer)
    page = client.get(reverse("tickets_office:import"))
    assert [label for _v, label in page.context["form"].fields["street"].choices][1:] == ["长海路街道", "五角场街道"]
    response = client.post(reverse("tickets_office:import"), upload(xlsx_bytes(GOOD_AND_BAD[:1])))
    assert response.context["form"].errors == {"street": ["请选择街道"]} and not Ticket.objects.exists()
    response = client.post(reverse("tickets_office:import"),
                           upload(xlsx_bytes(GOOD_AND_BAD[:1]), street=world.street_a.pk))
    assert response.context["result"].street == world.street_a and Ticket.objects.count() == 1


def test_anonymous_and_wrong_roles_are_refused_and_nothing_is_written(client, world):
    department = Department.objects.create(street=world.street_a, name="城运中心")
    worker = make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a)
    department.members.add(Membership.objects.get(user=worker))
    url = reverse("tickets_office:import")
    before = snapshot()
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # Committee staff record orders but do not import; the others may not record orders at all.
    for username in ("staff_a1", "grid_a1", "district", "dept_a", "volunteer", "pharmacy", "sysadmin", "nobody"):
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code == 403, username
        assert client.post(url, upload(xlsx_bytes(GOOD_AND_BAD))).status_code == 403, username
    assert snapshot() == before


def test_another_streets_officer_imports_only_into_their_own_street(client, world):
    as_user(client, world.street_officer_b)
    response = client.post(reverse("tickets_office:import"),
                           upload(xlsx_bytes(GOOD_AND_BAD[:2]), street=world.street_a.pk))
    result = response.context["result"]
    # The street field does not exist for a street officer: the rows are placed in street B, where
    # the address and the committee are not found.
    assert result.street == world.street_b and result.created == [] and result.bad_rows == 2
    assert not Ticket.objects.exists()
