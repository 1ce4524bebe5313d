"""`manage.py antigen_sweep`: text the households not yet reported today once their committee's
reminder hour has come (each household once a day). Run every 5 minutes (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.antigen.services import antigen_remind


class Command(BaseCommand):
    help = "Queue the daily antigen reminder SMS of committees whose reminder hour has come."

    def handle(self, *args, **options):
        self.stdout.write(f"antigen reminders queued: {antigen_remind()}")
