from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.screening"
    verbose_name = _("核酸筛查")

    def ready(self) -> None:
        from xiuhua.core.registry import Sweep, register

        from . import (  # noqa: F401  # notify and texts: their SMS templates and purposes
            notify,
            parts,
            texts,
        )

        register(parts.HOME, parts.DEMO, Sweep("screening_sweep", every=5 * 60))
