"""Every view declares who may call it. A test walks all URLs and fails on a view without."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .scoping import active_membership

POLICY_ATTR = "xiuhua_policy"


def public(view: Callable) -> Callable:
    """Open to anyone, logged in or not (login page, language switch, health check)."""
    setattr(view, POLICY_ATTR, "public")
    return view


def logged_in(view: Callable) -> Callable:
    """Any logged-in user, with or without a membership (home, membership switch)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    setattr(wrapped, POLICY_ATTR, "logged_in")
    return wrapped


def requires(*caps: str) -> Callable[[Callable], Callable]:
    """A logged-in user whose active membership holds the capability (any one of several)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = active_membership(request.user)
            if membership is None or not any(membership.has(cap) for cap in caps):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        setattr(wrapped, POLICY_ATTR, "requires:" + "|".join(caps))
        return wrapped

    return decorate
