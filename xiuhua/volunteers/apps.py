from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.volunteers"
    verbose_name = _("志愿者与互助")

    def ready(self) -> None:
        from xiuhua.core.registry import register

        from . import parts, parts_aid

        # Volunteers and duty tables; mutual aid: first-page counts, demo, the widening sweep.
        register(parts.HOME, parts.DEMO, parts.SWEEP, *parts_aid.PARTS)
