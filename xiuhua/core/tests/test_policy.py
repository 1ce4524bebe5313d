"""Every URL's view declares its policy; anonymous callers get nothing from non-public ones."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from xiuhua.core.policy import POLICY_ATTR

# Views that enforce access themselves: Django admin (is_staff) and the API (token auth on
# every operation, checked by the API's own test).
SELF_GUARDED_MODULES = ("django.contrib.admin", "django.contrib.auth.views", "ninja")


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = entry.namespace
            yield from walk(entry.url_patterns, prefix + (f"{namespace}:" if namespace else ""))
        elif isinstance(entry, URLPattern):
            yield prefix + (entry.name or ""), entry


def app_patterns():
    for name, pattern in walk(get_resolver().url_patterns):
        callback = pattern.callback
        module = getattr(callback, "__module__", "") or ""
        admin_site = getattr(callback, "admin_site", None) or getattr(getattr(callback, "__self__", None), "name", None)
        if module.startswith(SELF_GUARDED_MODULES) or admin_site or name.startswith("admin:"):
            continue
        if name.startswith("api"):
            continue
        yield name, pattern


def test_every_view_declares_a_policy():
    missing = [name or str(p.pattern) for name, p in app_patterns() if not hasattr(p.callback, POLICY_ATTR)]
    assert missing == []


def test_there_are_views_to_check():
    assert len(list(app_patterns())) >= 12


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_from_every_non_public_view(client):
    for name, pattern in app_patterns():
        policy = getattr(pattern.callback, POLICY_ATTR)
        if policy == "public":
            continue
        if policy in ("resident_phone", "resident_token"):
            continue  # checked below: residents have no login to be sent to
        kwargs = {key: 1 for key in pattern.pattern.converters}
        url = reverse(name, kwargs=kwargs)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, response.status_code)
            assert response["Location"].startswith("/accounts/login/"), name


@pytest.mark.django_db
def test_resident_phone_views_refuse_an_unverified_caller(client):
    checked = 0
    for name, pattern in app_patterns():
        if getattr(pattern.callback, POLICY_ATTR) != "resident_phone":
            continue
        kwargs = {key: "1" if key == "code" else 1 for key in pattern.pattern.converters}
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code in (302, 403), (name, response.status_code)
        checked += 1
    assert checked >= 1


@pytest.mark.django_db
def test_resident_token_views_answer_401_without_a_valid_token(client):
    checked = 0
    for name, pattern in app_patterns():
        if getattr(pattern.callback, POLICY_ATTR) != "resident_token":
            continue
        url = reverse(name, kwargs={key: 1 for key in pattern.pattern.converters})
        for headers in ({}, {"Authorization": "Bearer 13900001234:1xVD3E:forged"}):
            for method in (client.get, client.post):
                response = method(url, headers=headers)
                assert response.status_code == 401, (name, response.status_code)
                assert response.json() == {"detail": "请先验证手机号码"}
        checked += 1
    assert checked >= 1


def _made_up(pattern) -> dict:
    """Arguments nobody was given: 1 for numbers, "1" for codes, a token-shaped string for tokens."""
    made_up: dict = {}
    for key, converter in pattern.pattern.converters.items():
        if type(converter).__name__ == "IntConverter":
            made_up[key] = 1
        else:
            made_up[key] = "x" * 24 if key == "token" else "1"
    return made_up


@pytest.mark.django_db
def test_public_views_answer_made_up_arguments_with_404(client):
    """Committee codes, door codes, follow-up tokens: a guess is a 404 (or 405 for the method
    the view does not take), never a page; the resident help pages' 404 is the plain one of a
    missing page, so a guessed door or token cannot be told from a wrong URL."""
    missing = client.get("/no-such-page/").content
    checked = helps = 0
    for name, pattern in app_patterns():
        if getattr(pattern.callback, POLICY_ATTR) != "public" or not pattern.pattern.converters:
            continue
        url = reverse(name, kwargs=_made_up(pattern))
        responses = [client.get(url), client.post(url)]
        statuses = {r.status_code for r in responses}
        assert 404 in statuses and statuses <= {404, 405}, (name, statuses)
        if name.startswith("help:"):
            assert all(r.content == missing for r in responses if r.status_code == 404), name
            helps += 1
        checked += 1
    assert checked >= 4 and helps >= 4


@pytest.mark.django_db
def test_the_resident_help_pages_open_without_login(client, world):
    from xiuhua.tickets.door import door_path

    assert client.get(reverse("help:start")).status_code == 200
    response = client.get(door_path(world.household_a1.pk))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin" and "noindex" in response["X-Robots-Tag"]
    code = door_path(world.household_a1.pk).rstrip("/").rsplit("-", 1)[1]
    guessed = "A" * 8 if code != "A" * 8 else "B" * 8
    assert client.get(f"/help/d/{world.household_a1.pk}-{guessed}/").status_code == 404
    assert client.get(f"/help/d/{world.household_b1.pk}-{code}/").status_code == 404
