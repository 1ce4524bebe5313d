"""`manage.py groupbuy_sweep`: text the committee's staff once about each group-buy filing left
unanswered for two hours. Run every 5 minutes (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.supply.services import filings_escalate


class Command(BaseCommand):
    help = "Escalate group-buy filings unanswered for two hours to the committee's staff."

    def handle(self, *args, **options):
        self.stdout.write(f"group-buy filings escalated: {filings_escalate()}")
