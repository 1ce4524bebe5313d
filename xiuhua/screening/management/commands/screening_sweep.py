"""`manage.py screening_sweep`: tell the street about tubes still without a result long after
sampling (each tube once). Run every 5 minutes (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.screening.services_results import results_overdue_alert


class Command(BaseCommand):
    help = "Alert the street about screening tubes without a result after the round's alert hours."

    def handle(self, *args, **options):
        self.stdout.write(f"tubes newly overdue: {results_overdue_alert()}")
