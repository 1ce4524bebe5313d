def active_membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .menu import menu_for
    from .roles import ROLE_CAPS

    membership = getattr(user, "active_membership", None)
    return {
        "caps": ROLE_CAPS.get(membership.role, frozenset()) if membership else frozenset(),
        "menu": menu_for(membership.role if membership else None),
        "membership": membership,
        "memberships": getattr(user, "all_memberships", []),
    }
