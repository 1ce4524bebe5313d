from .models import Membership


def memberships_of(user) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).current()
        .select_related("org_unit", "grid")
        .order_by("temporary", "org_unit__path", "role")  # standing memberships first: the default one
    )


def personal_data_events(user):
    """Reveals and exports of personal data in the committees the user's membership covers, and
    every action taken there through a temporary membership (AB角临时代管, 第二书记)."""
    from django.db.models import Q

    from xiuhua.core.models import AuditEvent
    from xiuhua.core.scoping import active_membership, unit_scope_q

    membership = active_membership(user)
    if membership is None or not membership.has("view_audit"):
        return AuditEvent.objects.none()
    scope = unit_scope_q(membership, committee="committee", building=None, grid=None, micro_grid=None)
    return (
        AuditEvent.objects.filter(Q(personal=True) | ~Q(via_temporary=""))
        .filter(scope)
        .select_related("actor", "committee")
        .order_by("-at", "-pk")
    )
