import io
import signal
from collections.abc import Callable, Iterator

import pytest
from django.core.management import call_command

from xiuhua.sms import handlers

from .fake_provider import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, FakeProvider


@pytest.fixture
def fake_provider():
    provider = FakeProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(fake_provider, settings):
    """The HTTP backend pointed at the fake provider."""
    settings.SMS_BACKEND = "xiuhua.sms.backends.HttpProviderBackend"
    settings.SMS_PROVIDER_URL = fake_provider.url
    settings.SMS_ACCESS_KEY_ID = KEY_ID
    settings.SMS_ACCESS_KEY_SECRET = KEY_SECRET
    settings.SMS_SIGN_NAME = "绣花针"
    settings.SMS_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SMS_PROVIDER_TIMEOUT = 5
    return fake_provider


@pytest.fixture
def webhook_secret(settings):
    settings.SMS_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


@pytest.fixture
def dev_backend(settings):
    settings.SMS_BACKEND = "xiuhua.sms.backends.DevBackend"
    settings.SMS_SIGN_NAME = "绣花针"


@pytest.fixture
def worker():
    """Runs the real worker until nothing is ready, as `manage.py db_worker --batch` does."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}

    def run() -> str:
        out = io.StringIO()
        call_command("db_worker", "--batch", "--no-startup-delay", stdout=out, stderr=io.StringIO())
        return out.getvalue()

    yield run
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def inbound_handler() -> Iterator[Callable[..., handlers.InboundHandler]]:
    """Register handlers for one test only."""
    added: list[str] = []

    def register(pattern: str, handler, **kwargs) -> handlers.InboundHandler:
        entry = handlers.register_inbound_handler(pattern, handler, **kwargs)
        added.append(pattern)
        return entry

    yield register
    for pattern in added:
        handlers.unregister_inbound_handler(pattern)
