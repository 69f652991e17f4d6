"""Issued certificates and their signed revocations: immutable once written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.exams import ExamAttempt
from certplatform.models.learning import CertLevel
from certplatform.models.types import UTCDateTime, enum_type
from certplatform.models.user import User


class Certificate(db.Model):
    """An issued certificate. The snapshot and its signature never change.

    Its status comes only from signed data: expiry from the signed snapshot, revocation from a signed
    CertificateRevocation and the signed status list (services/certificates/status.py). The plain columns copy a few
    snapshot facts so that queries can filter on them; they are checked against the snapshot, never trusted alone.
    """

    __tablename__ = "certificates"

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)  # FLAGOS-L1-XXXX-XXXX
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_attempts.id"), unique=True)  # one per attempt
    level: Mapped[CertLevel] = mapped_column(enum_type(CertLevel, "cert_level"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    signature: Mapped[str] = mapped_column(sa.String(128))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    status_index: Mapped[int] = mapped_column(unique=True)  # this certificate's bit in the signed status list
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    # The Open Badge (a signed JWT), made once at issue; certificates issued before badges were stored get theirs
    # on first download.
    open_badge: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    renews_id: Mapped[str | None] = mapped_column(sa.ForeignKey("certificates.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    attempt: Mapped[ExamAttempt] = relationship()


class CertificateRevocation(db.Model):
    """The signed, append-only record of one revocation.

    The signature (Ed25519, key `key_id`) covers every column together with the certificate's own signature, so
    a record edited, or moved to another certificate, no longer verifies. The ORM refuses updates and deletes; the
    migration adds database triggers that refuse them too. Deleting a record anyway is caught by the signed status
    list, whose bit for the certificate stays set.
    """

    __tablename__ = "certificate_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[str] = mapped_column(sa.ForeignKey("certificates.id"), unique=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[str] = mapped_column(sa.String(32))
    signature: Mapped[str] = mapped_column(sa.String(128))


# What a certificate says and the signature over it: never changed once written. Assessing a certificate reads
# these columns (and renews_id) in services/certificates/status.py.
IMMUTABLE_FIELDS = (
    "id",
    "user_id",
    "attempt_id",
    "level",
    "issued_at",
    "expires_at",
    "renews_id",
    "snapshot",
    "signature",
    "key_id",
    "status_index",
)


class ImmutableCertificateError(RuntimeError):
    """An attempt to change what a certificate says, or to rewrite or remove a revocation."""


@event.listens_for(Certificate, "before_update")
def _refuse_rewrites(mapper: Any, connection: Any, target: Certificate) -> None:
    state = sa.inspect(target)
    changed = [name for name in IMMUTABLE_FIELDS if state.attrs[name].history.has_changes()]
    if state.attrs["open_badge"].history.has_changes():  # stored once, never replaced (the old value is deferred)
        table = Certificate.__table__
        stored = connection.execute(sa.select(table.c.open_badge).where(table.c.id == target.id)).scalar()
        if stored is not None:
            changed.append("open_badge")
    if changed:
        raise ImmutableCertificateError(f"certificates are immutable: {', '.join(changed)} cannot change")


@event.listens_for(Certificate, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: Certificate) -> None:
    raise ImmutableCertificateError("certificates are never deleted; revoke them instead")


@event.listens_for(CertificateRevocation, "before_update")
@event.listens_for(CertificateRevocation, "before_delete")
def _refuse_revocation_change(mapper: Any, connection: Any, target: CertificateRevocation) -> None:
    raise ImmutableCertificateError("revocations are append-only: a revocation cannot be changed or withdrawn")
