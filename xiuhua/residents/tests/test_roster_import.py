"""Roster import services: checking, preview counts, all-or-nothing commit, re-import."""

import datetime as dt
import io
import re
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import translation

from xiuhua.core.crypto import mask_identity
from xiuhua.core.models import AuditEvent
from xiuhua.places.models import OrgUnit
from xiuhua.residents import roster
from xiuhua.residents.identity import identity_fields, identity_hash
from xiuhua.residents.models import Household, Resident, ResidentTag, RosterImport
from xiuhua.residents.roster import plan
from xiuhua.residents.roster.columns import EXAMPLE_ID_NUMBER
from xiuhua.testing import acting, make_resident

from .test_roster_fixtures import (
    HEADERS,
    csv_bytes,
    import_file,
    new_id,
    person,
    problems_of,
    row_for,
    sheet_rows,
    snapshot,
    xlsx,
)

pytestmark = pytest.mark.django_db
Status = RosterImport.Status


@pytest.fixture
def staff(world):
    return acting(world.staff_a1)


# --- preview and commit ----------------------------------------------------------------------


def test_preview_counts_new_updated_unchanged_before_anything_is_written(world, staff):
    before = snapshot()
    rows = [
        person(姓名="陈新", 证件号码=new_id(), 标签="独居老人、无智能手机"),
        row_for(world.resident_a1, 手机号="13900001111"),  # an update
        row_for(world.resident_a1b),  # unchanged
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows))
    assert imp.status == Status.VALIDATED
    assert (imp.count_new, imp.count_updated, imp.count_unchanged, imp.count_problem_rows) == (1, 1, 1, 0)
    assert (imp.households_new, imp.rows_total) == (1, 3)
    assert problems_of(imp) == []
    after = snapshot()
    assert after["residents"] == before["residents"] and after["households"] == before["households"]
    assert imp.payload and imp.payload_kind == "rows"
    assert rows[0]["证件号码"] not in imp.payload  # kept encrypted

    imp = roster.roster_import_commit(actor=staff, roster_import=imp)
    assert imp.status == Status.COMMITTED
    assert (imp.count_new, imp.count_updated, imp.count_unchanged) == (1, 1, 1)
    assert imp.payload == "" and imp.payload_kind == ""
    created = Resident.objects.get(name="陈新")
    assert created.committee_id == world.committee_a1.pk
    assert created.household.address == "国和一村5号501室"
    assert created.household.committee_id == world.committee_a1.pk
    assert created.household.compound_id == world.compound_a1.pk
    assert (created.sex, created.birth_date, created.mobile) == ("M", dt.date(1985, 3, 4), "13912345678")
    assert created.id_masked == mask_identity(rows[0]["证件号码"])
    assert sorted(created.tag_codes) == ["elderly_alone", "no_smartphone"]
    assert ResidentTag.objects.get(resident=created, tag="elderly_alone").committee_id == world.committee_a1.pk
    world.resident_a1.refresh_from_db()
    assert world.resident_a1.mobile == "13900001111"


def test_commit_writes_one_audit_event_with_the_counts(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person(), person(室号="502", 证件号码=new_id())]))
    audits = AuditEvent.objects.count()
    roster.roster_import_commit(actor=staff, roster_import=imp)
    # The request moves the import to committing (its own event); the write carries the counts.
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)[audits:]) == [
        "roster_import_request_commit", "roster_import_commit"]
    event = AuditEvent.objects.get(action="roster_import_commit")
    assert event.actor == world.staff_a1
    assert event.committee_id == world.committee_a1.pk
    assert event.object_id == imp.pk
    assert event.detail == {"from": "committing", "to": "committed", "rows": 2, "new": 2, "updated": 0,
                            "unchanged": 0, "households_new": 2, "households_updated": 0}


def test_validation_is_audited_inline_as_the_uploader_and_in_the_worker_as_the_system(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person()]), background=False)
    events = AuditEvent.objects.filter(object_id=imp.pk, object_type="residents.rosterimport").order_by("pk")
    assert list(events.values_list("action", "actor")) == [
        ("roster_import_upload", world.staff_a1.pk), ("roster_import_validate", world.staff_a1.pk),
        ("roster_import_finish_validation", world.staff_a1.pk)]
    assert events.last().detail == {"from": "validating", "to": "validated", "rows": 1, "problem_rows": 0}

    queued = import_file(staff, world.committee_a1, xlsx([person(证件号码=new_id())]), background=True)
    roster.roster_import_validate(actor=None, roster_import=queued)
    events = AuditEvent.objects.filter(object_id=queued.pk, action__in=(
        "roster_import_validate", "roster_import_finish_validation"))
    assert [(e.actor, e.committee_id) for e in events] == [(None, world.committee_a1.pk)] * 2


def test_reimporting_the_same_file_changes_nothing(world, staff):
    rows = [person(证件号码=new_id(), 标签="孕妇"), person(姓名="陈二", 证件号码=new_id(), 与户主关系="配偶"),
            row_for(world.resident_a1)]
    data = xlsx(rows)
    first = import_file(staff, world.committee_a1, data)
    roster.roster_import_commit(actor=staff, roster_import=first)
    before = snapshot()

    again = import_file(staff, world.committee_a1, data)
    assert (again.count_new, again.count_updated, again.count_unchanged) == (0, 0, 3)
    assert (again.households_new, again.households_updated) == (0, 0)
    tables = {Resident._meta.db_table, Household._meta.db_table, ResidentTag._meta.db_table}
    with CaptureQueriesContext(connection) as queries:
        again = roster.roster_import_commit(actor=staff, roster_import=again)
    assert again.status == Status.COMMITTED
    writes = [q["sql"] for q in queries.captured_queries
              if re.match(r"\s*(INSERT|UPDATE|DELETE|COPY)", q["sql"], re.I)
              and any(table in q["sql"] for table in tables)]
    assert writes == []
    after = snapshot()
    for key in ("residents", "households", "tags", "max_updated"):
        assert after[key] == before[key], key


def test_a_known_number_moves_to_another_room_of_the_committee(world, staff):
    row = row_for(world.resident_a1, 楼栋="6号", 室号="808")
    imp = import_file(staff, world.committee_a1, xlsx([row]))
    assert (imp.count_updated, imp.households_new) == (1, 1)
    roster.roster_import_commit(actor=staff, roster_import=imp)
    world.resident_a1.refresh_from_db()
    assert world.resident_a1.household.address == "国和一村6号808室"
    assert Household.objects.filter(pk=world.household_a1.pk).exists()  # the old address stays


def test_household_columns_and_tags_are_updated(world, staff):
    rows = [
        row_for(world.resident_a1, 出租房="是", 房东姓名="刘先生", 房东电话="13700002222", 标签="独居老人、残疾"),
        person(室号="302", 姓名="租客甲", 与户主关系="租客", 证件号码=new_id()),
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows))
    assert (imp.count_updated, imp.count_new, imp.households_updated, imp.households_new) == (1, 1, 1, 0)
    roster.roster_import_commit(actor=staff, roster_import=imp)
    world.household_a1.refresh_from_db()
    assert (world.household_a1.is_rental, world.household_a1.landlord_phone) == (True, "13700002222")
    assert world.household_a1.grid_id == world.grid_a1.pk  # blank grid: unchanged
    assert world.resident_a1.tag_codes == ["disabled", "elderly_alone"]
    assert Resident.objects.get(name="租客甲").household_id == world.household_a1.pk


def test_grids_are_found_by_name(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person(网格="第一网格", 微网格="5号楼微网格")]))
    roster.roster_import_commit(actor=staff, roster_import=imp)
    household = Resident.objects.get(name="陈新").household
    assert (household.grid_id, household.micro_grid_id) == (world.grid_a1.pk, world.micro_a1.pk)


# --- problems --------------------------------------------------------------------------------

BAD_CHECKSUM = "310115198503040010"


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"姓名": ""}, "姓名", "请填写姓名"),
        ({"室号": ""}, "室号", "请填写室号"),
        ({"证件号码": ""}, "证件号码", "请填写证件号码"),
        ({"与户主关系": ""}, "与户主关系", "请填写与户主关系"),
        ({"证件号码": BAD_CHECKSUM}, "证件号码", "证件号码校验位不正确,请核对"),
        ({"证件号码": "31011519850304001"}, "证件号码", "证件号码应为18位"),
        ({"出生日期": "1985-03-05"}, "出生日期", "出生日期与证件号码不一致"),
        ({"出生日期": "3/4/85"}, "出生日期", "日期格式不正确"),
        ({"性别": "女"}, "性别", "性别与证件号码不一致"),
        ({"性别": "未知"}, "性别", "性别请填写“男”或“女”"),
        ({"小区": "不存在小区"}, "小区", "本居委会没有名为“不存在小区”的小区"),
        ({"楼栋": "12号"}, "楼栋", "小区“国和一村”中没有楼栋“12号”(楼栋须先在地点中建立)"),
        ({"小区": "国和二村", "楼栋": "12号"}, "小区", "本居委会没有名为“国和二村”的小区"),
        ({"手机号": "1381234567"}, "手机号", "手机号码格式不正确"),
        ({"手机号": "12345678901"}, "手机号", "手机号码格式不正确"),
        ({"标签": "独居老人、会飞"}, "标签", "未知的标签“会飞”"),
        ({"与户主关系": "邻居"}, "与户主关系", "未知的与户主关系“邻居”"),
        ({"居住状态": "出差"}, "居住状态", "未知的居住状态“出差”"),
        ({"证件类型": "驾驶证"}, "证件类型", "未知的证件类型“驾驶证”"),
        ({"居住状态": "外出"}, "预计返回日期", "外出人员须填写预计返回日期"),
        ({"出租房": "是"}, "房东电话", "出租房须填写房东联系电话"),
        ({"出租房": "也许"}, "出租房", "出租房请填写“是”或“否”"),
        ({"网格": "第九网格"}, "网格", "本居委会没有名为“第九网格”的网格"),
        ({"证件类型": "护照", "证件号码": "E12345678", "性别": ""}, "性别", "请填写性别"),
        ({"证件类型": "护照", "证件号码": "E12345678", "出生日期": ""}, "出生日期", "请填写出生日期"),
        ({"证件号码": 3.10115198503041e17}, "证件号码", "证件号码被Excel存成了数字"),
    ],
)
def test_each_problem_is_reported_on_its_row_and_column(world, staff, change, column, message):
    before = snapshot()
    good = person(姓名="没问题", 室号="601", 证件号码=new_id())
    bad = person(证件号码=new_id(), **{k: v for k, v in change.items() if k != "证件号码"})
    if "证件号码" in change:
        bad["证件号码"] = change["证件号码"]
    imp = import_file(staff, world.committee_a1, xlsx([good, bad]))
    found = problems_of(imp)
    assert [(row, col) for row, col, _msg in found] == [(3, column)], found
    assert message in found[0][2]
    assert imp.count_problem_rows == 1 and imp.count_new == 1  # counts describe the good rows
    assert imp.payload == ""  # a file with problems is not kept
    with pytest.raises(ValidationError, match="1 行存在问题"):
        roster.roster_import_commit(actor=staff, roster_import=imp)
    after = snapshot()
    assert after["residents"] == before["residents"] and after["households"] == before["households"]


def test_several_problems_of_one_row_are_all_reported(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([
        person(姓名="", 楼栋="99号", 手机号="123", 标签="会飞", 居住状态="外出"),
    ]))
    columns = sorted(col for _row, col, _msg in problems_of(imp))
    assert columns == sorted(["姓名", "楼栋", "手机号", "标签", "预计返回日期"])


def test_a_number_twice_in_the_file_is_a_problem_on_the_second_row(world, staff):
    number = new_id()
    imp = import_file(staff, world.committee_a1, xlsx([
        person(证件号码=number), person(姓名="另一人", 室号="502"), person(姓名="重复", 室号="503", 证件号码=number),
    ]))
    assert problems_of(imp) == [
        (4, "证件号码", f"与第2行的证件号码重复({mask_identity(number)})"),
    ]


def test_a_number_registered_in_another_committee_is_refused_without_saying_where(world, staff):
    row = person(证件号码=world.resident_b1.plain_id, 姓名="赵强", 出生日期="1980-05-17")
    imp = import_file(staff, world.committee_a1, xlsx([row, row_for(world.resident_a2, 小区="国和一村", 楼栋="5号")]))
    found = problems_of(imp)
    assert [(r, c) for r, c, _m in found] == [(2, "证件号码"), (3, "证件号码")]
    for _row, _col, message in found:
        assert message == "该证件号码已在其他居委会登记,请联系街道核实"
    assert not any(name in str(found) for name in ("政立", "国和二村", "五角场"))


def test_another_committees_number_is_reported_even_when_the_row_has_other_problems(world, staff):
    row = person(证件号码=world.resident_b1.plain_id, 出生日期="1980-05-17", 楼栋="99号")
    imp = import_file(staff, world.committee_a1, xlsx([row]))
    assert sorted(c for _r, c, _m in problems_of(imp)) == ["楼栋", "证件号码"]


def test_problem_messages_never_hold_a_full_id_number(world, staff):
    dup = new_id()
    rows = [
        person(证件号码=dup), person(室号="502", 证件号码=dup), person(证件号码=BAD_CHECKSUM),
        person(证件号码=world.resident_b1.plain_id), person(出生日期="1990-01-01"),
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows))
    text = " ".join(message for _r, _c, message in problems_of(imp))
    assert imp.count_problem_rows == 4
    for number in re.findall(r"\d{17}[\dX]", text):
        pytest.fail(f"full number in a problem message: {number}")


def test_full_width_digits_letters_and_stray_spaces_are_normalised(world, staff):
    number = new_id(sex="F", birth=dt.date(1990, 12, 1))
    wide = number[:-4].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " " + number[-4:]
    imp = import_file(staff, world.committee_a1, xlsx([person(
        姓名=" 王　小 丽 ", 性别="女", 出生日期="１９９０-１２-０１", 证件号码=wide, 室号="３０３室",
        手机号="１３９ １２３４ ５６７８", 楼栋=" 5号楼 ", 与户主关系=" 户主 ",
    )]))
    assert problems_of(imp) == []
    roster.roster_import_commit(actor=staff, roster_import=imp)
    resident = Resident.objects.get(id_hash=identity_hash("resident_id", number))
    assert (resident.name, resident.mobile, resident.household.room) == ("王小丽", "13912345678", "303")
    assert resident.household.building_id == world.building_a1.pk


def test_labels_and_codes_are_both_accepted(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person(
        性别="M", 证件类型="resident_id", 与户主关系="head", 居住状态="away", 预计返回日期="2026-12-31",
        标签="dialysis;独居老人，孕妇", 出租房="否",
    )]))
    assert problems_of(imp) == []
    roster.roster_import_commit(actor=staff, roster_import=imp)
    resident = Resident.objects.get(name="陈新")
    assert (resident.relation, resident.living_status, resident.away_until) == ("head", "away", dt.date(2026, 12, 31))
    assert resident.tag_codes == ["dialysis", "elderly_alone", "pregnant"]


def test_sex_and_birth_date_may_be_left_to_the_number(world, staff):
    number = new_id(sex="F", birth=dt.date(1970, 1, 2))
    imp = import_file(staff, world.committee_a1, xlsx([person(证件号码=number, 性别="", 出生日期="")]))
    roster.roster_import_commit(actor=staff, roster_import=imp)
    resident = Resident.objects.get(name="陈新")
    assert (resident.sex, resident.birth_date) == ("F", dt.date(1970, 1, 2))


def test_a_title_row_above_the_header_keeps_excel_row_numbers(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person(), person(姓名="")], title="国和一村居委会花名册"))
    assert problems_of(imp) == [(4, "姓名", "请填写姓名")]


def test_optional_columns_may_be_missing_and_are_then_left_as_they_are(world, staff):
    headers = ["小区", "楼栋", "室号", "姓名", "证件号码", "与户主关系"]
    row = {k: v for k, v in row_for(world.resident_a1, 姓名="张秀英").items() if k in headers}
    imp = import_file(staff, world.committee_a1, xlsx([row], headers=headers))
    assert (imp.count_unchanged, imp.count_problem_rows) == (1, 0)
    roster.roster_import_commit(actor=staff, roster_import=imp)
    world.resident_a1.refresh_from_db()
    assert world.resident_a1.mobile == "13812345678" and world.resident_a1.tag_codes == ["elderly_alone"]


def test_the_templates_example_row_and_blank_rows_are_skipped(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([
        person(姓名="示例:张三(此行不会导入)"), {}, person(), {h: "" for h in HEADERS},
    ]))
    assert (imp.rows_total, imp.count_new, imp.count_problem_rows) == (1, 1, 0)


def test_labels_with_spaces_and_tags_split_on_punctuation_or_new_lines(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person(
        证件类型="Resident ID card", 与户主关系="Householder", 居住状态=" 在 住 ",
        标签="独居 老人\nPregnant／no-smartphone",
    ), person(室号="502", 证件号码=new_id(), 证件类型="resident id card", 标签="透析 残疾")]))
    assert problems_of(imp) == []
    roster.roster_import_commit(actor=staff, roster_import=imp)
    first, second = Resident.objects.filter(name="陈新").order_by("household__room")
    assert (first.id_type, first.relation, first.living_status) == ("resident_id", "head", "here")
    assert first.tag_codes == ["elderly_alone", "no_smartphone", "pregnant"]
    assert second.tag_codes == ["dialysis", "disabled"]  # labels separated by a space, as older files have


def test_the_example_row_is_known_by_its_exact_name_not_by_a_prefix(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([
        person(姓名="示例:张三(此行不会导入)", 证件号码=EXAMPLE_ID_NUMBER),
        person(姓名=" 示例:张三(此行不会导入) "),
        person(姓名="示例人", 室号="502", 证件号码=new_id()),
        person(姓名="张三", 室号="503", 证件号码=EXAMPLE_ID_NUMBER, 出生日期="1980-05-17"),
    ]))
    assert problems_of(imp) == [(5, "证件号码", "这是模板示例行的证件号码,请填写居民本人的证件号码")]
    assert (imp.rows_total, imp.count_new, imp.count_problem_rows) == (2, 1, 1)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_template_in_either_language_has_nothing_to_import(world, staff, language):
    with translation.override(language):
        content = roster.roster_template()
        with pytest.raises(roster.RosterFileError) as caught:
            import_file(staff, world.committee_a1, content)
        assert caught.value.messages == [translation.gettext("表格中没有数据行")]
    example_name = sheet_rows(content)[1][HEADERS.index("姓名")]
    assert ("张三" in example_name) == (language == "zh-hans") and "示例" in example_name


# --- file formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("gbk", ","), ("gb18030", ","), ("utf-16", "\t")],
)
def test_csv_in_the_encodings_excel_writes(world, staff, encoding, delimiter):
    rows = [person(姓名="欧阳娜娜", 性别="女", 证件号码=new_id(sex="F"), 标签="独居老人")]
    data = csv_bytes(rows, encoding=encoding, delimiter=delimiter)
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    imp = import_file(staff, world.committee_a1, data, name="花名册.csv")
    assert (imp.status, imp.file_format, imp.count_new, problems_of(imp)) == (Status.VALIDATED, "csv", 1, [])
    roster.roster_import_commit(actor=staff, roster_import=imp)
    assert Resident.objects.get(name="欧阳娜娜").tag_codes == ["elderly_alone"]


def test_csv_with_a_number_turned_into_scientific_notation(world, staff):
    imp = import_file(staff, world.committee_a1, csv_bytes([person(证件号码="3.10115E+17")]), name="r.csv")
    assert problems_of(imp)[0][1:] == (
        "证件号码", "证件号码被Excel存成了数字,末尾几位已丢失;请把该列设为文本格式后重新填写")


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("r.xlsx", b"", "文件是空的"),
        ("r.csv", b"", "文件是空的"),
        ("r.csv", "小区,楼栋,室号\n国和一村,5号,302\n".encode(), "表头缺少以下列:姓名、证件号码、与户主关系"),
        ("r.csv", ",".join(HEADERS).encode() + b"\n", "表格中没有数据行"),
        ("r.csv", "随便写的一些字\n第二行\n".encode(), "没有找到表头"),
        ("r.csv", b"\x00\x01\x02garbage\x00", "无法识别文件编码"),
        ("r.xlsx", _zip({"readme.txt": "not a workbook"}), "该压缩文件不是Excel(xlsx)文件"),
        ("r.xlsx", _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<bad"}), "无法读取该Excel文件"),
        ("r.xlsx", b"PK\x03\x04 truncated zip", "无法读取该文件"),
        ("r.xlsx", b"plain text named xlsx", "无法读取该文件:文件已损坏或不是xlsx格式"),
        ("r.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持旧版Excel(.xls)文件"),
        ("r.pdf", b"%PDF-1.4 ...", "只能上传Excel(.xlsx)或CSV文件"),
    ],
)
def test_unusable_files_are_refused_with_a_message_and_nothing_is_written(world, staff, name, data, message):
    before = snapshot()
    with pytest.raises(roster.RosterFileError) as caught:
        import_file(staff, world.committee_a1, data, name=name)
    assert message in caught.value.messages[0]
    assert snapshot() == before


def test_an_xlsx_without_the_header_columns(world, staff):
    before = snapshot()
    data = xlsx([{"小区": "国和一村"}], headers=["小区", "楼栋", "室号", "备注"])
    with pytest.raises(roster.RosterFileError, match="表头缺少以下列:姓名、证件号码、与户主关系"):
        import_file(staff, world.committee_a1, data)
    assert snapshot() == before


def test_a_truncated_xlsx_is_refused(world, staff):
    data = xlsx([person() for _ in range(50)])
    before = snapshot()
    with pytest.raises(roster.RosterFileError):
        import_file(staff, world.committee_a1, data[: len(data) // 2])
    assert snapshot() == before


def _with_sheet(body: str) -> bytes:
    """A workbook made by openpyxl whose first sheet's data is replaced by this XML."""
    source = zipfile.ZipFile(io.BytesIO(xlsx([person()])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        f"<sheetData>{body}</sheetData></worksheet>").encode()
            archive.writestr(name, data)
    return buffer.getvalue()


_HEADER_ROW = '<row r="1">' + "".join(
    f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(HEADERS[:10])) + "</row>"


@pytest.mark.parametrize("body", [
    # Two cells far apart: calamine would allocate the whole grid between them (500 GB).
    _HEADER_ROW + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    _HEADER_ROW + '<row r="900000"><c r="ZZ900000"><v>1</v></c></row>',
    _HEADER_ROW + '<row r="2"><c r="A2000000"><v>1</v></c></row>',
    # Cells without references follow the one before them.
    _HEADER_ROW + '<row r="500000"><c r="A500000"><v>1</v></c></row><row>' + "<c><v>1</v></c>" * 40 + "</row>",
])
def test_a_sheet_spanning_too_much_of_the_grid_is_refused_before_it_is_read(world, staff, body):
    before = snapshot()
    with pytest.raises(roster.RosterFileError, match="工作表的范围过大"):
        import_file(staff, world.committee_a1, _with_sheet(body))
    assert snapshot() == before


def test_a_wide_sheet_with_cells_without_references_is_read(world, staff):
    cells = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADERS + ["备注"] * 20)
    row = person(证件号码=new_id())
    values = "".join(f'<c t="inlineStr"><is><t>{row.get(h, "")}</t></is></c>' for h in HEADERS)
    imp = import_file(staff, world.committee_a1, _with_sheet(f"<row>{cells}</row><row>{values}</row>"))
    assert (imp.status, imp.count_new, problems_of(imp)) == (Status.VALIDATED, 1, [])


def test_excel_numbers_dates_and_blank_rows(world, staff):
    wide_headers = HEADERS + [f"备注{n}" for n in range(20)]  # past column Z
    number = new_id()
    rows = [
        person(证件号码=number, 出生日期=dt.date(1985, 3, 4), 手机号=13912345678, 室号=302),
        {},
        person(室号="303", 证件号码=310115198503041024),
        {**person(室号="304", 证件号码=new_id(), 居住状态="外出", 预计返回日期=dt.datetime(2030, 1, 2, 8, 0)),
         "备注19": "x"},
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows, headers=wide_headers))
    assert [(r, c) for r, c, _m in problems_of(imp)] == [(4, "证件号码")]
    assert "证件号码被Excel存成了数字" in problems_of(imp)[0][2]
    assert (imp.rows_total, imp.count_new) == (3, 2)


@override_settings(ROSTER_MAX_UPLOAD_BYTES=2000)
def test_an_oversized_file_is_refused_before_it_is_read(world, staff):
    before = snapshot()
    with pytest.raises(roster.RosterFileError, match="文件过大"):
        import_file(staff, world.committee_a1, xlsx([person()]))
    assert snapshot() == before


@override_settings(ROSTER_MAX_ROWS=2)
def test_too_many_rows_are_refused_and_nothing_is_written(world, staff):
    before = snapshot()
    with pytest.raises(roster.RosterFileError, match="一次最多导入 2 行"):
        import_file(staff, world.committee_a1, csv_bytes([person(室号=str(n)) for n in range(3)]), name="r.csv")
    assert snapshot() == before


# --- all or nothing --------------------------------------------------------------------------


def test_a_failed_write_rolls_back_the_whole_commit(world, staff, monkeypatch):
    imp = import_file(staff, world.committee_a1, xlsx([person(标签="孕妇"), person(室号="9", 证件号码=new_id())]))
    before = snapshot()
    real_insert = plan._insert

    def failing_insert(model, *args, **kwargs):
        if model is ResidentTag:
            raise IntegrityError("simulated")
        return real_insert(model, *args, **kwargs)

    monkeypatch.setattr(plan, "_insert", failing_insert)
    imp = roster.roster_import_commit(actor=staff, roster_import=imp)
    assert imp.status == Status.FAILED and "未写入任何数据" in imp.error
    assert imp.payload == ""
    after = snapshot()
    for key in ("residents", "households", "tags"):
        assert after[key] == before[key]
    assert not AuditEvent.objects.filter(action="roster_import_commit").exists()


def test_a_number_registered_elsewhere_after_the_preview_fails_the_commit(world, staff):
    number = new_id()
    imp = import_file(staff, world.committee_a1, xlsx([person(证件号码=number), person(室号="9", 证件号码=new_id())]))
    elsewhere = make_resident(world.household_b1, "后来者")
    Resident.objects.filter(pk=elsewhere.pk).update(**identity_fields("resident_id", number))
    before = snapshot()
    imp = roster.roster_import_commit(actor=staff, roster_import=imp)
    assert imp.status == Status.FAILED
    after = snapshot()
    for key in ("residents", "households", "tags"):
        assert after[key] == before[key]


def test_a_building_removed_after_the_preview_refuses_the_commit(world, staff):
    building = OrgUnit.objects.create(kind="building", name="7号", parent=world.compound_a1)
    imp = import_file(staff, world.committee_a1, xlsx([person(楼栋="7号")]))
    assert problems_of(imp) == []
    building.delete()
    imp = roster.roster_import_commit(actor=staff, roster_import=imp)
    assert imp.status == Status.VALIDATED and imp.count_problem_rows == 1
    assert problems_of(imp) == [(2, "楼栋", "该楼栋已不存在")]
    assert not Resident.objects.filter(name="陈新").exists()


def test_an_import_is_committed_once(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person()]))
    roster.roster_import_commit(actor=staff, roster_import=imp)
    with pytest.raises(ValidationError):
        roster.roster_import_commit(actor=staff, roster_import=imp)
    assert Resident.objects.filter(name="陈新").count() == 1


def test_a_discarded_import_cannot_be_committed(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person()]))
    imp = roster.roster_import_discard(actor=staff, roster_import=imp)
    assert (imp.status, imp.get_status_display(), imp.payload, imp.error) == (Status.DISCARDED, "已放弃", "", "")
    with pytest.raises(ValidationError):
        roster.roster_import_commit(actor=staff, roster_import=imp)
    assert not Resident.objects.filter(name="陈新").exists()


# --- who may import where --------------------------------------------------------------------


def test_a_street_officer_imports_for_one_of_their_committees(world):
    officer = acting(world.street_officer)
    imp = import_file(officer, world.committee_a2, xlsx([person(小区="国和二村", 楼栋="12号")]))
    roster.roster_import_commit(actor=officer, roster_import=imp)
    assert Resident.objects.get(name="陈新").committee_id == world.committee_a2.pk
    assert list(roster.importable_committees(officer)) == [world.committee_a1, world.committee_a2]


@pytest.mark.parametrize("who", ["staff_a2", "street_officer_b", "district_officer", "grid_worker", "volunteer",
                                 "no_role"])
def test_others_cannot_import_into_the_committee(world, who):
    actor = acting(getattr(world, who))
    before = snapshot()
    with pytest.raises(PermissionDenied):
        import_file(actor, world.committee_a1, xlsx([person()]))
    assert snapshot() == before


def test_others_cannot_commit_or_discard_the_committees_import(world, staff):
    imp = import_file(staff, world.committee_a1, xlsx([person()]))
    before = snapshot()
    for who in ("staff_a2", "street_officer_b", "grid_worker"):
        actor = acting(getattr(world, who))
        with pytest.raises(PermissionDenied):
            roster.roster_import_commit(actor=actor, roster_import=imp)
        with pytest.raises(PermissionDenied):
            roster.roster_import_discard(actor=actor, roster_import=imp)
    assert snapshot() == before
    imp.refresh_from_db()
    assert imp.status == Status.VALIDATED
    assert list(RosterImport.objects.visible_to(acting(world.staff_a2))) == []
    assert list(RosterImport.objects.visible_to(acting(world.street_officer))) == [imp]


def test_only_a_committee_can_be_imported_into(world):
    with pytest.raises(PermissionDenied):
        import_file(acting(world.street_officer), world.compound_a1, xlsx([person()]))


def test_a_number_typed_into_another_column_is_masked_in_the_message(world, staff):
    number = new_id()
    imp = import_file(staff, world.committee_a1, xlsx([person(标签=number)]))
    [(_row, column, message)] = problems_of(imp)
    assert column == "标签" and number not in message and mask_identity(number) in message


def test_a_quote_typed_before_the_number_in_a_csv_is_dropped(world, staff):
    number = new_id()
    imp = import_file(staff, world.committee_a1, csv_bytes([person(证件号码="'" + number)]), name="r.csv")
    assert problems_of(imp) == []
    roster.roster_import_commit(actor=staff, roster_import=imp)
    assert Resident.objects.filter(id_hash=identity_hash("resident_id", number)).exists()
