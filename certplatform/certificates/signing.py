"""Ed25519 signatures over a canonical JSON form of a certificate snapshot."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certplatform.certificates.keys import KeySet

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _check_types(value: Any, path: str) -> None:
    # Floats are refused because their text form is not stable across languages and databases (1.0 vs 1),
    # and non-string keys because json.dumps would silently turn 1 into "1".
    if isinstance(value, float):
        raise TypeError(f"{path}: floats are not allowed in a signed snapshot; store e.g. a string or an integer")
    if value is None or isinstance(value, str | int):  # bool is an int
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_types(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: snapshot keys must be strings, not {type(key).__name__}")
            _check_types(item, f"{path}.{key}")
        return
    raise TypeError(f"{path}: {type(value).__name__} is not allowed in a signed snapshot")


def canonical_json(snapshot: dict) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, UTF-8. Raises TypeError on floats."""
    if not isinstance(snapshot, dict):
        raise TypeError("a snapshot must be a dict")
    _check_types(snapshot, "snapshot")
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_snapshot(snapshot: dict, keyset: KeySet) -> str:
    """Ed25519 signature of the canonical JSON, base64url without padding."""
    signature = keyset.ed25519_private.sign(canonical_json(snapshot))
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def verify_snapshot(snapshot: dict, signature: str, public_key: Ed25519PublicKey) -> bool:
    """Whether `signature` is valid for `snapshot` under `public_key`; False for anything malformed."""
    # The decoder would skip foreign characters; a signature with any is malformed, not "the same signature".
    if not isinstance(signature, str) or not _BASE64URL.fullmatch(signature):
        return False
    try:
        message = canonical_json(snapshot)
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (TypeError, ValueError, binascii.Error):
        return False
    return _holds(raw, message, public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


# An Ed25519 check is deterministic: the verdict on the same signature, message and key is remembered, so a record
# read again (every verification of a certificate) costs its canonical JSON only.
@functools.lru_cache(maxsize=4096)
def _holds(signature: bytes, message: bytes, public_key: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def revocation_record(
    *, certificate_id: str, certificate_signature: str, revoked_at: str, revoked_by: int | None, reason: str
) -> dict[str, Any]:
    """What a revocation's signature covers: the revocation, bound to the signature of the certificate it revokes.

    Binding the certificate's own signature means a record copied onto another certificate never verifies.
    """
    return {
        "type": "certificate_revocation",
        "certificate_id": certificate_id,
        "certificate_signature": certificate_signature,
        "revoked_at": revoked_at,
        "revoked_by": revoked_by,
        "reason": reason,
    }
