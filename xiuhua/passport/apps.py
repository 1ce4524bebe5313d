"""The micro-grid passport (家园护照): four stamps per household and period, coverage per micro-grid."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PassportConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.passport"
    verbose_name = _("家园护照")

    def ready(self) -> None:
        from xiuhua.core.registry import register

        from . import parts

        register(parts.HOME, parts.DEMO)
