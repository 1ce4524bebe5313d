"""`manage.py groupbuy_orders_sweep`: close the group-buy polls and offers whose closing time has
come (the winner of a poll is kept). Run every minute (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.supply.services_orders import sweep_due


class Command(BaseCommand):
    help = "Close group-buy polls and offers at their closing time."

    def handle(self, *args, **options):
        polls, offers = sweep_due()
        self.stdout.write(f"group-buy polls closed: {polls}; offers closed: {offers}")
