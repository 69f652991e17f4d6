"""Open Badges 3.0 credentials: a Verifiable Credential in a JWT signed with the platform's Ed25519 key (EdDSA).

The payload follows the VC-JWT mapping used by Open Badges 3.0: the credential sits in the "vc" claim and the
registered claims repeat its issuer (iss), id (jti), validity (nbf/exp) and subject (sub). Anyone can check a badge
against the JWKS from `issuer_jwks`, which lists every key set, so badges signed before a rotation stay verifiable.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from certplatform.certificates.keys import CertificateKeyError, KeySet, KeyStore

ALGORITHM = "EdDSA"
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
_LEEWAY = timedelta(seconds=60)  # clock skew between the issuing server and a verifier
_REQUIRED_CLAIMS = ["iss", "jti", "sub", "nbf", "exp", "vc"]


def _timestamp(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def open_badge_jwt(
    *,
    certificate_id: str,
    holder_name: str,
    holder_name_zh: str | None,
    title_en: str,
    title_zh: str,
    level: str,
    issued_at: datetime,
    expires_at: datetime,
    issuer_url: str,
    verify_url: str,
    credential_status: dict[str, str] | None,
    keyset: KeySet,
) -> str:
    """The certificate as a signed OpenBadgeCredential (compact JWS).

    The credential is made once, when the certificate is issued, and is the same whatever language the holder
    browses in: English names first, the Chinese title and holder name alongside.
    """
    valid_from = _timestamp(issued_at, "issued_at")
    valid_until = _timestamp(expires_at, "expires_at")
    # The holder has no URI of their own; Open Badges identifies them by IdentityObjects instead.
    identities = [name for name in (holder_name, holder_name_zh) if name]
    credential: dict[str, Any] = {
        "@context": CONTEXTS,
        "id": verify_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": title_en,
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": keyset.issuer_name},
        "validFrom": _iso(valid_from),
        "validUntil": _iso(valid_until),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {"type": "IdentityObject", "identityHash": name, "identityType": "name", "hashed": False}
                for name in identities
            ],
            "achievement": {
                "id": f"{issuer_url.rstrip('/')}#achievement-{level}",
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": title_en,
                "description": (
                    f"Certified at level {level} of the FlagOS certification: {title_en}. "
                    f"FlagOS 认证 {level} 级：{title_zh}。"
                ),
                "criteria": {
                    "narrative": (
                        f"Passed the FlagOS {level} certification exam, graded automatically on submitted code, "
                        f"and a community review of the work by a FlagOS mentor. 通过 FlagOS {level} 认证考试"
                        "（提交的代码经自动评分）并经 FlagOS 导师的社区评审。"
                    )
                },
                "tag": ["FlagOS", level],
            },
        },
    }
    if credential_status is not None:
        credential["credentialStatus"] = credential_status
    payload = {
        "iss": issuer_url,
        "jti": verify_url,
        "sub": certificate_id,
        "nbf": int(valid_from.timestamp()),
        "exp": int(valid_until.timestamp()),
        "vc": credential,
    }
    return jwt.encode(payload, keyset.ed25519_private, algorithm=ALGORITHM, headers={"kid": keyset.key_id})


def _jwk(keyset: KeySet) -> dict[str, str]:
    raw = keyset.ed25519_public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
        "kid": keyset.key_id,
        "use": "sig",
        "alg": ALGORITHM,
    }


def issuer_jwks(keystore: KeyStore) -> dict:
    """The public keys of every key set, active and retired, as a JWK Set."""
    return {"keys": [_jwk(keyset) for keyset in keystore.all()]}


def verify_open_badge_jwt(token: str, keystore: KeyStore, *, at_time: bool = True) -> dict:
    """The payload of a badge signed by one of our keys and currently valid; ValueError with the reason otherwise.

    `at_time=False` checks the signature and the claims but not the validity period (a stored, expired badge).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ValueError(f"not a JWT: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise ValueError(f"unexpected signature algorithm {header.get('alg')!r}")
    try:
        keyset = keystore.get(header.get("kid"))
    except CertificateKeyError as exc:
        raise ValueError("signed with a key the platform does not know") from exc
    try:
        payload = jwt.decode(
            token,
            keyset.ed25519_public,
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS, "verify_exp": at_time, "verify_nbf": at_time},
            leeway=_LEEWAY,
        )
    except jwt.ExpiredSignatureError as exc:
        raise ValueError("the credential has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise ValueError("the credential is not valid yet") from exc
    except jwt.InvalidSignatureError as exc:
        raise ValueError("the signature does not match: the credential was altered") from exc
    except jwt.PyJWTError as exc:
        raise ValueError(f"invalid credential: {exc}") from exc
    credential = payload["vc"]
    # The registered claims are what generic JWT tools check; they must say the same as the credential.
    if (
        not isinstance(credential, dict)
        or not isinstance(credential.get("issuer"), dict)
        or credential["issuer"].get("id") != payload["iss"]
        or credential.get("id") != payload["jti"]
    ):
        raise ValueError("the credential does not match its JWT claims")
    return payload
