from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xiuhua.core.audit import event_label, reason_label, role_label
from xiuhua.core.policy import logged_in, public, requires

from .middleware import SESSION_KEY
from .models import ApiToken, Temporary
from .roles import Cap
from .selectors import personal_data_events
from .tokens import api_token_issue, api_token_revoke


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
        event.temporary_label = Temporary(event.via_temporary).label if event.via_temporary in Temporary.values else ""
    return render(request, "accounts/audit.html", {"page": page})


@requires(Cap.USE_API)
def api_tokens(request):
    """The tokens of the membership the user acts through: issue one (its key shown this once),
    revoke one. Another system (a lab, the hotline platform) calls the API with it, seeing what
    this membership sees."""
    membership = request.user.active_membership
    key = ""
    errors: list[str] = []
    if request.method == "POST":
        try:
            _token, key = api_token_issue(membership=membership, name=request.POST.get("name", ""),
                                          actor=request.user)
        except ValidationError as exc:
            errors = [m for ms in exc.message_dict.values() for m in ms]
    tokens = ApiToken.objects.filter(membership=membership).order_by("revoked", "-created_at")
    return render(request, "accounts/api_tokens.html", {
        "membership": membership, "tokens": tokens, "key": key, "errors": errors,
        "name": request.POST.get("name", "") if errors else "",
    }, status=400 if errors else 200)


@requires(Cap.USE_API)
@require_POST
def api_token_revoke_view(request, pk: int):
    token = api_token_revoke(membership=request.user.active_membership, token_id=pk, actor=request.user)
    messages.success(request, _("令牌“%(name)s”已吊销") % {"name": token.name})
    return redirect("accounts:api_tokens")
