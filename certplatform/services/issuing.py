"""Certificates: issue on approval (idempotent), their status, revocation, and what verification shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.models import AttemptStatus, Certificate, CertLevel, ExamAttempt, User
from certplatform.models.types import utcnow
from certplatform.services import audit
from certplatform.services.eligibility import CERTIFIED_LEVEL_SOURCES

# The title each level certifies, as printed on certificates and in credentials.
TITLES = {
    CertLevel.L1: ("FlagOS Operator Development Engineer", "FlagOS 算子开发工程师"),
    CertLevel.L2: ("FlagOS Cross-Chip Adaptation Expert", "FlagOS 跨芯片适配专家"),
    CertLevel.L3: ("FlagOS Enterprise Training & Inference Architect", "FlagOS 企业级训推架构师"),
}
VALID, REVOKED, EXPIRED = "valid", "revoked", "expired"


class IssuingError(RuntimeError):
    """A certificate could not be issued (for example, no signing keys); nothing was stored."""


def keystore():
    from certplatform.certificates.keys import KeyStore

    return KeyStore(Path(current_app.config["CERT_KEYS_DIR"]))


def verify_url(certificate_id: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/verify/{certificate_id}"


def status(cert: Certificate, now: datetime | None = None) -> str:
    if cert.revoked_at is not None:
        return REVOKED
    return EXPIRED if cert.expires_at <= (now or utcnow()) else VALID


def valid_certificate(user: User, level: CertLevel) -> Certificate | None:
    now = utcnow()
    return db.session.scalar(
        sa.select(Certificate)
        .where(
            Certificate.user_id == user.id,
            Certificate.level == level,
            Certificate.revoked_at.is_(None),
            Certificate.expires_at > now,
        )
        .order_by(Certificate.expires_at.desc())
        .limit(1)
    )


def certified_levels(user: User) -> set[str]:
    now = utcnow()
    return set(
        db.session.scalars(
            sa.select(Certificate.level).where(
                Certificate.user_id == user.id, Certificate.revoked_at.is_(None), Certificate.expires_at > now
            )
        )
    )


CERTIFIED_LEVEL_SOURCES.append(lambda user: {level.value for level in certified_levels(user)})


def snapshot_for(
    cert_id: str, attempt: ExamAttempt, issued_at: datetime, expires_at: datetime, renews: str | None
) -> dict[str, Any]:
    """The immutable record the signature covers: only strings, integers and None (no floats)."""
    user = db.session.get(User, attempt.user_id)
    level = attempt.exam.level
    title_en, title_zh = TITLES[level]
    return {
        "certificate_id": cert_id,
        "holder": {"name_latin": user.name_latin, "name_zh": user.name_zh},
        "level": level.value,
        "title": {"en": title_en, "zh": title_zh},
        "exam": attempt.exam.slug,
        "score_basis_points": round((attempt.score or 0.0) * 10_000),
        "issued_at": issued_at.isoformat(timespec="seconds"),
        "expires_at": expires_at.isoformat(timespec="seconds"),
        "content_version": attempt.content_version,
        "renews": renews,
        "issuer": "FlagOS Certification",
    }


def issue(attempt: ExamAttempt, issued_at: datetime | None = None) -> Certificate:
    """The attempt's certificate, issuing it on the first call (in the caller's transaction).

    `issued_at` backdates a certificate (demo data and imports only); approvals always issue now.
    """
    from certplatform.certificates.ids import new_certificate_id
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.certificates.pdf import CertificateDocument, render_pdf, sign_pdf
    from certplatform.certificates.signing import sign_snapshot

    existing = db.session.scalar(sa.select(Certificate).where(Certificate.attempt_id == attempt.id))
    if existing is not None:
        return existing
    if attempt.status != AttemptStatus.APPROVED:
        raise IssuingError("only approved attempts are certified")
    try:
        keyset = keystore().active()
    except CertificateKeyError as exc:
        raise IssuingError(_("Certificates cannot be signed yet: %(reason)s", reason=str(exc))) from exc
    user = db.session.get(User, attempt.user_id)
    level = attempt.exam.level
    previous = db.session.scalar(
        sa.select(Certificate.id)
        .where(Certificate.user_id == user.id, Certificate.level == level)
        .order_by(Certificate.issued_at.desc())
        .limit(1)
    )
    cert_id = new_certificate_id(level.value)
    while db.session.get(Certificate, cert_id) is not None:  # 32 random bits: a clash is rare, never silent
        cert_id = new_certificate_id(level.value)
    issued_at = (issued_at or utcnow()).replace(microsecond=0)
    expires_at = issued_at + timedelta(days=current_app.config["CERT_VALIDITY_DAYS"])
    snapshot = snapshot_for(cert_id, attempt, issued_at, expires_at, previous)
    document = CertificateDocument(
        certificate_id=cert_id,
        holder_name_latin=user.name_latin,
        holder_name_zh=user.name_zh,
        level=level.value,
        title_en=snapshot["title"]["en"],
        title_zh=snapshot["title"]["zh"],
        issued_on=issued_at.date().isoformat(),
        expires_on=expires_at.date().isoformat(),
        score_percent=f"{snapshot['score_basis_points'] / 100:.1f}%",
        verify_url=verify_url(cert_id),
        key_fingerprint=keyset.key_id,
    )
    cert = Certificate(
        id=cert_id,
        user_id=user.id,
        attempt_id=attempt.id,
        level=level,
        issued_at=issued_at,
        expires_at=expires_at,
        snapshot=snapshot,
        signature=sign_snapshot(snapshot, keyset),
        key_id=keyset.key_id,
        pdf=sign_pdf(render_pdf(document), keyset),
        renews_id=previous,
    )
    db.session.add(cert)
    audit.record(None, "certificate.issue", "certificate", cert_id, attempt_id=attempt.id, level=level.value)
    return cert


def lookup(raw_id: str) -> Certificate | None:
    from certplatform.certificates.ids import normalize_certificate_id

    cert_id = normalize_certificate_id(raw_id or "")
    return db.session.get(Certificate, cert_id) if cert_id else None


def signature_intact(cert: Certificate) -> bool:
    """The stored record still matches its Ed25519 signature."""
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.certificates.signing import verify_snapshot

    try:
        key = keystore().get(cert.key_id).ed25519_public
    except CertificateKeyError:
        return False
    return verify_snapshot(cert.snapshot, cert.signature, key)


def revoke(admin: User, cert: Certificate, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise IssuingError(_("A revocation needs a reason."))
    if cert.revoked_at is not None:
        raise IssuingError(_("This certificate is already revoked."))
    cert.revoked_at = utcnow()
    cert.revoked_by_id = admin.id
    cert.revocation_reason = reason[:2000]
    audit.record(admin, "certificate.revoke", "certificate", cert.id, reason=reason)
    db.session.commit()


def public_record(cert: Certificate) -> dict[str, Any]:
    """The HTTP contract's certificate object (GET /api/v1/certificates/<id>)."""
    snap = cert.snapshot
    return {
        "certificate_id": cert.id,
        "status": status(cert),
        "holder_name": snap["holder"]["name_latin"],
        "level": snap["level"],
        "title": snap["title"]["en"],
        "issued_at": snap["issued_at"],
        "expires_at": snap["expires_at"],
        "revocation_reason": cert.revocation_reason,
    }
