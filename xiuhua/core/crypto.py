"""Identity numbers at rest: encrypted with Fernet, found by a keyed hash, shown masked.

Both keys derive from the one DATA_KEY setting with HKDF, so there is a single secret to keep.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _derive(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(settings.DATA_KEY.encode())


@lru_cache(maxsize=4)
def _keys(data_key: str) -> tuple[Fernet, "hmac.HMAC"]:
    fernet = Fernet(base64.urlsafe_b64encode(_derive(b"xiuhua id encryption v1")))
    # Keyed once; each lookup copies it (imports hash tens of thousands of numbers).
    return fernet, hmac.new(_derive(b"xiuhua id lookup hash v1"), digestmod=hashlib.sha256)


def encrypt_text(plain: str) -> str:
    fernet, _ = _keys(settings.DATA_KEY)
    return fernet.encrypt(plain.encode()).decode("ascii")


def decrypt_text(token: str) -> str:
    fernet, _ = _keys(settings.DATA_KEY)
    return fernet.decrypt(token.encode("ascii")).decode()


def lookup_hash(normalised: str) -> str:
    """Keyed hash used for equality lookups; without DATA_KEY it reveals nothing."""
    _, keyed = _keys(settings.DATA_KEY)
    digest = keyed.copy()
    digest.update(normalised.encode())
    return digest.hexdigest()


def mask_identity(number: str) -> str:
    """310*************3X: the first three and the last two characters stay, the rest is hidden.

    Not the last four: with them a resident ID's whole sequence and check character are known,
    and beside its birth date only the region is left to guess (architecture.md, masking rule).
    """
    if len(number) < 8:
        return number[:1] + "*" * (len(number) - 1)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def mask_name(name: str) -> str:
    """张秀英 -> 张**, 王芳 -> 王*: the family name stays."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return phone
    return phone[:3] + "****" + phone[-4:]
