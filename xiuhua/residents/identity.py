"""The stored form of an identity number: encrypted, hashed for lookup, masked for display."""

from xiuhua.core.crypto import encrypt_text, lookup_hash, mask_identity


def identity_hash(id_type: str, number: str) -> str:
    return lookup_hash(f"{id_type}|{number}")


def identity_fields(id_type: str, number: str) -> dict[str, str]:
    """Field values for a Resident; `number` must already be checked and normalised."""
    return {
        "id_type": id_type,
        "id_encrypted": encrypt_text(number),
        "id_hash": identity_hash(id_type, number),
        "id_masked": mask_identity(number),
        "id_last4": number[-4:],
    }
