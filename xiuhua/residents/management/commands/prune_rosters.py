"""Prune what roster imports and exports leave behind; run daily (cron or a systemd timer).

    python manage.py prune_rosters

Deletes the encrypted data of imports not committed within 7 days, marks imports stuck for
more than 2 hours as failed, and deletes export files not downloaded within 24 hours or
already downloaded. See xiuhua.residents.roster.prune.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from xiuhua.residents import roster


class Command(BaseCommand):
    help = "Delete expired roster import data and export files; fail stuck imports."

    def handle(self, *args, **options):
        result = roster.roster_prune()
        for message, count in (
            (ngettext("%(n)d 个导入超过7天未确认,已删除其数据", "%(n)d 个导入超过7天未确认,已删除其数据",
                      result.imports_expired), result.imports_expired),
            (ngettext("%(n)d 个导入处理超过2小时未完成,已标记为失败", "%(n)d 个导入处理超过2小时未完成,已标记为失败",
                      result.imports_failed), result.imports_failed),
            (ngettext("已删除 %(n)d 个导出文件", "已删除 %(n)d 个导出文件", result.export_files_deleted),
             result.export_files_deleted),
        ):
            self.stdout.write(message % {"n": count})
