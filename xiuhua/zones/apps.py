from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZonesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.zones"
    verbose_name = _("风险区域")

    def ready(self) -> None:
        from . import workflows  # noqa: F401  # the zone's and the rule's state tables
