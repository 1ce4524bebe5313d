"""`manage.py tickets_sweep`: flag work orders near or past their deadline and queue the
reminders (handlers, then the department head, then the street). Run every 5 minutes (cron or a
systemd timer); the task worker sends the messages. Also forgets door requests' hashed client
addresses after a day."""

from django.core.management.base import BaseCommand

from xiuhua.tickets.escalation import tickets_escalate
from xiuhua.tickets.views_public import client_hashes_prune


class Command(BaseCommand):
    help = "Escalate work orders near or past their deadline."

    def handle(self, *args, **options):
        counts = tickets_escalate()
        counts["addresses_forgotten"] = client_hashes_prune()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
