from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZonesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.zones"
    verbose_name = _("风险区域")

    def ready(self) -> None:
        from xiuhua.core.registry import Sweep, register

        from . import parts, workflows  # noqa: F401  # workflows: the zone's and the rule's state tables

        register(parts.HOME, parts.DEMO, Sweep("zones_sweep", every=60 * 60))
