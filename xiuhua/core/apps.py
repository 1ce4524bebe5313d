from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


class CoreConfig(AppConfig):
    name = "xiuhua.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules
        from PIL import Image

        from . import lookups  # noqa: F401 - registers the lookup alert's SMS template
        from .images import MAX_PIXELS

        # Pillow's own guard (by default 89 megapixels, refusing only past 179) at ours.
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS

        # Each app declares its state tables in workflows.py (core.workflow); load them all, so
        # that the registry is whole before the first move and the guard test sees every field.
        autodiscover_modules("workflows")

        from .registry import Sweep, register

        register(Sweep("prune_rate_counters", every=24 * 3600))

        checks.register(check_pdf_font)


def check_pdf_font(app_configs=None, **kwargs):
    """Printed sheets embed a CJK font the install brings (core.pdf); say so before a print fails."""
    from .pdf import font_file

    try:
        font_file()
    except ImproperlyConfigured as exc:
        return [checks.Warning(str(exc), hint="apt install fonts-wqy-zenhei", id="core.W001")]
    return []
