"""What employers check: a certificate PDF against our signature and a live record, and our published keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import url_for

from certplatform.models import Certificate
from certplatform.services import issuing


@dataclass(frozen=True)
class PdfVerification:
    signed: bool
    intact: bool
    trusted: bool
    certificate: Certificate | None
    status: str | None  # valid / revoked / expired of the matching record
    same_document: bool  # byte for byte the PDF the platform issued
    problem: str | None

    @property
    def genuine(self) -> bool:
        """Signed by the platform, unmodified, and the very document issued for a record that exists."""
        return self.signed and self.intact and self.trusted and self.certificate is not None and self.same_document

    @property
    def valid(self) -> bool:
        return self.genuine and self.status == issuing.VALID


def check_uploaded_pdf(data: bytes) -> PdfVerification:
    from certplatform.certificates.pdf import check_pdf

    check = check_pdf(data, issuing.keystore())
    cert = issuing.lookup(check.certificate_id) if check.certificate_id else None
    same = cert is not None and hashlib.sha256(cert.pdf).digest() == hashlib.sha256(data).digest()
    problem = check.problem
    if problem is None and cert is None:
        problem = "no certificate with this document's ID exists"
    elif problem is None and not same:
        problem = "signed by the platform, but not the document that was issued for this certificate"
    return PdfVerification(
        signed=check.signed,
        intact=check.intact,
        trusted=check.trusted,
        certificate=cert,
        status=issuing.status(cert) if cert else None,
        same_document=same,
        problem=problem,
    )


def published_keys() -> list[dict[str, Any]]:
    from certplatform.certificates.keys import CertificateKeyError

    store = issuing.keystore()
    try:
        sets = store.all()
    except CertificateKeyError:
        return []
    return [
        {
            "key_id": k.key_id,
            "created_at": k.created_at.isoformat(timespec="seconds"),
            "active": k.active,
            "pdf_certificate_sha256": k.pdf_cert_fingerprint(),
            "pdf_certificate_pem": k.pdf_cert_pem(),
        }
        for k in sets
    ]


def issuer_profile() -> dict[str, Any]:
    from certplatform.certificates.badges import issuer_jwks

    keys = published_keys()
    return {
        "id": url_for("api.issuer", _external=True),
        "type": ["Profile"],
        "name": "FlagOS Certification",
        "url": url_for("main.index", _external=True),
        "jwks": issuer_jwks(issuing.keystore()) if keys else {"keys": []},
        "pdf_signing_certificates": keys,
    }
