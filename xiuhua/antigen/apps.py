from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AntigenConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.antigen"
    verbose_name = _("抗原自测")

    def ready(self) -> None:
        # Results by SMS keyword (grammar in sms_report), the texts' templates and purposes, and
        # what core's first page, demo and run_periodic take from this module.
        from xiuhua.core import registry

        from . import notify, parts  # noqa: F401  # notify: its SMS templates and purposes
        from .sms_report import register

        register()
        registry.register(parts.HOME, parts.DEMO, parts.SWEEP)
