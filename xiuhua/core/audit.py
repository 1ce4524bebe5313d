from typing import Any

from .models import AuditEvent


def audit(
    *,
    actor,
    action: str,
    obj: Any = None,
    committee_id: int | None = None,
    subject_label: str = "",
    reason: str = "",
    personal: bool = False,
    detail: dict | None = None,
) -> AuditEvent:
    """Record one event; call it inside the service's transaction so both land or neither."""
    membership = getattr(actor, "active_membership", None) if actor else None
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_role=membership.role if membership else "",
        action=action,
        personal=personal,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        committee_id=committee_id,
        subject_label=subject_label[:200],
        reason=reason[:200],
        detail=detail or {},
    )
