"""Import a roster file for one committee, as the system (the same checks and commit as the page).

    python manage.py import_roster 花名册.xlsx --committee 310110012001 [--dry-run]

Exit status: 0 imported (or, with --dry-run, no problems); 2 rows with problems (nothing
written); 1 the file or the committee cannot be used.
"""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents import roster
from xiuhua.residents.models import RosterImport


class Command(BaseCommand):
    help = "Import a roster (花名册) xlsx/CSV file into one committee, all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx or .csv file")
        parser.add_argument("--committee", required=True, help="the committee's 12-digit division code")
        parser.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")

    def handle(self, *args, **options):
        code = options["committee"].strip()
        committee = OrgUnit.objects.filter(kind=Kind.COMMITTEE, code=code).first()
        if committee is None:
            raise CommandError(_("没有区划代码为 %(code)s 的居委会") % {"code": code})
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("找不到文件:%(path)s") % {"path": path})

        if options["dry_run"]:
            # The same code path as a real import, rolled back: the database is left as it was.
            with transaction.atomic():
                roster_import = self._validate(committee, path)
                self._report(roster_import)
                transaction.set_rollback(True)
            self.stdout.write(_("检查完毕,没有发现问题(未写入任何数据)"))
            return

        roster_import = self._validate(committee, path)
        self._report(roster_import)
        roster_import = roster.roster_import_commit(actor=None, roster_import=roster_import, background=False)
        if roster_import.status != RosterImport.Status.COMMITTED:
            self._report(roster_import)
            raise CommandError(roster_import.error or _("导入未完成"), returncode=2)
        self._counts(roster_import)
        self.stdout.write(self.style.SUCCESS(_("已导入")))

    def _report(self, roster_import: RosterImport) -> None:
        """Print the problems and counts; raise CommandError when the import cannot go on."""
        if roster_import.status == RosterImport.Status.FAILED:
            raise CommandError(roster_import.error, returncode=1)
        problems = list(roster_import.problems.all())
        for problem in problems:
            self.stdout.write(
                _("第%(row)d行 [%(column)s] %(message)s")
                % {"row": problem.row, "column": problem.column_label, "message": problem.text}
            )
        self._counts(roster_import)
        if problems:
            n = roster_import.count_problem_rows
            raise CommandError(
                ngettext("有 %(n)d 行存在问题,未写入任何数据", "有 %(n)d 行存在问题,未写入任何数据", n) % {"n": n},
                returncode=2,
            )

    def _validate(self, committee, path: Path) -> RosterImport:
        try:
            with path.open("rb") as handle:
                return roster.roster_import_upload(
                    actor=None, committee=committee, uploaded_file=File(handle, name=path.name),
                    background=False,
                )
        except roster.RosterFileError as exc:
            raise CommandError(exc.messages[0], returncode=1) from None

    def _counts(self, roster_import: RosterImport) -> None:
        self.stdout.write(
            ngettext(
                "新增 %(new)d 人,更新 %(updated)d 人,无变化 %(unchanged)d 人,有问题 %(problems)d 行",
                "新增 %(new)d 人,更新 %(updated)d 人,无变化 %(unchanged)d 人,有问题 %(problems)d 行",
                roster_import.count_problem_rows,
            )
            % {
                "new": roster_import.count_new, "updated": roster_import.count_updated,
                "unchanged": roster_import.count_unchanged, "problems": roster_import.count_problem_rows,
            }
        )
