"""Revoking a certificate, and publishing the signed status list that carries every revocation.

A revocation is a CertificateRevocation signed at revocation (what the signature covers is
status.revocation_payload, which checks it) plus the certificate's bit in the signed status list kept
outside the database (certplatform/certificates/status_list.py). Both are append-only: bits are never cleared.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.models import Certificate, CertificateRevocation, User
from certplatform.models.types import utcnow
from certplatform.services import audit
from certplatform.services.certificates.issuing import IssuingError, keystore
from certplatform.services.certificates.status import assess, assess_many, not_revoked, revocation_payload, status_index
from certplatform.urls import public_url


def _publish(indexes: set[int]) -> str:
    """Add bits to the signed status list (keeping every bit set before) and return the new list."""
    from certplatform.certificates.status_list import StatusListStore

    store = keystore()
    return StatusListStore(store.directory).add(
        indexes,
        keystore=store,
        list_url=public_url("api.status_list"),
        issuer_url=public_url("api.issuer"),
        issuer_name=store.active().issuer_name,
    )


def revoke(admin: User, cert: Certificate, reason: str) -> None:
    """Revoke with a reason: a signed record in the database, and the certificate's bit in the signed list."""
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.certificates.signing import sign_snapshot
    from certplatform.certificates.status_list import StatusListError

    reason = (reason or "").strip()
    if not reason:
        raise IssuingError(_("A revocation needs a reason."))
    current = assess(cert)
    if current.revocation is not None:
        raise IssuingError(_("This certificate is already revoked."))
    if db.session.scalar(sa.select(CertificateRevocation.id).where(CertificateRevocation.certificate_id == cert.id)):
        raise IssuingError(_("A damaged revocation record exists for this certificate; the operators must repair it."))
    try:
        keyset = keystore().active()
        record = CertificateRevocation(
            certificate_id=cert.id,
            revoked_at=utcnow().replace(microsecond=0),
            revoked_by_id=admin.id,
            reason=reason[:2000],
            key_id=keyset.key_id,
            signature="",
        )
        record.signature = sign_snapshot(revocation_payload(cert, record), keyset)
        db.session.add(record)
        audit.record(admin, "certificate.revoke", "certificate", cert.id, reason=reason)
        db.session.flush()
        # The list is written before the commit: if the commit fails, the certificate shows as not valid (a bit
        # without a record) instead of valid, and revoking it again completes the record.
        _publish({status_index(cert, current.facts)})
    except (CertificateKeyError, StatusListError, OSError) as exc:
        db.session.rollback()
        raise IssuingError(_("The revocation could not be signed: %(reason)s", reason=str(exc))) from exc
    db.session.commit()


def status_list_token() -> str:
    """The signed status list as published; the first request after `keys init` writes an empty one."""
    from certplatform.certificates.keys import CertificateKeyError
    from certplatform.certificates.status_list import StatusListError, StatusListStore

    try:
        token = StatusListStore(Path(current_app.config["CERT_KEYS_DIR"])).token()
        return token if token is not None else _publish(set())
    except (CertificateKeyError, StatusListError, OSError) as exc:
        raise IssuingError(_("The revocation list cannot be published: %(reason)s", reason=str(exc))) from exc


def republish_status_list() -> int:
    """Sign the list again under the current public address and active key; returns how many bits are set.

    Every verified revocation the list lacks is added (a key directory restored from an older backup); bits are
    never cleared.
    """
    from certplatform.certificates.status_list import StatusListStore

    revoked = db.session.scalars(
        sa.select(Certificate).where(~not_revoked())  # certificates that have a revocation record
    ).all()
    found = assess_many(revoked)
    indexes = {status_index(cert, found[cert.id].facts) for cert in revoked if found[cert.id].revocation is not None}
    _publish(indexes)
    store = keystore()
    return len(StatusListStore(store.directory).revoked(store))
