from django.apps import AppConfig
from django.core import checks


class SmsConfig(AppConfig):
    name = "xiuhua.sms"
    label = "sms"
    verbose_name = "短信"

    def ready(self) -> None:
        from .handlers import register_builtin_handlers

        register_builtin_handlers()
        checks.register(check_provider_settings)
        from xiuhua.core.registry import Sweep, register

        # Every minute: a message a dead worker left "sending" is settled 40 s after its claim
        # (services.reconcile_after), and a retry due now should not wait five minutes.
        register(Sweep("sms_sweep", every=60))


def check_provider_settings(app_configs=None, **kwargs):
    """The HTTP provider backend needs its URL, keys and sign name; webhooks need a secret."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    errors = []
    try:
        backend = import_string(settings.SMS_BACKEND)
    except ImportError:
        return [checks.Error(f"SMS_BACKEND {settings.SMS_BACKEND!r} cannot be imported", id="sms.E001")]
    from .backends import HttpProviderBackend

    if issubclass(backend, HttpProviderBackend):
        missing = [
            name
            for name in ("SMS_PROVIDER_URL", "SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME",
                         "SMS_WEBHOOK_SECRET")
            if not getattr(settings, name, "")
        ]
        if missing:
            errors.append(
                checks.Error(f"SMS_BACKEND is the HTTP provider but {', '.join(missing)} not set", id="sms.E002")
            )
    return errors
