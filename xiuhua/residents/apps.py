from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "xiuhua.residents"
    label = "residents"
    verbose_name = "居民"
