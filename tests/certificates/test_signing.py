"""Ed25519 signatures over canonical JSON snapshots."""

from __future__ import annotations

import copy

import pytest

from certplatform.certificates.keys import KeyStore
from certplatform.certificates.signing import canonical_json, sign_snapshot, verify_snapshot

SNAPSHOT = {
    "certificate_id": "FLAGOS-L1-0011-ABCX",
    "holder": {"latin": "Ada Lovelace", "zh": "艾达·洛夫莱斯"},
    "level": "L1",
    "score_basis_points": 9250,
    "issued_on": "2026-11-22",
    "expires_on": "2028-11-22",
    "content_version": {"exam": "l1-operators", "revision": 3},
    "renewal_of": None,
    "two_reviews": False,
    "criteria": ["correctness", "strides"],
}


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, "é"], "c": None}}) == '{"a":{"c":null,"d":[1,"é"]},"b":1}'.encode()
    assert canonical_json(dict(reversed(list(SNAPSHOT.items())))) == canonical_json(SNAPSHOT)


@pytest.mark.parametrize("bad", [{"score": 92.5}, {"nested": {"list": [1, 2.0]}}, {"x": float("nan")}])
def test_floats_are_refused(bad: dict) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_json(bad)


def test_non_string_keys_and_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({1: "a"})
    with pytest.raises(TypeError):
        canonical_json({"when": object()})


def test_round_trip(keystore: KeyStore) -> None:
    keyset = keystore.active()
    signature = sign_snapshot(SNAPSHOT, keyset)
    assert "=" not in signature and "+" not in signature and "/" not in signature
    assert verify_snapshot(copy.deepcopy(SNAPSHOT), signature, keyset.ed25519_public)


def _changed(snapshot: dict, path: tuple, value: object) -> dict:
    result = copy.deepcopy(snapshot)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("certificate_id",), "FLAGOS-L1-0011-ABCY"),
        (("holder", "latin"), "Ada Lovelac"),
        (("holder", "zh"), "艾达"),
        (("level",), "L2"),
        (("score_basis_points",), 9251),
        (("expires_on",), "2030-11-22"),
        (("content_version", "revision"), 4),
        (("renewal_of",), "FLAGOS-L1-0000-0000"),
        (("two_reviews",), True),
        (("two_reviews",), 0),
        (("criteria",), ["strides", "correctness"]),
        (("extra",), None),
    ],
)
def test_any_change_fails(keystore: KeyStore, path: tuple, value: object) -> None:
    keyset = keystore.active()
    signature = sign_snapshot(SNAPSHOT, keyset)
    assert not verify_snapshot(_changed(SNAPSHOT, path, value), signature, keyset.ed25519_public)


def test_a_removed_field_fails(keystore: KeyStore) -> None:
    keyset = keystore.active()
    signature = sign_snapshot(SNAPSHOT, keyset)
    smaller = {k: v for k, v in SNAPSHOT.items() if k != "renewal_of"}
    assert not verify_snapshot(smaller, signature, keyset.ed25519_public)


def test_key_from_another_store_fails(keystore: KeyStore, other_keystore: KeyStore) -> None:
    signature = sign_snapshot(SNAPSHOT, keystore.active())
    assert not verify_snapshot(SNAPSHOT, signature, other_keystore.active().ed25519_public)


@pytest.mark.parametrize("signature", ["", "not base64!", "AAAA", "A" * 86, "A" * 200])
def test_malformed_signatures_are_false_not_errors(keystore: KeyStore, signature: str) -> None:
    assert not verify_snapshot(SNAPSHOT, signature, keystore.active().ed25519_public)


def test_a_float_in_a_stored_snapshot_does_not_verify(keystore: KeyStore) -> None:
    keyset = keystore.active()
    signature = sign_snapshot(SNAPSHOT, keyset)
    assert not verify_snapshot({**SNAPSHOT, "score_basis_points": 9250.0}, signature, keyset.ed25519_public)
