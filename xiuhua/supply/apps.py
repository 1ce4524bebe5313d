from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupplyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.supply"
    verbose_name = _("团购与保供")

    def ready(self) -> None:
        # Overdue loans on core's first page; demo donations, loans and stock in seed_demo.
        from xiuhua.core import registry

        from . import parts_stock

        registry.register(parts_stock.HOME, parts_stock.DEMO)
