"""Key files: permissions, init/rotate, lookup."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certplatform.certificates.keys import CertificateKeyError, KeyStore, directory_fingerprint
from certplatform.certificates.signing import sign_snapshot, verify_snapshot


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_files_0600_in_a_0700_directory(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    assert not store.exists()
    keyset = store.init()
    assert store.exists()
    assert _mode(tmp_path / "keys") == 0o700
    folder = tmp_path / "keys" / keyset.key_id
    assert _mode(folder) == 0o700
    private_files = sorted(folder.glob("*key*.pem")) + sorted(folder.glob("ed25519*.pem"))
    assert len(private_files) == 2
    for path in private_files:
        assert _mode(path) == 0o600, path
        assert b"PRIVATE KEY" in path.read_bytes()
    for path in folder.iterdir():
        if path not in private_files:
            assert b"PRIVATE" not in path.read_bytes(), path


def test_init_tightens_an_existing_directory(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    KeyStore(directory).init()
    assert _mode(directory) == 0o700


def test_key_set_contents(keystore: KeyStore) -> None:
    keyset = keystore.active()
    raw = keyset.ed25519_public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert keyset.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert keyset.active
    assert keyset.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - keyset.created_at) < timedelta(minutes=1)

    cert = keyset.pdf_cert
    assert cert.subject == cert.issuer
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_cert_sign
    assert cert.not_valid_after_utc - cert.not_valid_before_utc > timedelta(days=3650)
    assert cert.public_key() == keyset.pdf_key.public_key()

    assert keyset.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")
    assert x509.load_pem_x509_certificate(keyset.pdf_cert_pem().encode()) == cert
    fingerprint = keyset.pdf_cert_fingerprint()
    assert fingerprint == hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    assert "PRIVATE" not in repr(keyset) and "key_id" in repr(keyset)


def test_second_init_is_refused_and_changes_nothing(keystore: KeyStore) -> None:
    before = keystore.active()
    with pytest.raises(CertificateKeyError, match="rotate"):
        keystore.init()
    assert [k.key_id for k in keystore.all()] == [before.key_id]


def test_rotate_adds_an_active_key_set_and_keeps_the_old_one(keystore: KeyStore) -> None:
    old = keystore.active()
    snapshot = {"certificate_id": "FLAGOS-L1-0000-000", "score": 925}
    old_signature = sign_snapshot(snapshot, old)

    new = keystore.rotate()
    assert new.key_id != old.key_id
    assert new.active
    assert keystore.active().key_id == new.key_id
    assert [k.key_id for k in keystore.all()] == [old.key_id, new.key_id]
    assert [k.active for k in keystore.all()] == [False, True]

    retired = keystore.get(old.key_id)
    assert not retired.active
    assert verify_snapshot(snapshot, old_signature, retired.ed25519_public)
    assert retired.pdf_cert_fingerprint() == old.pdf_cert_fingerprint()

    # Reloading from disk (another process) sees the same state.
    reloaded = KeyStore(keystore.directory)
    assert reloaded.active().key_id == new.key_id
    assert verify_snapshot(snapshot, old_signature, reloaded.get(old.key_id).ed25519_public)


def test_active_without_keys_says_how_to_create_them(tmp_path: Path) -> None:
    for directory in (tmp_path / "missing", tmp_path):
        with pytest.raises(CertificateKeyError, match="certplatform keys init"):
            KeyStore(directory).active()
    assert KeyStore(tmp_path / "missing").all() == []


def test_rotate_without_keys_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CertificateKeyError, match="keys init"):
        KeyStore(tmp_path / "keys").rotate()


@pytest.mark.parametrize("key_id", ["0123456789abcdef", "../../etc/passwd", "", "ACTIVE", None])
def test_unknown_key_id(keystore: KeyStore, key_id: str) -> None:
    with pytest.raises(CertificateKeyError, match="unknown"):
        keystore.get(key_id)


def test_a_swapped_key_file_is_detected(tmp_path: Path) -> None:
    first, second = KeyStore(tmp_path / "a"), KeyStore(tmp_path / "b")
    a, b = first.init(), second.init()
    target = first.directory / a.key_id / "ed25519.pem"
    target.write_bytes((second.directory / b.key_id / "ed25519.pem").read_bytes())
    with pytest.raises(CertificateKeyError, match="does not match"):
        first.get(a.key_id)


def test_issuer_name_is_kept(tmp_path: Path) -> None:
    keyset = KeyStore(tmp_path / "keys").init(issuer_name="FlagOS Test Issuer")
    assert keyset.issuer_name == "FlagOS Test Issuer"


@pytest.mark.parametrize("issuer_name", ["", "   ", "x" * 65])
def test_unusable_issuer_names_are_refused(tmp_path: Path, issuer_name: str) -> None:
    with pytest.raises(ValueError, match="issuer name"):
        KeyStore(tmp_path / "keys").init(issuer_name=issuer_name)
    assert not KeyStore(tmp_path / "keys").exists()


def test_fingerprint_moves_when_any_key_file_is_rewritten_rotated_or_removed(keystore: KeyStore) -> None:
    first = directory_fingerprint(keystore.directory)
    assert first == directory_fingerprint(keystore.directory)
    meta = keystore.directory / keystore.active().key_id / "meta.json"
    meta.write_bytes(meta.read_bytes())  # same bytes, same size: still a write
    rewritten = directory_fingerprint(keystore.directory)
    assert rewritten != first
    keystore.rotate()
    rotated = directory_fingerprint(keystore.directory)
    assert rotated != rewritten
    (keystore.directory / "status-list.jwt").write_text("x")
    assert directory_fingerprint(keystore.directory) != rotated


def test_fingerprint_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert directory_fingerprint(tmp_path / "absent") == ()


def test_fingerprint_lists_a_folder_again_only_when_its_listing_may_be_stale(keystore: KeyStore, monkeypatch) -> None:
    import os
    import time

    from certplatform.certificates import keys

    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(keys.os, "listdir", lambda folder: listed.append(folder) or real_listdir(folder))
    first = directory_fingerprint(keystore.directory)
    (keystore.directory / "extra").write_text("x")  # within the clock tick of the listing, perhaps
    assert directory_fingerprint(keystore.directory) != first, "a listing read just after a change is not reused"

    later = time.time_ns() + 10 * keys._SETTLED_NS
    monkeypatch.setattr(keys.time, "time_ns", lambda: later)
    settled = directory_fingerprint(keystore.directory)
    listed.clear()
    assert directory_fingerprint(keystore.directory) == settled and listed == [], "a settled listing is reused"
    time.sleep(0.05)
    (keystore.directory / "another").write_text("x")
    assert directory_fingerprint(keystore.directory) != settled and listed, "an entry added moves the folder's times"
    (keystore.directory / ".lock").write_text("held")
    assert all(".lock" not in entry[0] for entry in directory_fingerprint(keystore.directory))
