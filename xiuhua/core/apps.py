from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xiuhua.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from . import lookups  # noqa: F401 - registers the lookup alert's SMS template
