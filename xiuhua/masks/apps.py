from django.apps import AppConfig


class MasksConfig(AppConfig):
    name = "xiuhua.masks"
    label = "masks"
    verbose_name = "口罩预约"

    def ready(self) -> None:
        # SMS keyword 口罩 / KZ: residents reserve by text message (grammar in sms_channel).
        from xiuhua.core import registry

        from . import parts
        from .sms_channel import register

        register()
        # Its demo pharmacies, clerk and round in seed_demo; the household's reservations on the
        # person page; voucher expiry among the periodic sweeps.
        registry.register(parts.DEMO, parts.PERSON, parts.SWEEP)
