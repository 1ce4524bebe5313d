"""The JSON APIs (Django Ninja), with one error shape and one spec at /api/openapi.json.

`api`, at /api/, is for staff systems: authenticated on every operation, scoped like the pages.
Callers authenticate with `Authorization: Bearer xh_...` (an ApiToken, bound to one membership
whose role may use the API) or, from the browser, with their login session (CSRF-checked).
Either way `request.user.active_membership` is set, so `Model.objects.visible_to(request.user)`
and the services behave exactly as they do for the pages. Each operation also declares the
capability it needs with xiuhua.core.policy; xiuhua/residents/tests/test_api.py fails on any
operation without authentication.

`resident_api`, at /masks/api/, is for residents' apps reserving masks (xiuhua/masks/api.py): a
one-time SMS code buys a phone token, and bodies are small flat JSON objects. It is a NinjaAPI of
its own because Ninja sets the body parser per API, and so that the staff API's guard above
stays exact; its operations are in `api`'s spec.

Errors are JSON, {"detail": message} or {"detail": {field: [messages]}}: 401 no or bad
credentials, 403 not allowed, 404 missing or not yours (one answer), 422 for invalid input, 400
for a body that is not JSON (for the residents' API also one nested too deep or not an object),
413 for one too large, 429 with Retry-After past a lookup limit.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyCookie, HttpBearer

from xiuhua.accounts.models import ApiToken
from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership
from xiuhua.core.jsonbody import JsonBodyError, parse_json_body
from xiuhua.core.lookups import LookupThrottled
from xiuhua.core.policy import POLICY_ATTR, logged_in, public
from xiuhua.masks import api as masks_resident
from xiuhua.places.api import GridOut, PlaceOut
from xiuhua.places.api import router as places_router
from xiuhua.residents.api import router as residents_router
from xiuhua.screening.api import router as screening_router
from xiuhua.tickets.api import router as tickets_router

TOKEN_PREFIX = "xh_"
TOKEN_MAX_LENGTH = 100
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


# ---------------------------------------------------------------- authentication


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer xh_...`: an unrevoked token of an active membership whose role
    holds Cap.USE_API. A token that is sent but not valid is a 401 at once (no fallback to the
    session); a valid token whose role may not use the API is a 403."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token.startswith(TOKEN_PREFIX) or len(token) > TOKEN_MAX_LENGTH:
            raise AuthenticationError
        api_token = (
            ApiToken.objects.select_related("membership__user", "membership__org_unit", "membership__grid")
            .filter(key_hash=ApiToken.hash_key(token))
            .first()
        )
        if api_token is None or api_token.revoked:
            raise AuthenticationError
        membership = api_token.membership
        user = membership.user
        if not membership.active or not user.is_active:
            raise AuthenticationError
        if not membership.has(Cap.USE_API):
            raise AuthorizationError(message=_("该角色不能使用接口"))
        _touch(api_token)
        # As ActiveMembershipMiddleware does for a session, so that scoping works unchanged.
        user.active_membership = membership  # type: ignore[attr-defined]
        user.all_memberships = [membership]  # type: ignore[attr-defined]
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


def _touch(api_token: ApiToken) -> None:
    """Record use, at most once a minute per token (one conditional UPDATE, no race)."""
    now = timezone.now()
    if api_token.last_used_at is not None and now - api_token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=api_token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)


class SessionAuth(APIKeyCookie):
    """The logged-in browser session, with the membership the middleware chose.

    Writes need the CSRF token (header X-CSRFToken), as for the pages. Unlike a token, the
    session does not need Cap.USE_API: it reaches only what the same user's pages show.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None  # so that an anonymous write is a 401, not a CSRF 403
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if request.user.is_authenticated else None


token_auth = ApiTokenAuth()
session_auth = SessionAuth()


class JSONRendererUTF8(JSONRenderer):
    """JSON with Chinese as characters, not \\u escapes: easier to read in logs and curl."""

    json_dumps_params = {"ensure_ascii": False}


class LimitedJsonParser(Parser):
    """Bodies read by core.jsonbody: 413 past `max_bytes`, 400 past `max_depth` (before the
    recursive parser sees them) or for anything but one JSON object; an empty body is {}."""

    def __init__(self, *, max_bytes: int, max_depth: int):
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = parse_json_body(request, max_bytes=self.max_bytes, max_depth=self.max_depth, empty={})
        if not isinstance(data, dict):
            raise JsonBodyError(400, _("请求体须为 JSON 对象"))
        return data


class XiuhuaAPI(NinjaAPI):
    """NinjaAPI with the project's one error shape, and a policy mark on every URL it serves
    (for the test that walks all URLs).

    With `url_policy` (the staff API: "api", authenticated, see ApiTokenAuth and SessionAuth)
    every operation URL carries that mark. Without (the residents' API, served among the masks
    pages), each URL carries the policy its operations declare with their decorator, as a page
    does, and is walked by the same tests as the pages. The spec and docs are public; the docs use
    the Swagger copy inside django-ninja ("ninja" is an installed app), never a CDN: government
    intranets are often closed. `also_documents` lists APIs served elsewhere whose operations this
    one's spec includes, so that there is one spec."""

    def __init__(self, *, url_policy: str | None = "api", also_documents: Sequence[NinjaAPI] = (), **kwargs: Any):
        self.url_policy = url_policy
        self.also_documents = list(also_documents)
        self.mounted_routers: list[Router] = []
        super().__init__(**kwargs)

    def add_router(self, prefix: str, router: Router | str, **kwargs: Any) -> None:
        super().add_router(prefix, router, **kwargs)
        if isinstance(router, Router):
            self.mounted_routers.append(router)

    @property
    def urls(self) -> tuple[list[Any], str, str]:
        patterns, app_name, namespace = super().urls
        declared = self._declared_policies() if self.url_policy is None else {}
        for pattern in patterns:
            if not isinstance(pattern, URLPattern) or hasattr(pattern.callback, POLICY_ATTR):
                continue
            if pattern.name == "api-root":
                setattr(pattern.callback, POLICY_ATTR, "public")
            elif self.url_policy is not None:
                setattr(pattern.callback, POLICY_ATTR, self.url_policy)
            else:
                pattern.callback = _marked_view(pattern.callback, declared.get(pattern.name or ""))
        return patterns, app_name, namespace

    def _declared_policies(self) -> dict[str, str | None]:
        """The policy the operations behind each URL name declare (all of them the same one)."""
        policies: dict[str, str | None] = {}
        for router in self.mounted_routers:
            for path_view in router.path_operations.values():
                for operation in path_view.operations:
                    name = operation.url_name or self.get_operation_url_name(operation, router=router)
                    policy = getattr(operation.view_func, POLICY_ATTR, None)
                    if policies.setdefault(name, policy) != policy:
                        raise ImproperlyConfigured(f"the operations at {name} declare different policies")
        return policies

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for other in self.also_documents:
            extra = other.get_openapi_schema()
            schema["paths"].update(extra["paths"])
            for section, entries in extra.get("components", {}).items():
                ours = schema.setdefault("components", {}).setdefault(section, {})
                clashes = sorted(name for name in entries if name in ours and ours[name] != entries[name])
                if clashes:
                    raise ImproperlyConfigured(f"{other.title} and {self.title} both define {clashes}")
                ours.update(entries)
        return schema

    def set_default_exception_handlers(self) -> None:
        super().set_default_exception_handlers()
        for exc_class, handler in ERROR_ANSWERS.items():
            self.add_exception_handler(exc_class, partial(handler, self))

    def on_exception(self, request: HttpRequest, exc: Any) -> HttpResponse:
        # Ninja turns every failure of the parser into its own 400; a body that core.jsonbody
        # refused says why (too large, nested too deep, not an object).
        if isinstance(exc, HttpError) and isinstance(exc.__cause__, JsonBodyError):
            exc = exc.__cause__
        return super().on_exception(request, exc)


def _marked_view(operations_view: Callable, policy: str | None) -> Callable:
    """The operations' view, as a view of ours that carries their policy (none: the URL walk fails)."""

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return operations_view(request, *args, **kwargs)

    view.csrf_exempt = True  # type: ignore[attr-defined]  # as Ninja's own: cookie auth checks CSRF itself
    if policy is not None:
        setattr(view, POLICY_ATTR, policy)
    return view


# ---------------------------------------------------------------- errors
#
# One shape for every API: {"detail": "message"} or {"detail": {field: [messages]}}, in Chinese.

NINJA_MESSAGES = {
    "Cannot parse request body": "请求体不是有效的 JSON",
    "CSRF check Failed": "CSRF 校验失败,请刷新页面后重试",
}


def on_unauthenticated(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    response = api.create_response(request, {"detail": _("请提供有效的接口令牌或先登录")}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="xiuhua"'
    return response


def on_http_error(api: NinjaAPI, request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    for english, chinese in NINJA_MESSAGES.items():
        if message.startswith(english):
            message = _(chinese)
    return api.create_response(request, {"detail": message}, status=exc.status_code)


def on_refused_body(api: NinjaAPI, request: HttpRequest, exc: JsonBodyError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


def on_throttled(api: NinjaAPI, request: HttpRequest, exc: LookupThrottled) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def on_permission_denied(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": _("无权进行此操作")}, status=403)


def on_not_found(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    # ObjectDoesNotExist too: a service re-reads a row through visible_to(); if it is gone, that is a 404.
    return api.create_response(request, {"detail": _("未找到")}, status=404)


def on_invalid(api: NinjaAPI, request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """The services' messages, by field: {"detail": {"id_number": ["证件号码校验位不正确,请核对"]}}."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)


def on_schema_invalid(api: NinjaAPI, request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """Schema errors in the same shape as the services', in Chinese."""
    detail: dict[str, list[str]] = {}
    for error in exc.errors:
        detail.setdefault(_error_field(error.get("loc", ())), []).append(_error_message(error))
    return api.create_response(request, {"detail": detail}, status=422)


ERROR_ANSWERS: dict[type[Exception], Callable[..., HttpResponse]] = {
    AuthenticationError: on_unauthenticated,
    HttpError: on_http_error,
    JsonBodyError: on_refused_body,
    LookupThrottled: on_throttled,
    PermissionDenied: on_permission_denied,
    Http404: on_not_found,
    ObjectDoesNotExist: on_not_found,
    DjangoValidationError: on_invalid,
    NinjaValidationError: on_schema_invalid,
}


def _error_field(loc: tuple | list) -> str:
    # ("body", "payload", "tags", 0) -> "tags.0"; ("query", "limit") -> "limit";
    # ("path", "resident_id") -> "resident_id"; ("body", "payload") -> "__all__".
    parts = [str(part) for part in loc[1:]]
    if loc and loc[0] == "body" and parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def _error_message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])  # our own validators' messages, already in Chinese
    if kind == "missing":
        return _("此项为必填项")
    if kind == "extra_forbidden":
        return _("不支持的字段")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("请填写整数")
    if kind == "greater_than_equal":
        return _("不能小于 %(limit)s") % {"limit": ctx.get("ge")}
    if kind == "less_than_equal":
        return _("不能大于 %(limit)s") % {"limit": ctx.get("le")}
    if kind == "string_too_long":
        return _("不能超过 %(limit)s 个字符") % {"limit": ctx.get("max_length")}
    if kind == "too_long":
        return _("不能超过 %(limit)s 项") % {"limit": ctx.get("max_length")}
    if kind == "string_type":
        return _("请填写文本")
    if kind in ("bool_parsing", "bool_type"):
        return _("请填写 true 或 false")
    if kind.startswith("date"):
        return _("日期格式应为 YYYY-MM-DD")
    if kind in ("enum", "literal_error"):
        choices = str(ctx.get("expected", "")).replace(" or ", ", ")
        return _("不是有效的选项,可选:%(choices)s") % {"choices": choices}
    if kind == "list_type":
        return _("须为列表")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("须为 JSON 对象")
    return _("格式不正确")


# ---------------------------------------------------------------- the APIs

# Residents' phones reserving masks (xiuhua/masks/api.py), served at /masks/api/ where their apps
# call it: a phone token instead of a staff one, and small flat bodies only.
resident_api = XiuhuaAPI(
    title="xiuhua resident masks API",
    version="1",
    urls_namespace="masks",  # included among the masks pages (masks:public_api_reservations)
    openapi_url=None,  # documented in the spec of `api`
    docs_url=None,
    renderer=JSONRendererUTF8(),
    parser=LimitedJsonParser(max_bytes=masks_resident.MAX_BODY, max_depth=masks_resident.MAX_DEPTH),
    url_policy=None,
)
resident_api.add_router("", masks_resident.router)


@resident_api.exception_handler(masks_resident.PhoneNotVerified)
def on_phone_not_verified(request: HttpRequest, exc: masks_resident.PhoneNotVerified) -> HttpResponse:
    response = resident_api.create_response(request, {"detail": str(exc)}, status=401)
    response["WWW-Authenticate"] = f'Bearer realm="{exc.realm}"'
    return response


api = XiuhuaAPI(
    title="xiuhua API",
    version="1",
    description="绣花社区防控平台接口。以 `Authorization: Bearer xh_...` 令牌调用;"
    "数据范围与页面相同,由令牌所绑定的任职决定。"
    "居民预约口罩的接口(`/masks/api/`)以短信验证码换取的手机令牌调用。",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=public,
    renderer=JSONRendererUTF8(),
    auth=[token_auth, session_auth],
    also_documents=[resident_api],
)


# ---------------------------------------------------------------- who am I


class UserOut(Schema):
    id: int
    username: str
    display_name: str


class MembershipOut(Schema):
    id: int
    role: str
    role_label: str
    unit: PlaceOut
    grid: GridOut | None


class MeOut(Schema):
    user: UserOut
    membership: MembershipOut | None
    capabilities: list[str]
    via: str


@api.get("/me", response=MeOut, tags=["accounts"])
@logged_in
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller, the membership they act through (a token's own; for a session, the one
    chosen in the browser) and what that membership may do."""
    user = request.user
    membership = active_membership(user)
    return {
        "user": user,
        "membership": None if membership is None else {
            "id": membership.pk,
            "role": membership.role,
            "role_label": str(membership.get_role_display()),
            "unit": membership.org_unit,
            "grid": membership.grid,
        },
        "capabilities": [cap for cap in Cap.values if membership is not None and membership.has(cap)],
        "via": "token" if hasattr(request, "api_token") else "session",
    }


api.add_router("", places_router)
api.add_router("", residents_router)
api.add_router("", tickets_router)
api.add_router("", screening_router)
