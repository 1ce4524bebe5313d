"""`manage.py volunteer_duty_sms`: from 20:00 Beijing time, text every volunteer their shifts of
the next day, once per volunteer and day. Run every 10 minutes (run_periodic does)."""

from django.core.management.base import BaseCommand

from xiuhua.volunteers.services import duty_texts_send


class Command(BaseCommand):
    help = "Text volunteers their next-day shifts in the evening (once per volunteer and day)."

    def handle(self, *args, **options):
        self.stdout.write(f"volunteer duty texts queued: {duty_texts_send()}")
