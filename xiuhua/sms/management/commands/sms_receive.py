"""Play an inbound SMS, as if the provider had pushed it: stored, dispatched, reply queued."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.sms.models import InboundSms
from xiuhua.sms.services import inbound_receive, simulated_message_id


class Command(BaseCommand):
    help = "Simulate an inbound SMS: PHONE TEXT. Prints the reply."

    def add_arguments(self, parser):
        parser.add_argument("phone")
        parser.add_argument("text")

    def handle(self, *args, phone: str, text: str, **options):
        try:
            phone = normalise_mobile(phone)
        except PhoneError as exc:
            raise CommandError(str(exc)) from None
        if not phone or not text.strip():
            raise CommandError("PHONE and TEXT are required")
        inbound = inbound_receive(
            phone=phone,
            text=text,
            provider_message_id=simulated_message_id(),
            received_at=timezone.now(),
            source=InboundSms.Source.SIMULATED,
        )
        assert inbound is not None
        if inbound.reply:
            self.stdout.write(inbound.reply)
        else:
            self.stdout.write(f"({inbound.get_status_display()}, no reply)")
        if inbound.status == InboundSms.Status.ERROR:
            raise CommandError(f"handler failed: {inbound.error}")
