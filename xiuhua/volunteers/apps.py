from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.volunteers"
    verbose_name = _("志愿者与互助")

    def ready(self) -> None:
        from xiuhua.core import registry

        from . import parts_aid

        registry.register(*parts_aid.PARTS)  # mutual aid: first-page counts, demo, widening sweep
