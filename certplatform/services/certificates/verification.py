"""What employers check: a certificate PDF against our signature and a live record, and our published keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from certplatform.config import PLATFORM_NAME
from certplatform.models import Certificate
from certplatform.services.certificates import issuing
from certplatform.services.certificates.status import Assessment, assess
from certplatform.urls import public_url

log = logging.getLogger(__name__)

NO_RECORD = "no_record"
NOT_ISSUED_DOCUMENT = "not_issued_document"
KEYS_UNREADABLE = "keys_unreadable"


def problem_messages() -> dict[str, Any]:
    """Why an uploaded PDF is not a genuine certificate, in words, by the codes the PDF library reports."""
    from certplatform.certificates import pdf  # ReportLab and pyHanko load only when a PDF is checked

    return {
        pdf.NOT_A_PDF: _l("The file is not a PDF."),
        pdf.UNREADABLE_PDF: _l("The PDF is damaged and cannot be read."),
        pdf.NO_SIGNATURE: _l("The PDF carries no signature."),
        pdf.UNREADABLE_SIGNATURE: _l("The PDF's signature is damaged."),
        pdf.MODIFIED: _l("The PDF was modified after it was signed."),
        pdf.NOT_OURS: _l("The PDF is not signed by the platform."),
        pdf.UNTRUSTED: _l("The platform's signing certificate in this PDF was not accepted."),
        pdf.NO_KEYS: _l("The platform has no signing keys yet, so nothing can be checked."),
        KEYS_UNREADABLE: _l("The platform's signing keys cannot be read right now, so nothing can be checked."),
        NO_RECORD: _l("No certificate with this document's ID exists."),
        NOT_ISSUED_DOCUMENT: _l("Signed by the platform, but not the document that was issued for this certificate."),
    }


@dataclass(frozen=True)
class PdfVerification:
    signed: bool
    intact: bool
    trusted: bool
    certificate: Certificate | None
    assessment: Assessment | None  # the matching record's status, from signed data
    same_document: bool  # byte for byte the PDF the platform issued
    problem: str | None  # a code of problem_messages()

    @property
    def status(self) -> str | None:
        return self.assessment.status if self.assessment else None

    @property
    def problem_message(self) -> str | None:
        return str(problem_messages()[self.problem]) if self.problem else None

    @property
    def genuine(self) -> bool:
        """Signed by the platform, unmodified, and the very document issued for a record that exists."""
        return self.signed and self.intact and self.trusted and self.certificate is not None and self.same_document

    @property
    def valid(self) -> bool:
        return self.genuine and self.status == issuing.VALID


def check_uploaded_pdf(data: bytes) -> PdfVerification:
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.certificates.pdf import check_pdf

    try:
        check = check_pdf(data, issuing.keystore())
    except CertificateKeyError as exc:  # the operators' problem: the upload is judged not genuine, never valid
        log.error("checking an uploaded PDF: %s", exc)
        return PdfVerification(False, False, False, None, None, False, KEYS_UNREADABLE)
    cert = issuing.lookup(check.certificate_id) if check.certificate_id else None
    found = assess(cert) if cert is not None else None
    same = cert is not None and issuing.issued_document(cert, found.facts, bytes(data))
    problem = check.problem
    if problem is None and cert is None:
        problem = NO_RECORD
    elif problem is None and not same:
        problem = NOT_ISSUED_DOCUMENT
    return PdfVerification(
        signed=check.signed,
        intact=check.intact,
        trusted=check.trusted,
        certificate=cert,
        assessment=found,
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
        "id": public_url("api.issuer"),
        "type": ["Profile"],
        "name": PLATFORM_NAME,
        "url": public_url("main.index"),
        "jwks": issuer_jwks(issuing.keystore()) if keys else {"keys": []},
        "pdf_signing_certificates": keys,
        "revocation_list": public_url("api.status_list"),
    }
