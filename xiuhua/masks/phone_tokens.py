"""Bearer tokens for a resident's proven phone, for the resident JSON API (apps, mini-programs).

After the one-time SMS code, the API hands out `<phone>:<timestamp>:<signature>`, signed with
SECRET_KEY (django.core.signing, its own salt) and valid for VALID_FOR, like the phone pages'
session mark. Checking one is an HMAC, no database read: the reservation burst of a round's
first minutes must not queue on a session table. A token cannot be revoked before it expires;
it grants only what the phone's session would (its own reservations, at most the per-phone
limit), so a short life is the control.
"""

import datetime as dt

from django.core import signing

VALID_FOR = dt.timedelta(minutes=30)
_SIGNER = signing.TimestampSigner(salt="xiuhua.masks.phone-token")
MAX_LENGTH = 120


def issue(phone: str) -> str:
    """A token for a phone that has just been proven (normalised mainland mobile number)."""
    return _SIGNER.sign(phone)


def phone_of(token: str) -> str | None:
    """The phone a valid, unexpired token was issued for; None for anything else."""
    if not token or len(token) > MAX_LENGTH:
        return None
    try:
        # Signed only after the phone was normalised and proven, so it needs no second check.
        return _SIGNER.unsign(token, max_age=VALID_FOR) or None
    except signing.BadSignature:  # also SignatureExpired
        return None
