from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.tickets"
    verbose_name = _("紧急关怀与工单")

    def ready(self) -> None:
        from xiuhua.core import registry

        from . import parts
        from .sms_help import register

        register()
        # Its waiting work on core's first page (urgent requests first), its demo orders and accounts
        # in seed_demo, its orders on the person page.
        registry.register(parts.URGENT, parts.HOME, parts.DEMO, parts.PERSON)
