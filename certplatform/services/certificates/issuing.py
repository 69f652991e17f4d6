"""Certificates: issue on approval (idempotent), with the signed snapshot, PDF and Open Badge made once.

Status is in status.py, computed from signed data only; revoking is in revocation.py.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from certplatform.config import PLATFORM_NAME
from certplatform.extensions import db
from certplatform.models import AttemptStatus, Certificate, CertLevel, ExamAttempt, User
from certplatform.models.types import utcnow
from certplatform.services import audit
from certplatform.urls import public_url

# The title each level certifies, as printed on certificates and in credentials.
TITLES = {
    CertLevel.L1: ("FlagOS Operator Development Engineer", "FlagOS 算子开发工程师"),
    CertLevel.L2: ("FlagOS Cross-Chip Adaptation Expert", "FlagOS 跨芯片适配专家"),
    CertLevel.L3: ("FlagOS Enterprise Training & Inference Architect", "FlagOS 企业级训推架构师"),
}
VALID, REVOKED, EXPIRED, INVALID = "valid", "revoked", "expired", "invalid"


class IssuingError(RuntimeError):
    """A certificate could not be issued (for example, no signing keys); nothing was stored."""


def keystore():
    from certplatform.certificates.keys import KeyStore

    return KeyStore(Path(current_app.config["CERT_KEYS_DIR"]))


def verify_url(certificate_id: str) -> str:
    """The certificate's verification page on the platform's public address (QR code, PDF, badge, LinkedIn)."""
    return public_url("verify.page", cert_id=certificate_id)


def status(cert: Certificate, now: datetime | None = None) -> str:
    """valid / revoked / expired / invalid, from signed data only (see status.py)."""
    from certplatform.services.certificates.status import assess

    return assess(cert, now).status


def _held(user: User, level: CertLevel | None = None) -> list[Certificate]:
    """The user's certificates that are valid by their signed data, newest expiry first."""
    from certplatform.services.certificates.status import assess_many, not_revoked

    now = utcnow()
    query = sa.select(Certificate).where(Certificate.user_id == user.id, Certificate.expires_at > now, not_revoked())
    if level is not None:
        query = query.where(Certificate.level == level)
    certs = db.session.scalars(query.order_by(Certificate.expires_at.desc())).all()
    found = assess_many(certs, now)
    return [cert for cert in certs if found[cert.id].status == VALID]


def valid_certificate(user: User, level: CertLevel) -> Certificate | None:
    held = _held(user, level)
    return held[0] if held else None


def certified_levels(user: User) -> set[str]:
    return {cert.level for cert in _held(user)}


def snapshot_for(
    cert_id: str,
    attempt: ExamAttempt,
    issued_at: datetime,
    expires_at: datetime,
    renews: str | None,
    status_index: int,
    pdf_sha256: str,
) -> dict[str, Any]:
    """The immutable record the signature covers: only strings, integers and None (no floats)."""
    user = db.session.get(User, attempt.user_id)
    level = attempt.exam.level
    title_en, title_zh = TITLES[level]
    # Newer snapshots carry the exam evidence (each task's share of the score and the score it got; never code):
    # the public certificate page shows it from here, so it is as trustworthy as the rest of the record.
    from certplatform.services.attempts import live_tasks, task_score

    tasks = live_tasks(attempt.exam)
    total_weight = sum(task.weight for task in tasks) or 1.0
    evidence = [
        {
            "task": task.slug,
            "weight_basis_points": round(task.weight / total_weight * 10_000),
            "score_basis_points": round(task_score(attempt, task) * 10_000),
        }
        for task in tasks
    ]
    return {
        "certificate_id": cert_id,
        "holder": {"name_latin": user.name_latin, "name_zh": user.name_zh},
        "user_id": user.id,
        "attempt_id": attempt.id,
        "level": level.value,
        "title": {"en": title_en, "zh": title_zh},
        "exam": attempt.exam.slug,
        "score_basis_points": round((attempt.score or 0.0) * 10_000),
        "evidence": evidence,
        "issued_at": issued_at.isoformat(timespec="seconds"),
        "expires_at": expires_at.isoformat(timespec="seconds"),
        "content_version": attempt.content_version,
        "renews": renews,
        "status_index": status_index,
        "pdf_sha256": pdf_sha256,
        "issuer": PLATFORM_NAME,
    }


def _next_status_index() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Certificate.status_index), -1) + 1))


def open_badge_for(cert_id: str, snapshot: dict[str, Any], status_index: int, keyset) -> str:
    """The certificate's Open Badge, in one fixed form (English names, the Chinese ones alongside)."""
    from certplatform.certificates.badges import open_badge_jwt
    from certplatform.certificates.status_list import status_entry

    return open_badge_jwt(
        certificate_id=cert_id,
        holder_name=snapshot["holder"]["name_latin"],
        holder_name_zh=snapshot["holder"].get("name_zh"),
        title_en=snapshot["title"]["en"],
        title_zh=snapshot["title"]["zh"],
        level=snapshot["level"],
        issued_at=datetime.fromisoformat(snapshot["issued_at"]),
        expires_at=datetime.fromisoformat(snapshot["expires_at"]),
        issuer_url=public_url("api.issuer"),
        verify_url=verify_url(cert_id),
        credential_status=status_entry(public_url("api.status_list"), status_index),
        keyset=keyset,
    )


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
    title_en, title_zh = TITLES[level]
    document = CertificateDocument(
        certificate_id=cert_id,
        holder_name_latin=user.name_latin,
        holder_name_zh=user.name_zh,
        level=level.value,
        title_en=title_en,
        title_zh=title_zh,
        issued_on=issued_at.date().isoformat(),
        expires_on=expires_at.date().isoformat(),
        score_percent=f"{round((attempt.score or 0.0) * 10_000) / 100:.1f}%",
        verify_url=verify_url(cert_id),
        key_fingerprint=keyset.key_id,
    )
    pdf = sign_pdf(render_pdf(document), keyset)
    pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    # Status indexes are handed out in order; two approvals at the same moment may pick the same one, and the
    # unique constraint turns the second into a retry with the next index.
    for _attempt in range(5):
        status_index = _next_status_index()
        snapshot = snapshot_for(cert_id, attempt, issued_at, expires_at, previous, status_index, pdf_sha256)
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
            status_index=status_index,
            pdf=pdf,
            open_badge=open_badge_for(cert_id, snapshot, status_index, keyset),
            renews_id=previous,
        )
        try:
            with db.session.begin_nested():
                db.session.add(cert)
        except IntegrityError:
            existing = db.session.scalar(sa.select(Certificate).where(Certificate.attempt_id == attempt.id))
            if existing is not None:  # approved twice at once: the other approval issued it
                return existing
            continue
        break
    else:
        raise IssuingError(_("The certificate could not be issued right now; please try again."))
    audit.record(None, "certificate.issue", "certificate", cert_id, attempt_id=attempt.id, level=level.value)
    return cert


def open_badge(cert: Certificate) -> str:
    """The certificate's one Open Badge; certificates issued before badges were stored get theirs made now."""
    if cert.open_badge is None:
        from certplatform.services.certificates.status import assess, status_index

        found = assess(cert)
        if found.facts is None:
            raise IssuingError(_("This certificate's record fails its integrity check."))
        index = status_index(cert, found.facts)
        cert.open_badge = open_badge_for(cert.id, cert.snapshot, index, keystore().get(cert.key_id))
        db.session.commit()
    from certplatform.certificates.badges import verify_open_badge_jwt

    try:  # the stored badge is a column like any other: hand it out only while it is ours and this certificate's
        payload = verify_open_badge_jwt(cert.open_badge, keystore(), at_time=False)
    except ValueError:
        payload = {}
    if payload.get("sub") != cert.id:
        raise IssuingError(_("The stored Open Badge of this certificate fails its integrity check."))
    return cert.open_badge


def issued_document(cert: Certificate, facts: Any, data: bytes) -> bool:
    """Whether `data` is the PDF issued for `cert`: by the hash its signed snapshot names (`facts`, from
    status.py), or, for certificates signed before snapshots named it, by the stored file."""
    digest = hashlib.sha256(data).hexdigest()
    if facts is not None and facts.pdf_sha256 is not None:
        return digest == facts.pdf_sha256
    return digest == hashlib.sha256(cert.pdf).hexdigest()


def lookup(raw_id: str) -> Certificate | None:
    from certplatform.certificates.ids import normalize_certificate_id

    cert_id = normalize_certificate_id(raw_id or "")
    return db.session.get(Certificate, cert_id) if cert_id else None
