from .models import Membership


def memberships_of(user) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user, active=True)
        .select_related("org_unit", "grid")
        .order_by("org_unit__path", "role")
    )


def personal_data_events(user):
    """Reveals and exports of personal data in the committees the user's membership covers."""
    from xiuhua.core.models import AuditEvent
    from xiuhua.core.scoping import active_membership, unit_scope_q

    membership = active_membership(user)
    if membership is None or not membership.has("view_audit"):
        return AuditEvent.objects.none()
    scope = unit_scope_q(membership, committee="committee", building=None, grid=None, micro_grid=None)
    return (
        AuditEvent.objects.filter(personal=True)
        .filter(scope)
        .select_related("actor", "committee")
        .order_by("-at", "-pk")
    )
