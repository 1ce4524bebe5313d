"""API tokens, issued and revoked in one place: the token page (a member issues tokens for the
membership they act through, e.g. a lab's system pushing results, or the hotline platform) and
`manage.py issue_api_token` both call these. A key is shown once; only its hash is kept."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from xiuhua.core.audit import audit

from .models import ApiToken, Membership
from .roles import Cap

NAME_MAX_LENGTH = 100  # ApiToken.name


def api_token_issue(*, membership: Membership, name: str, actor=None) -> tuple[ApiToken, str]:
    """A new token of `membership` named `name`; returns it and its key (to show once). `actor`
    is the user at the page (None from the command line, run by the deployer)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("请填写令牌用途,例如对接的系统名称")]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [_("令牌用途不能超过 %(most)s 个字") % {"most": NAME_MAX_LENGTH}]})
    if not membership.active or not membership.has(Cap.USE_API):
        raise PermissionDenied
    with transaction.atomic():
        token, key = ApiToken.issue(membership, name)
        audit(actor=actor, action="api_token_issue", obj=token, committee_id=membership.org_unit.committee_id,
              subject_label=f"{membership.user.username} · {membership} · {token}")
    return token, key


def api_token_revoke(*, membership: Membership, token_id: int, actor=None) -> ApiToken:
    """Revoke one of the membership's own tokens (another's: 404, as if missing)."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, membership=membership).first()
        if token is None:
            raise Http404
        if not token.revoked:
            token.revoked = True
            token.save(update_fields=["revoked"])
            audit(actor=actor, action="api_token_revoke", obj=token, committee_id=membership.org_unit.committee_id,
                  subject_label=f"{membership.user.username} · {membership} · {token}")
    return token
