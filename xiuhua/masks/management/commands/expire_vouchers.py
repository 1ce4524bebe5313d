"""Periodic job (cron / systemd timer, e.g. every 10 minutes): expire overdue vouchers and give
their masks to the next in line."""

from django.core.management.base import BaseCommand

from xiuhua.masks.services import vouchers_expire


class Command(BaseCommand):
    help = "Expire issued vouchers past their expiry and issue the returned masks to the next in line."

    def handle(self, *args, **options):
        count = vouchers_expire()
        self.stdout.write(f"expired={count}")
