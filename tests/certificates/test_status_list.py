"""The signed revocation list: W3C Bitstring Status List encoding, its JWT, and the file in the key directory."""

from __future__ import annotations

import base64
import gzip
import threading
from datetime import UTC, datetime

import jwt
import pytest

from certplatform.certificates.badges import issuer_jwks
from certplatform.certificates.keys import KeyStore
from certplatform.certificates.status_list import (
    FILE_NAME,
    MIN_BITS,
    StatusListError,
    StatusListStore,
    decode_list,
    encode_list,
    read_status_list_jwt,
    status_list_jwt,
)
from tests.certificates.factories import resigned_as_ours

LIST_URL = "https://cert.flagos.example/api/v1/certificates/status-list"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _bits(encoded: str) -> bytes:
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_encoding_follows_the_specification() -> None:
    encoded = encode_list({0, 9, 131_071})
    assert encoded.startswith("u") and "=" not in encoded, "multibase base64url without padding"
    bits = _bits(encoded)
    assert len(bits) * 8 == MIN_BITS, "at least 16 KB, so the length reveals nothing"
    assert bits[0] == 0b1000_0000 and bits[1] == 0b0100_0000, "index 0 is the left-most bit"
    assert bits[-1] == 0b0000_0001
    assert decode_list(encoded) == {0, 9, 131_071}
    assert encode_list([5, 5]) == encode_list([5]), "the same bits always give the same text"
    assert len(_bits(encode_list({MIN_BITS}))) * 8 == 2 * MIN_BITS, "grows in whole blocks"
    assert decode_list(encode_list([])) == frozenset()


@pytest.mark.parametrize(
    "encoded",
    [
        "not multibase",
        "u!!!",
        "u" + base64.urlsafe_b64encode(b"not gzip").decode(),
        "u" + base64.urlsafe_b64encode(gzip.compress(b"\0" * 64, mtime=0)[:-6]).decode(),
        "u" + base64.urlsafe_b64encode(gzip.compress(b"\0" * (17 * 1024 * 1024), mtime=0)).decode(),
    ],
    # Named, not by value: the values are long and mostly binary.
    ids=["not multibase", "bad base64", "not gzip", "truncated gzip", "zip bomb"],
)
def test_malformed_lists_are_refused(encoded: str) -> None:
    with pytest.raises(ValueError):
        decode_list(encoded)


def test_the_list_is_a_credential_signed_like_the_badges(keystore: KeyStore) -> None:
    token = status_list_jwt(
        {3}, list_url=LIST_URL, issuer_url="https://i", issuer_name="FlagOS", keyset=keystore.active(), now=NOW
    )
    (jwk,) = issuer_jwks(keystore)["keys"]
    payload = jwt.decode(token, jwt.PyJWK(jwk), algorithms=["EdDSA"])
    credential = payload["vc"]
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["id"] == payload["jti"] == LIST_URL and credential["validFrom"] == "2026-11-23T09:00:00Z"
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    assert decode_list(subject["encodedList"]) == {3}
    assert read_status_list_jwt(token, keystore) == {3}


def test_a_list_from_another_key_is_refused(keystore: KeyStore, other_keystore: KeyStore) -> None:
    foreign = status_list_jwt(
        [], list_url=LIST_URL, issuer_url="https://i", issuer_name="x", keyset=other_keystore.active(), now=NOW
    )
    with pytest.raises(StatusListError, match="does not know"):
        read_status_list_jwt(foreign, keystore)
    with pytest.raises(StatusListError, match="signature"):
        read_status_list_jwt(resigned_as_ours(foreign, other_keystore, keystore), keystore)


def test_the_store_only_ever_adds_bits(keystore: KeyStore) -> None:
    store = StatusListStore(keystore.directory)
    assert store.token() is None and store.revoked(keystore) == frozenset()
    urls = {"list_url": LIST_URL, "issuer_url": "https://i", "issuer_name": "FlagOS"}
    store.add({4}, keystore=keystore, **urls)
    store.add({7}, keystore=keystore, **urls)
    assert store.revoked(keystore) == {4, 7}
    assert (keystore.directory / FILE_NAME).stat().st_mode & 0o777 == 0o644, "public, like the certificates"
    rotated = keystore.rotate()
    store.add(set(), keystore=keystore, **urls)
    assert jwt.get_unverified_header(store.token())["kid"] == rotated.key_id and store.revoked(keystore) == {4, 7}
    (keystore.directory / FILE_NAME).write_text("damaged\n", encoding="ascii")
    with pytest.raises(StatusListError):
        store.add({9}, keystore=keystore, **urls)
    assert (keystore.directory / FILE_NAME).read_text(encoding="ascii") == "damaged\n"


def test_concurrent_writers_lose_no_revocation(keystore: KeyStore) -> None:
    urls = {"list_url": LIST_URL, "issuer_url": "https://i", "issuer_name": "FlagOS"}
    workers = [
        threading.Thread(
            target=StatusListStore(keystore.directory).add, args=({i},), kwargs={"keystore": keystore, **urls}
        )
        for i in range(8)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert StatusListStore(keystore.directory).revoked(keystore) == set(range(8))


def test_no_key_directory_is_a_clear_error(tmp_path) -> None:
    store = StatusListStore(tmp_path / "missing")
    with pytest.raises(StatusListError, match="keys init"):
        store.add({1}, keystore=KeyStore(tmp_path / "missing"), list_url="a", issuer_url="b", issuer_name="c")
