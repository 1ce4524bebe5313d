from django.apps import AppConfig


class MasksConfig(AppConfig):
    name = "xiuhua.masks"
    label = "masks"
    verbose_name = "口罩预约"
