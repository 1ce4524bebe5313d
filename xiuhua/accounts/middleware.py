from django.shortcuts import redirect
from django.urls import reverse

from .selectors import memberships_of

SESSION_KEY = "active_membership_id"


class ActiveMembershipMiddleware:
    """Puts the membership the user is acting through on request.user.

    The choice is kept in the session; without one the user's first membership is used.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            memberships = memberships_of(user)
            wanted = request.session.get(SESSION_KEY)
            chosen = next((m for m in memberships if m.pk == wanted), None)
            if chosen is None and memberships:
                chosen = memberships[0]
            user.active_membership = chosen
            user.all_memberships = memberships
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """A user whose initial password was chosen by someone else changes it before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = {reverse("accounts:password_change"), reverse("accounts:logout")}
            if request.path not in allowed and not request.path.startswith(("/static/", "/i18n/")):
                return redirect("accounts:password_change")
        return self.get_response(request)
