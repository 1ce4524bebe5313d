"""`manage.py mutual_aid_sweep`: widen mutual-aid requests left unclaimed for the street's minutes
to the next ring (texting the street's officers), and close A/B covers past their end. Run every
minute (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.volunteers.services_aid import covers_expire, requests_widen


class Command(BaseCommand):
    help = "Widen unclaimed mutual-aid requests and close A/B covers past their end."

    def handle(self, *args, **options):
        self.stdout.write(f"mutual-aid requests widened: {requests_widen()}; covers ended: {covers_expire()}")
