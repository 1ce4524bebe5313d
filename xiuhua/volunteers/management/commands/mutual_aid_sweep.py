"""`manage.py mutual_aid_sweep`: widen mutual-aid requests left unclaimed for the street's minutes
to the next ring (texting the street's officers), close A/B covers past their end and mark
temporary memberships past their end inactive. Run every
minute (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.volunteers.services_aid import covers_expire, requests_widen, temporary_memberships_close


class Command(BaseCommand):
    help = "Widen unclaimed mutual-aid requests and close A/B covers past their end."

    def handle(self, *args, **options):
        widened, ended = requests_widen(), covers_expire()
        closed = temporary_memberships_close()
        self.stdout.write(f"mutual-aid requests widened: {widened}; covers ended: {ended}; "
                          f"temporary memberships closed: {closed}")
