from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xiuhua.core.audit import event_label, reason_label, role_label
from xiuhua.core.policy import logged_in, public, requires

from .middleware import SESSION_KEY
from .roles import Cap
from .selectors import personal_data_events


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


login_view = public(LoginView.as_view())
logout_view = public(auth_views.LogoutView.as_view())


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; clears the "must change the initial password" flag."""

    template_name = "accounts/password_change.html"
    success_url = "/"

    def form_valid(self, form):
        response = super().form_valid(form)
        if self.request.user.must_change_password:
            self.request.user.must_change_password = False
            self.request.user.save(update_fields=["must_change_password"])
        messages.success(self.request, _("密码已修改"))
        return response


password_change = logged_in(PasswordChangeView.as_view())


@logged_in
@require_POST
def switch_membership(request):
    wanted = request.POST.get("membership", "")
    chosen = next((m for m in request.user.all_memberships if str(m.pk) == wanted), None)
    if chosen is None:
        messages.error(request, _("无法切换到该身份"))
    else:
        request.session[SESSION_KEY] = chosen.pk
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    return redirect(target)


@requires(Cap.VIEW_AUDIT)
def audit_log(request):
    events = personal_data_events(request.user)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    for event in page:  # codes as the user's words: the role, the kind of event, a lookup's purpose
        event.role_label = role_label(event.actor_role)
        event.action_label = event_label(event.action)
        event.reason_label = reason_label(event.reason)
    return render(request, "accounts/audit.html", {"page": page})
