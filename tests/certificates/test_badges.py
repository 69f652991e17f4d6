"""Open Badges 3.0 credentials as EdDSA JWTs."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from certplatform.certificates.badges import issuer_jwks, open_badge_jwt, verify_open_badge_jwt
from certplatform.certificates.keys import KeySet, KeyStore
from certplatform.certificates.status_list import status_entry
from tests.certificates.factories import resigned_as_ours

ISSUED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _badge(keyset: KeySet, **overrides) -> str:
    arguments = {
        "certificate_id": "FLAGOS-L1-0011-ABCX",
        "holder_name": "Ada Lovelace",
        "holder_name_zh": "艾达",
        "title_en": "FlagOS Operator Development Engineer",
        "title_zh": "FlagOS 算子开发工程师",
        "level": "L1",
        "issued_at": datetime.now(UTC) - timedelta(days=1),
        "expires_at": datetime.now(UTC) + timedelta(days=729),
        "issuer_url": "https://cert.flagos.example",
        "verify_url": "https://cert.flagos.example/verify/FLAGOS-L1-0011-ABCX",
        "credential_status": status_entry("https://cert.flagos.example/api/v1/certificates/status-list", 7),
        "keyset": keyset,
    }
    arguments.update(overrides)
    return open_badge_jwt(**arguments)


def test_badge_verifies_with_the_published_jwks(keystore: KeyStore) -> None:
    keyset = keystore.active()
    token = _badge(keyset)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == keyset.key_id

    jwks = json.loads(json.dumps(issuer_jwks(keystore)))  # as published over HTTP
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    assert "d" not in jwk
    payload = jwt.decode(token, jwt.PyJWK(jwk), algorithms=["EdDSA"])
    assert payload == verify_open_badge_jwt(token, keystore)


def test_payload_shape(keystore: KeyStore) -> None:
    expires = datetime(2028, 11, 22, 10, 0, tzinfo=UTC)
    token = _badge(keystore.active(), issued_at=ISSUED, expires_at=expires)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == "https://cert.flagos.example"
    assert payload["jti"] == "https://cert.flagos.example/verify/FLAGOS-L1-0011-ABCX"
    assert payload["sub"] == "FLAGOS-L1-0011-ABCX"
    assert (payload["nbf"], payload["exp"]) == (int(ISSUED.timestamp()), int(expires.timestamp()))

    vc = payload["vc"]
    assert vc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["id"] == payload["jti"]
    assert vc["issuer"] == {"id": payload["iss"], "type": ["Profile"], "name": "FlagOS Certification"}
    assert (vc["validFrom"], vc["validUntil"]) == ("2026-11-22T10:00:00Z", "2028-11-22T10:00:00Z")
    subject = vc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert [i["identityHash"] for i in subject["identifier"]] == ["Ada Lovelace", "艾达"], "both names inside"
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["id"]
    assert achievement["name"] == "FlagOS Operator Development Engineer"
    assert "FlagOS Operator Development Engineer" in achievement["description"]
    assert "FlagOS 算子开发工程师" in achievement["description"], "one fixed text carrying both languages"
    assert "L1" in achievement["criteria"]["narrative"]
    assert vc["credentialStatus"] == {
        "id": "https://cert.flagos.example/api/v1/certificates/status-list#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": "https://cert.flagos.example/api/v1/certificates/status-list",
    }


def test_a_holder_without_a_chinese_name_has_one_identity(keystore: KeyStore) -> None:
    payload = jwt.decode(_badge(keystore.active(), holder_name_zh=None), options={"verify_signature": False})
    assert [i["identityHash"] for i in payload["vc"]["credentialSubject"]["identifier"]] == ["Ada Lovelace"]


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["vc"]["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_tampered_token_is_refused(keystore: KeyStore) -> None:
    token = _tamper(_badge(keystore.active()))
    with pytest.raises(ValueError, match="altered"):
        verify_open_badge_jwt(token, keystore)
    (jwk,) = issuer_jwks(keystore)["keys"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWK(jwk), algorithms=["EdDSA"])


def test_a_token_from_another_key_store_is_refused(keystore: KeyStore, other_keystore: KeyStore) -> None:
    foreign = _badge(other_keystore.active())
    with pytest.raises(ValueError, match="does not know"):
        verify_open_badge_jwt(foreign, keystore)
    # Claiming our key id does not help.
    forged = resigned_as_ours(foreign, other_keystore, keystore)
    with pytest.raises(ValueError, match="altered"):
        verify_open_badge_jwt(forged, keystore)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_tokens_are_refused(keystore: KeyStore, token: str) -> None:
    with pytest.raises(ValueError):
        verify_open_badge_jwt(token, keystore)


def test_expired_badge_is_refused(keystore: KeyStore) -> None:
    token = _badge(keystore.active(), issued_at=ISSUED - timedelta(days=800), expires_at=ISSUED - timedelta(days=70))
    with pytest.raises(ValueError, match="expired"):
        verify_open_badge_jwt(token, keystore)
    # A stored badge is still checked for its signature once it has expired.
    assert verify_open_badge_jwt(token, keystore, at_time=False)["sub"] == "FLAGOS-L1-0011-ABCX"
    with pytest.raises(ValueError, match="altered"):
        verify_open_badge_jwt(_tamper(token), keystore, at_time=False)


def test_retired_key_token_still_verifies(keystore: KeyStore) -> None:
    old = keystore.active()
    token = _badge(old)
    new = keystore.rotate()
    assert {key["kid"] for key in issuer_jwks(keystore)["keys"]} == {old.key_id, new.key_id}
    assert verify_open_badge_jwt(token, keystore)["sub"] == "FLAGOS-L1-0011-ABCX"
    assert jwt.get_unverified_header(_badge(keystore.active()))["kid"] == new.key_id


def test_naive_datetimes_are_refused(keystore: KeyStore) -> None:
    with pytest.raises(ValueError, match="timezone"):
        _badge(keystore.active(), issued_at=datetime(2026, 11, 22, 10, 0))
