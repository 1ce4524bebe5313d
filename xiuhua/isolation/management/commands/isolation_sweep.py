"""`manage.py isolation_sweep`: queue the check-in SMS of contacts now due, mark contacts past
their grace time as missed and raise the alerts for two in a row. Run every 5 minutes (cron or a
systemd timer)."""

from django.core.management.base import BaseCommand

from xiuhua.isolation.services import contacts_sweep
from xiuhua.isolation.sms_checkin import send_due_checkins


class Command(BaseCommand):
    help = "Mark overdue isolation contacts as missed and raise alerts."

    def handle(self, *args, **options):
        sent = send_due_checkins()
        self.stdout.write(f"check-ins sent: {sent}; missed: {contacts_sweep()}")
