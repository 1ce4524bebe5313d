from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xiuhua.core"
    label = "core"
    verbose_name = "核心"
