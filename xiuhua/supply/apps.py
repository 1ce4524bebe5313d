from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupplyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "xiuhua.supply"
    verbose_name = _("团购与保供")

    def ready(self) -> None:
        # Group buying's first-page counts, demo data and escalation sweep; overdue loans on the first
        # page and demo donations, loans and stock (core.registry).
        from xiuhua.core import registry

        from . import parts_delivery, parts_groupbuy, parts_orders, parts_stock

        registry.register(parts_groupbuy.HOME, parts_groupbuy.DEMO, parts_groupbuy.SWEEP, parts_stock.HOME,
                          parts_stock.DEMO, *parts_orders.PARTS, *parts_delivery.PARTS)
