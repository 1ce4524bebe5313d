"""API authentication: bearer tokens bound to one membership, the browser session with CSRF, and
the command that issues tokens."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from xiuhua.accounts.models import ApiToken, Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import Household

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def issue(user, **membership_filter) -> tuple[ApiToken, str]:
    membership = Membership.objects.filter(user=user, **membership_filter).order_by("pk").first()
    assert membership is not None
    return ApiToken.issue(membership, "test")


# ---------------------------------------------------------------- tokens


def test_only_the_hash_of_the_key_is_stored(world):
    token, key = issue(world.staff_a1)
    assert key.startswith("xh_") and len(key) > 40
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert not any(key in value for value in stored)


def test_token_acts_through_its_own_membership(world, client):
    """A user with two memberships: the token's one decides the scope, not the session's choice."""
    second = Membership.objects.create(user=world.staff_a1, org_unit=world.committee_a2, role=Role.COMMITTEE_STAFF)
    _, key = ApiToken.issue(second, "a2 integration")
    me = client.get("/api/me", headers=bearer(key)).json()
    assert me["membership"]["id"] == second.pk and me["via"] == "token"
    residents = client.get("/api/residents", headers=bearer(key)).json()["items"]
    assert [r["name"] for r in residents] == [world.resident_a2.name]
    assert client.get(f"/api/residents/{world.resident_a1.pk}", headers=bearer(key)).status_code == 404


@pytest.mark.parametrize(
    "spoil",
    ["revoke", "end_membership", "deactivate_user", "delete"],
)
def test_token_that_is_no_longer_valid_is_401(world, client, spoil):
    token, key = issue(world.staff_a1)
    assert client.get("/api/me", headers=bearer(key)).status_code == 200
    if spoil == "revoke":
        ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    elif spoil == "end_membership":
        Membership.objects.filter(pk=token.membership_id).update(active=False)
    elif spoil == "deactivate_user":
        world.staff_a1.is_active = False
        world.staff_a1.save()
    else:
        token.delete()
    response = client.get("/api/me", headers=bearer(key))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="xiuhua"'
    assert response.json() == {"detail": "请提供有效的接口令牌或先登录"}


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer xh_", "Bearer xh_wrong", "bearer xh_" + "a" * 43, "Basic eGg6eGg=", "xh_abc",
     "Bearer " + "xh_" + "€" * 50],
)
def test_malformed_or_unknown_credentials_are_401(world, client, header):
    response = client.get("/api/residents", headers={"Authorization": header})
    assert response.status_code == 401


@pytest.mark.parametrize("user_attr", ["volunteer", "pharmacy_clerk", "sysadmin", "grid_worker"])
def test_token_of_a_role_without_use_api_is_403(world, client, user_attr):
    _, key = issue(getattr(world, user_attr))
    response = client.get("/api/me", headers=bearer(key))
    assert response.status_code == 403
    assert response.json() == {"detail": "该角色不能使用接口"}


def test_a_bad_token_does_not_fall_back_to_the_session(world, client):
    client.force_login(world.staff_a1)
    assert client.get("/api/me").status_code == 200
    assert client.get("/api/me", headers=bearer("xh_wrong")).status_code == 401


def test_a_good_token_wins_over_the_session(world, client):
    client.force_login(world.staff_b1)
    _, key = issue(world.staff_a1)
    me = client.get("/api/me", headers=bearer(key)).json()
    assert me["user"]["username"] == "staff_a1" and me["via"] == "token"


def test_last_used_is_recorded_at_most_once_a_minute(world, client):
    token, key = issue(world.staff_a1)
    assert token.last_used_at is None
    client.get("/api/me", headers=bearer(key))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/me", headers=bearer(key))
    token.refresh_from_db()
    assert token.last_used_at == first
    earlier = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    client.get("/api/me", headers=bearer(key))
    token.refresh_from_db()
    assert token.last_used_at > earlier + dt.timedelta(minutes=1)


# ---------------------------------------------------------------- browser session


def test_session_user_uses_the_api_with_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff_a1)
    me = client.get("/api/me").json()
    assert me["via"] == "session" and me["membership"]["role"] == "committee_staff"

    body = {"building": world.building_a1.pk, "room": "808"}
    before = (Household.objects.count(), AuditEvent.objects.count())
    refused = client.post("/api/households", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF 校验失败,请刷新页面后重试"}
    assert (Household.objects.count(), AuditEvent.objects.count()) == before

    client.get("/api/docs")  # sets the CSRF cookie, as the docs page does for Swagger's requests
    csrf = client.cookies["csrftoken"].value
    created = client.post("/api/households", body, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert created.status_code == 201, created.content


def test_token_requests_need_no_csrf(world):
    client = Client(enforce_csrf_checks=True)
    _, key = issue(world.staff_a1)
    response = client.post("/api/households", {"building": world.building_a1.pk, "room": "809"},
                           content_type="application/json", headers=bearer(key))
    assert response.status_code == 201


def test_anonymous_write_is_401_not_a_csrf_error(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/households", {"building": world.building_a1.pk, "room": "810"},
                           content_type="application/json")
    assert response.status_code == 401


def test_session_user_without_membership_sees_no_data(world, client):
    client.force_login(world.no_role)
    me = client.get("/api/me").json()
    assert me["membership"] is None and me["capabilities"] == []
    assert client.get("/api/residents").status_code == 403


# ---------------------------------------------------------------- issue_api_token


def run_command(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_issue_api_token_prints_the_key_once_and_stores_its_hash(world, client):
    membership = Membership.objects.get(user=world.staff_a1)
    out, err = run_command("staff_a1", membership=membership.pk, name="区大数据中心")
    key = out.strip()
    assert key.startswith("xh_") and "\n" not in key
    assert key not in err and "只显示这一次" in err
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert token.membership == membership and token.name == "区大数据中心"
    assert client.get("/api/me", headers=bearer(key)).json()["user"]["username"] == "staff_a1"
    event = AuditEvent.objects.get(action="api_token_issue")
    assert event.object_id == token.pk and event.committee_id == world.committee_a1.pk
    assert key not in event.subject_label


def test_issue_api_token_picks_the_only_usable_membership(world):
    out, _ = run_command("street_a", name="街道对接")
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(out.strip()))
    assert token.membership.user == world.street_officer


@pytest.mark.parametrize(
    ("username", "membership_of", "message"),
    [
        ("ghost", None, "不存在"),
        ("staff_a1", "staff_b1", "不属于"),
        ("volunteer", "volunteer", "不能使用接口"),
        ("grid_a1", "grid_worker", "不能使用接口"),
        ("nobody", None, "请用 --membership 指定任职"),
    ],
)
def test_issue_api_token_refuses(world, username, membership_of, message):
    options = {"name": "x"}
    if membership_of:
        options["membership"] = Membership.objects.get(user=getattr(world, membership_of)).pk
    with pytest.raises(CommandError, match=message):
        run_command(username, **options)
    assert ApiToken.objects.count() == 0


def test_issue_api_token_refuses_an_ended_membership(world):
    membership = Membership.objects.get(user=world.staff_a1)
    membership.active = False
    membership.save()
    with pytest.raises(CommandError, match="已失效"):
        run_command("staff_a1", membership=membership.pk, name="x")
    assert ApiToken.objects.count() == 0
