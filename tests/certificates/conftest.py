"""Fixtures for the certificate library: throwaway key stores and a sample certificate document."""

from __future__ import annotations

from pathlib import Path

import pytest

from certplatform.certificates.keys import KeyStore
from certplatform.certificates.pdf import CertificateDocument
from tests.certificates.factories import make_document


@pytest.fixture
def keystore(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys")
    store.init()
    return store


@pytest.fixture
def other_keystore(tmp_path: Path) -> KeyStore:
    """Someone else's keys: same software, same issuer name, different key material."""
    store = KeyStore(tmp_path / "other-keys")
    store.init()
    return store


@pytest.fixture
def document(keystore: KeyStore) -> CertificateDocument:
    return make_document(keystore)
