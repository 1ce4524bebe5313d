"""Reads for the staff page, scoped by committee (messages without one are on no page)."""

from .models import DevDelivery, InboundSms, OutboundSms

PAGE_ROWS = 100


def outbox(user, *, status: str = "", limit: int = PAGE_ROWS) -> list[OutboundSms]:
    rows = OutboundSms.objects.visible_to(user).select_related("committee")
    if status:
        rows = rows.filter(status=status)
    return list(rows.order_by("-created_at", "-pk")[:limit])


def inbox(user, *, limit: int = 50) -> list[InboundSms]:
    return list(InboundSms.objects.visible_to(user).select_related("committee").order_by("-received_at", "-pk")[:limit])


def dev_deliveries(*, limit: int = PAGE_ROWS) -> list[DevDelivery]:
    """The dev backend's stand-in handset, newest first (system administrator, dev backend)."""
    return list(DevDelivery.objects.order_by("-delivered_at", "-pk")[:limit])


def any_queued(*, purpose: str, key_prefix: str) -> bool:
    """Whether a text of this purpose whose idempotency key starts so was ever queued (whatever
    became of it): how an app asks "were people already told?"."""
    return OutboundSms.objects.filter(purpose=purpose, idempotency_key__startswith=key_prefix).exists()
