from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.tracing"
    verbose_name = _("大数据清单")
