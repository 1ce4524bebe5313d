"""`manage.py zones_sweep`: walk every sealed and controlled zone's clock to today, so zones step
down on their day (and as soon as their test day's results are in). Run hourly (run_periodic
does); walking twice in a day changes nothing."""

from django.core.management.base import BaseCommand

from xiuhua.zones.services import zones_advance


class Command(BaseCommand):
    help = "Step sealed and controlled zones down whose days are over, under the rule in force each day."

    def handle(self, *args, **options):
        self.stdout.write(f"zone steps taken: {zones_advance()}")
