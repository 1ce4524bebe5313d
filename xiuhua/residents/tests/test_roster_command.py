"""manage.py import_roster: the same checks and commit as the page, as the system."""

import io

import pytest
from django.core.management import CommandError, call_command

from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Resident, RosterImport

from .test_roster_fixtures import csv_bytes, new_id, person, snapshot, xlsx

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_roster", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(xlsx([person(姓名="命令导入"), person(姓名="命令导入二", 室号="502", 证件号码=new_id())]))
    return path


def test_a_dry_run_reports_and_writes_nothing(world, good_file):
    before = snapshot()
    out = run(str(good_file), "--committee", world.committee_a1.code, "--dry-run")
    assert "新增 2 人,更新 0 人,无变化 0 人,有问题 0 行" in out
    assert "未写入任何数据" in out
    assert snapshot() == before


def test_a_dry_run_with_problems_prints_them_and_exits_non_zero(world, tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes([person(), person(姓名="", 室号="9"), person(手机号="123", 室号="10")], encoding="gbk"))
    before = snapshot()
    out = io.StringIO()
    with pytest.raises(CommandError, match="有 2 行存在问题") as caught:
        call_command("import_roster", str(path), "--committee", world.committee_a1.code, "--dry-run", stdout=out)
    assert caught.value.returncode == 2
    assert "第3行 [姓名] 请填写姓名" in out.getvalue()
    assert "第4行 [手机号] 手机号码格式不正确" in out.getvalue()
    assert snapshot() == before


def test_an_import_commits_as_the_system(world, good_file):
    out = run(str(good_file), "--committee", world.committee_a1.code)
    assert "已导入" in out and "新增 2 人" in out
    assert Resident.objects.filter(name__startswith="命令导入", committee=world.committee_a1).count() == 2
    imp = RosterImport.objects.get()
    assert (imp.status, imp.uploaded_by, imp.payload) == (RosterImport.Status.COMMITTED, None, "")
    event = AuditEvent.objects.get(action="roster_import_commit")
    assert (event.actor, event.actor_role, event.committee_id) == (None, "", world.committee_a1.pk)
    # The same file again: every row unchanged.
    assert "新增 0 人,更新 0 人,无变化 2 人" in run(str(good_file), "--committee", world.committee_a1.code)


def test_an_import_with_problems_writes_nothing(world, tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(xlsx([person(), person(证件号码=world.resident_b1.plain_id, 出生日期="1980-05-17")]))
    before = snapshot()
    with pytest.raises(CommandError) as caught:
        run(str(path), "--committee", world.committee_a1.code)
    assert caught.value.returncode == 2
    after = snapshot()
    assert after["residents"] == before["residents"] and after["households"] == before["households"]


def test_unknown_committee_and_unusable_files(world, tmp_path, good_file):
    with pytest.raises(CommandError, match="没有区划代码为 999999999999 的居委会"):
        run(str(good_file), "--committee", "999999999999")
    with pytest.raises(CommandError, match="没有区划代码"):
        run(str(good_file), "--committee", world.street_a.code)
    with pytest.raises(CommandError, match="找不到文件"):
        run(str(tmp_path / "missing.xlsx"), "--committee", world.committee_a1.code)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 broken")
    before = snapshot()
    with pytest.raises(CommandError, match="无法读取该文件") as caught:
        run(str(broken), "--committee", world.committee_a1.code)
    assert caught.value.returncode == 1
    assert snapshot() == before
