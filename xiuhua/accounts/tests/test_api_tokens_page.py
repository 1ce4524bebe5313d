"""The token page: a member issues a token for the membership they act through (its key shown
once, usable at once), lists and revokes their own; nobody else's."""

import pytest
from django.urls import reverse

from xiuhua.accounts.models import ApiToken, Membership
from xiuhua.core.models import AuditEvent
from xiuhua.testing import as_user

pytestmark = pytest.mark.django_db
PAGE = reverse("accounts:api_tokens")


def test_a_member_issues_uses_and_revokes_a_token(client, world):
    as_user(client, world.street_officer)
    response = client.post(PAGE, {"name": "12345平台对接"})
    assert response.status_code == 200
    page = response.content.decode()
    key = page.split('<code id="key" class="secret-key">')[1].split("</code>")[0]
    token = ApiToken.objects.get()
    assert (token.membership, token.name, token.key_hash) == (
        Membership.objects.get(user=world.street_officer), "12345平台对接", ApiToken.hash_key(key))
    assert AuditEvent.objects.filter(action="api_token_issue", object_id=token.pk).count() == 1
    client.logout()
    assert client.get("/api/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    # The key is not shown again.
    as_user(client, world.street_officer)
    assert key not in client.get(PAGE).content.decode()
    assert client.post(reverse("accounts:api_token_revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked and AuditEvent.objects.filter(action="api_token_revoke").count() == 1
    client.logout()
    assert client.get("/api/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_bad_input_and_other_peoples_tokens_change_nothing(client, world):
    as_user(client, world.street_officer)
    response = client.post(PAGE, {"name": "  "})
    assert response.status_code == 400 and "请填写令牌用途" in response.content.decode()
    other, _key = ApiToken.issue(Membership.objects.get(user=world.staff_a1), "居委会系统")
    assert client.post(reverse("accounts:api_token_revoke", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert not other.revoked and ApiToken.objects.count() == 1
    # Roles that may not use the API do not get the page.
    as_user(client, world.volunteer)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"name": "x"}).status_code == 403
    assert ApiToken.objects.count() == 1
