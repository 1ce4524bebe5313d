from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IsolationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.isolation"
    verbose_name = _("来沪人员与居家隔离")

    def ready(self) -> None:
        # Replies to the check-in SMS: a temperature, maybe symptoms (grammar in sms_checkin).
        from xiuhua.core import registry

        from . import parts
        from .sms_checkin import register

        register()
        # Its waiting work on core's first page, its demo cases in seed_demo.
        registry.register(parts.HOME, parts.DEMO, parts.PERSON)
