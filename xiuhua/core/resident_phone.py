"""A resident's phone, proven by a one-time SMS code, kept in the session for 30 minutes.

Residents have no User. Once a page has checked the code (xiuhua.sms.otp.otp_verify) it calls
`mark_verified(request, phone)`; views that need the phone are wrapped in `@resident_phone`,
which declares the "resident_phone" policy for the URL walk (no staff login is involved) and
sends an unverified visitor back to the page where the phone is proven.

The session keys are shared by every resident page (they keep the names the mask pages gave
them), so a phone proven on the mask pages counts on the arrival pages and the other way round.

    @resident_phone(start="arrive:committee", template="isolation/public/need_phone.html")
    def register(request, code): ...   # request.resident_phone is the proven phone
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, overload

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .crypto import mask_phone
from .phones import PhoneError, normalise_mobile
from .policy import POLICY_ATTR, public

SESSION_PHONE = "masks_phone"  # {"phone": "138...", "until": ISO datetime}
SESSION_PENDING = "masks_pending_phone"  # the phone a code was sent to, until it is checked
SESSION_PENDING_PURPOSE = "resident_pending_purpose"  # the OTP purpose of that code
SESSION_EXPIRED = "resident_phone_expired"  # set when a proof ran out, so the next page says so
VERIFIED_FOR = dt.timedelta(minutes=30)
NEED_PHONE_TEMPLATE = "core/need_phone.html"


_BIG = {"class": "big"}


class PhoneForm(forms.Form):
    """The first step on every resident page: the mobile a code is sent to."""

    phone = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs=_BIG | {"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_phone(self) -> str:
        try:
            phone = normalise_mobile(self.cleaned_data["phone"])
        except PhoneError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not phone:
            raise forms.ValidationError(gettext_lazy("请填写手机号码"))
        return phone


class CodeForm(forms.Form):
    """The second step: the one-time code from the SMS."""

    code = forms.CharField(
        label=gettext_lazy("短信验证码"),
        max_length=12,
        widget=forms.TextInput(attrs=_BIG | {"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def verified_phone(request) -> str | None:
    """The phone proven in this session in the last 30 minutes, or None."""
    data = request.session.get(SESSION_PHONE)
    if not isinstance(data, dict):
        return None
    try:
        until = dt.datetime.fromisoformat(data["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if timezone.now() >= until:
        request.session.pop(SESSION_PHONE, None)
        request.session[SESSION_EXPIRED] = True
        return None
    return str(data.get("phone") or "") or None


def mark_pending(request, phone: str, purpose: str) -> None:
    """A code for `purpose` was sent to `phone`: the code page checks it against this phone."""
    request.session[SESSION_PENDING] = phone
    request.session[SESSION_PENDING_PURPOSE] = purpose


def pending_phone(request, purpose: str) -> str | None:
    """The phone waiting for its code, if the code was sent for `purpose` (or for an unknown one)."""
    phone = request.session.get(SESSION_PENDING)
    if not phone:
        return None
    recorded = request.session.get(SESSION_PENDING_PURPOSE)
    if recorded and recorded != purpose:
        return None
    return str(phone)


def send_login_code(request, phone: str, purpose: str) -> bool:
    """Send a one-time code for `purpose` to `phone` and remember the phone as pending; True when
    a code went out. A second request for the phone already pending, inside the waiting time, is
    no error: the code sent before still works, the wait is shown as a message, and the result is
    False. Any other refusal raises OtpError with a message for the form."""
    from xiuhua.sms.otp import OtpError, otp_request

    try:
        otp_request(phone=phone, purpose=purpose, ip=client_ip(request))
    except OtpError as exc:
        if exc.code == "too_soon" and pending_phone(request, purpose) == phone:
            messages.info(request, exc.messages[0])
            return False
        raise
    mark_pending(request, phone, purpose)
    return True


def mark_verified(request, phone: str) -> None:
    """The code for `phone` was right: a new session id, and the phone counts for 30 minutes."""
    request.session.cycle_key()
    request.session.pop(SESSION_PENDING, None)
    request.session.pop(SESSION_PENDING_PURPOSE, None)
    request.session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + VERIFIED_FOR).isoformat()}


def check_login_code(request, form: CodeForm, phone: str, purpose: str) -> bool:
    """The code page's step, the same on every resident page: a valid code for the pending `phone`
    proves it (mark_verified) and gives True; a wrong one is put on the form. Call it with a bound
    form on POST; the page then redirects on True and shows the form again otherwise."""
    from xiuhua.sms.otp import OtpError, otp_verify

    if not form.is_valid():
        return False
    try:
        otp_verify(phone=phone, purpose=purpose, code=form.cleaned_data["code"])
    except OtpError as exc:
        form.add_error("code", exc.messages[0])
        return False
    mark_verified(request, phone)
    return True


def forget_phone(request) -> None:
    for key in (SESSION_PHONE, SESSION_PENDING, SESSION_PENDING_PURPOSE):
        request.session.pop(key, None)


@overload
def resident_phone(view: Callable, /) -> Callable: ...


@overload
def resident_phone(
    *, start: str = "", code_session_key: str = "", template: str = NEED_PHONE_TEMPLATE
) -> Callable[[Callable], Callable]: ...


def resident_phone(
    view: Callable | None = None,
    /,
    *,
    start: str = "",
    code_session_key: str = "",
    template: str = NEED_PHONE_TEMPLATE,
):
    """A resident whose phone was verified by SMS code in the last 30 minutes (no User).

    Unverified: redirected to the URL named `start` for the view's committee `code` (from the
    URL, else from the session key `code_session_key`), or shown `template` with status 403 when
    there is no committee to go back to. Used bare (`@resident_phone`), it always shows the page.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            phone = verified_phone(request)
            if phone is None:
                if request.session.pop(SESSION_EXPIRED, False):
                    messages.info(request, _("手机验证已超过30分钟,请重新获取验证码"))
                else:
                    messages.info(request, _("请先验证手机号码"))
                code = kwargs.get("code") or (request.session.get(code_session_key) if code_session_key else None)
                if start and code:
                    return redirect(start, code=code)
                return render(request, template, status=403)
            request.resident_phone = phone
            return view(request, *args, **kwargs)

        # No staff login: the verified phone above is the gate.
        setattr(wrapped, POLICY_ATTR, "resident_phone")
        return wrapped

    if view is not None:
        return decorate(view)
    return decorate


def resident_phone_json(view: Callable) -> Callable:
    """The gate of a JSON endpoint behind the phone pages (a phone page's script posting an order
    or a report): the same proven phone as @resident_phone, refused in JSON with 403. The
    session is written back only if the view changed it (core.sessions.SessionStore.keep_stored):
    the proof runs for its own 30 minutes whatever the session's idle expiry."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        phone = verified_phone(request)
        if phone is None:
            return JsonResponse({"detail": _("请先验证手机号码")}, status=403)
        request.resident_phone = phone
        request.session.keep_stored = True
        return view(request, *args, **kwargs)

    setattr(wrapped, POLICY_ATTR, "resident_phone")
    return wrapped


def client_ip(request) -> str:
    """The caller's address for rate limits: REMOTE_ADDR, or the address the trusted proxies saw."""
    count = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None)
    if count:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "") or ""


class PhoneSignIn:
    """The sign-in steps every resident page shares (send a code, check it, sign out), described
    once per page; the app routes the three views and keeps only what is its own: which place the
    URL names, which page shows the phone form, and where a proven phone goes next.

        sign_in = PhoneSignIn(purpose=…, place=…, phone_page=…, verify_template=…, …)
        path("c/<str:code>/code/", sign_in.send, name="otp_send"),
        path("c/<str:code>/verify/", sign_in.check, name="verify"),

    (isolation/views_public.py is the plainest use; the door pages add a limit and private
    headers.) `place(request, **url kwargs)` finds the page's committee or household (404 by
    itself); `phone_page(request, place, form)` shows the phone form again with its errors;
    `start`, `verify` and `done` are the redirects to the phone page, the code page and the
    page a proven phone goes on to.

    Hooks: `after_send(request, place, sent)` and `after_check(request, place)` remember what the
    app needs in the session (after the check, in the new session the check made);
    `signed_out(request, place)` is where signing out leads (default: `start`); `wrap` decorates
    the send and check views (a limit on guessed door codes); `finish` post-processes every
    response (private cache headers).
    """

    def __init__(
        self,
        *,
        purpose: str,
        place: Callable,
        phone_page: Callable,
        verify_template: str,
        verify_context: Callable,
        start: Callable,
        verify: Callable,
        done: Callable,
        done_message: Any = "",
        after_send: Callable | None = None,
        after_check: Callable | None = None,
        signed_out: Callable | None = None,
        wrap: Callable[[Callable], Callable] = lambda view: view,
        finish: Callable = lambda response: response,
    ) -> None:
        self.purpose, self.place, self.phone_page = purpose, place, phone_page
        self.verify_template, self.verify_context = verify_template, verify_context
        self.start, self.verify, self.done, self.done_message = start, verify, done, done_message
        self.after_send, self.after_check, self.signed_out = after_send, after_check, signed_out
        self.finish = finish
        self.send = public(wrap(require_POST(self._send)))
        self.check = public(wrap(require_http_methods(["GET", "POST"])(self._check)))
        self.logout = public(require_POST(self._logout))

    def _send(self, request, **kwargs):
        from xiuhua.sms.otp import OtpError

        place = self.place(request, **kwargs)
        form = PhoneForm(request.POST)
        if form.is_valid():
            try:
                sent = send_login_code(request, form.cleaned_data["phone"], self.purpose)
            except OtpError as exc:
                form.add_error("phone", exc.messages[0])
            else:
                if self.after_send is not None:
                    self.after_send(request, place, sent)
                return self.finish(self.verify(place))
        return self.finish(self.phone_page(request, place, form))

    def _check(self, request, **kwargs):
        place = self.place(request, **kwargs)
        phone = pending_phone(request, self.purpose)
        if not phone:
            messages.info(request, _("请先填写手机号码获取验证码"))
            return self.finish(self.start(place))
        form = CodeForm(request.POST or None)
        if request.method == "POST" and check_login_code(request, form, phone, self.purpose):
            if self.after_check is not None:
                self.after_check(request, place)
            if self.done_message:
                messages.success(request, self.done_message)
            return self.finish(self.done(place))
        context = self.verify_context(place) | {"form": form, "phone_masked": mask_phone(phone)}
        return self.finish(render(request, self.verify_template, context, status=400 if form.errors else 200))

    def _logout(self, request, **kwargs):
        place = self.place(request, **kwargs)
        forget_phone(request)
        messages.info(request, _("已退出"))
        if self.signed_out is not None:
            return self.signed_out(request, place)
        return self.start(place)
