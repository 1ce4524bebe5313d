"""Signatures of the provider's webhook calls (delivery reports, inbound messages).

The provider sends two headers with each POST:

    X-Sms-Timestamp: Unix time in whole seconds when it signed, e.g. 1580868000
    X-Sms-Signature: lower-case hex HMAC-SHA256(key = SMS_WEBHOOK_SECRET,
                     message = timestamp + "." + raw request body bytes)

The timestamp is inside the signed message, so it cannot be changed to replay an old body; a
request more than 5 minutes from our clock (either way) is refused, and within those 5 minutes a
message id seen before is refused by the unique constraint on it. The comparison is
constant-time (hmac.compare_digest).
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Sms-Timestamp"
SIGNATURE_HEADER = "X-Sms-Signature"
MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    pass


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers a provider sends (used by the tests' fake provider and by integrations)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: webhook_signature(secret, stamp, body)}


def verify_webhook(secret: str, *, timestamp: str | None, signature: str | None, body: bytes,
                   now: float | None = None) -> None:
    """Raise SignatureError unless the signature is right and the timestamp fresh."""
    if not secret:
        raise SignatureError("SMS_WEBHOOK_SECRET is not set")
    if not timestamp or not signature:
        raise SignatureError("missing signature headers")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise SignatureError("bad timestamp")
    expected = webhook_signature(secret, timestamp, body)
    # Compare before looking at the time, so that timing says nothing about which check failed.
    good = hmac.compare_digest(expected.encode(), signature.strip().lower().encode("ascii", "replace"))
    current = time.time() if now is None else now
    if not good:
        raise SignatureError("bad signature")
    if abs(current - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureError("stale timestamp")
