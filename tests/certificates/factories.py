"""Sample certificate documents for the tests."""

from __future__ import annotations

from certplatform.certificates.ids import new_certificate_id
from certplatform.certificates.keys import KeyStore
from certplatform.certificates.pdf import CertificateDocument


def resigned_as_ours(token: str, signer: KeyStore, ours: KeyStore) -> str:
    """`token`'s claims signed with `signer`'s key but naming `ours` key id in the header: a forgery to refuse."""
    import jwt

    return jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        signer.active().ed25519_private,
        algorithm="EdDSA",
        headers={"kid": ours.active().key_id},
    )


def make_document(keystore: KeyStore, **overrides: str | None) -> CertificateDocument:
    certificate_id = new_certificate_id("L1")
    values: dict[str, str | None] = {
        "certificate_id": certificate_id,
        "holder_name_latin": "Ada Lovelace",
        "holder_name_zh": "艾达·洛夫莱斯",
        "level": "L1",
        "title_en": "FlagOS Operator Development Engineer",
        "title_zh": "FlagOS 算子开发工程师",
        "issued_on": "2026-11-22",
        "expires_on": "2028-11-22",
        "score_percent": "92.5%",
        "verify_url": f"https://cert.flagos.example/verify/{certificate_id}",
        "key_fingerprint": keystore.active().pdf_cert_fingerprint(),
    }
    values.update(overrides)
    return CertificateDocument(**values)  # type: ignore[arg-type]
