"""The signed revocation list: a W3C Bitstring Status List credential, as a JWT signed with the platform's key.

Every certificate gets a status index when it is issued (recorded in its signed snapshot and its Open Badge). The
list holds one bit per index, 1 meaning revoked; the bitstring is GZIP-compressed and base64url-encoded with the
multibase prefix "u" (`encodedList`), inside a `BitstringStatusListCredential` that is signed with Ed25519 (EdDSA) in
the same VC-JWT form as the badges, so the issuer's JWKS checks both. Bits are only ever set, never cleared.

The list is a file in the key directory, outside the database. That makes it the witness of every revocation: a
revocation record deleted from the database, or a database restored from an older backup, leaves a bit set that no
record explains, and verification reports it instead of calling the certificate valid.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import os
import re
import secrets
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certplatform.certificates.badges import ALGORITHM, CONTEXTS
from certplatform.certificates.keys import CertificateKeyError, KeySet, KeyStore, file_lock, write_new_file

FILE_NAME = "status-list.jwt"
_LOCK = ".status-list.lock"
MIN_BITS = 131_072  # the specification's minimum (16 KB), so the list's length says nothing about how many exist
_MAX_BYTES = 16 * 1024 * 1024  # a decompressed list larger than this is not one of ours
LIST_TYPE = "BitstringStatusListCredential"
ENTRY_TYPE = "BitstringStatusListEntry"
PURPOSE = "revocation"
_NONZERO = re.compile(rb"[^\x00]")


class StatusListError(Exception):
    """The stored status list is unreadable, or not signed by one of the platform's keys."""


def encode_list(revoked: Iterable[int]) -> str:
    """`encodedList` for these set bits: index 0 is the left-most bit of the first byte."""
    indexes = sorted(set(revoked))
    if indexes and indexes[0] < 0:
        raise ValueError("status indexes are not negative")
    length = max(MIN_BITS, -(-(indexes[-1] + 1) // MIN_BITS) * MIN_BITS if indexes else 0)
    bits = bytearray(length // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same bytes.
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode("ascii")


def decode_list(encoded: str) -> frozenset[int]:
    """The set bits of an `encodedList`; ValueError if it is malformed."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (prefix 'u')")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        bits = inflater.decompress(compressed, _MAX_BYTES)
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"encodedList cannot be decoded: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ValueError("encodedList is larger than any status list the platform writes")
    if not inflater.eof:
        raise ValueError("encodedList is truncated")
    # The list is mostly zero bytes: let the regex engine find the few that are not.
    return frozenset(
        found.start() * 8 + bit
        for found in _NONZERO.finditer(bits)
        for bit in range(8)
        if found.group()[0] & (0x80 >> bit)
    )


def status_entry(list_url: str, index: int) -> dict[str, str]:
    """The `credentialStatus` a credential carries to point at its bit in the list."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_jwt(
    revoked: Iterable[int], *, list_url: str, issuer_url: str, issuer_name: str, keyset: KeySet, now: datetime
) -> str:
    """The signed status list credential with these bits set."""
    moment = now.astimezone(UTC).replace(microsecond=0)
    credential = {
        "@context": CONTEXTS[:1],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_TYPE],
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": issuer_name},
        "validFrom": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": encode_list(revoked),
        },
    }
    payload = {"iss": issuer_url, "jti": list_url, "sub": f"{list_url}#list", "iat": int(moment.timestamp())}
    payload["nbf"] = payload["iat"]
    payload["vc"] = credential
    return jwt.encode(payload, keyset.ed25519_private, algorithm=ALGORITHM, headers={"kid": keyset.key_id})


def read_status_list_jwt(token: str, keystore: KeyStore) -> frozenset[int]:
    """The revoked indexes of a status list signed by one of the platform's keys; StatusListError otherwise."""
    try:
        keyset = keystore.get(_signing_key_id(token))
    except CertificateKeyError as exc:
        raise StatusListError("the status list is signed with a key the platform does not know") from exc
    except jwt.PyJWTError as exc:
        raise StatusListError(f"the status list's signature does not hold: {exc}") from exc
    public = keyset.ed25519_public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _verified_bits(token, public)


@functools.lru_cache(maxsize=8)
def _signing_key_id(token: str) -> object:
    """The `kid` the token's header names (unverified: it only picks the key to check the signature with)."""
    return jwt.get_unverified_header(token).get("kid")


# Every verification reads the list; checking its signature and inflating its bits is done once per exact token and
# key (a republished list is a new token), so a request pays for reading the file only.
@functools.lru_cache(maxsize=8)
def _verified_bits(token: str, public_key: bytes) -> frozenset[int]:
    try:
        payload = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(public_key),
            algorithms=[ALGORITHM],
            options={"require": ["iss", "vc"]},
        )
    except jwt.PyJWTError as exc:
        raise StatusListError(f"the status list's signature does not hold: {exc}") from exc
    credential = payload["vc"]
    subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
    if (
        not isinstance(subject, dict)
        or LIST_TYPE not in credential.get("type", [])
        or subject.get("statusPurpose") != PURPOSE
    ):
        raise StatusListError("the signed document is not a revocation status list")
    try:
        return decode_list(subject.get("encodedList"))
    except ValueError as exc:
        raise StatusListError(str(exc)) from exc


class StatusListStore:
    """The status list file in the key directory: read, and bits added under a lock with an atomic replace."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILE_NAME

    def token(self) -> str | None:
        """The stored JWT, or None while nothing was ever written."""
        try:
            return self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StatusListError(f"cannot read {self.path}: {exc}") from exc

    def revoked(self, keystore: KeyStore) -> frozenset[int]:
        """The revoked indexes (none before the first revocation); StatusListError if the file is damaged."""
        token = self.token()
        return frozenset() if token is None else read_status_list_jwt(token, keystore)

    def add(
        self,
        indexes: Iterable[int],
        *,
        keystore: KeyStore,
        list_url: str,
        issuer_url: str,
        issuer_name: str,
        now: datetime | None = None,
    ) -> str:
        """Set these bits (keeping every bit already set), sign with the active key and store; the new JWT.

        A damaged list is never overwritten: it is the only witness of revocations the database may have lost.
        """
        with self._locked():
            revoked = self.revoked(keystore) | set(indexes)
            token = status_list_jwt(
                revoked,
                list_url=list_url,
                issuer_url=issuer_url,
                issuer_name=issuer_name,
                keyset=keystore.active(),
                now=now or datetime.now(UTC),
            )
            staging = self.directory / f".{FILE_NAME}-{secrets.token_hex(4)}"
            write_new_file(staging, token.encode("ascii") + b"\n", 0o644)
            os.replace(staging, self.path)
            return token

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize writers across processes: two revocations at once must both end up in the list."""
        if not self.directory.is_dir():
            raise StatusListError(f"no key directory at {self.directory}: run `certplatform keys init`")
        with file_lock(self.directory / _LOCK):
            yield
