from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "xiuhua.residents"
    label = "residents"
    verbose_name = "居民"

    def ready(self) -> None:
        from xiuhua.core.registry import Sweep, register

        register(Sweep("prune_rosters", every=24 * 3600))
