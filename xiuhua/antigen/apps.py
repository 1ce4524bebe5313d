from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AntigenConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.antigen"
    verbose_name = _("抗原自测")
