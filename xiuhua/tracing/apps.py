from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.tracing"
    verbose_name = _("大数据清单")

    def ready(self) -> None:
        from xiuhua.core import registry

        from . import parts

        # Its waiting work on core's first page, its demo list in seed_demo.
        registry.register(parts.HOME, parts.DEMO, parts.PERSON)
