"""The community review of passed attempts, and the certificates it leads to."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.exams import ExamAttempt
from certplatform.models.learning import CertLevel
from certplatform.models.types import UTCDateTime, enum_type, utcnow
from certplatform.models.user import User


class ReviewDecision(enum.StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class ReviewState(enum.StrEnum):
    CLAIMED = "claimed"  # a mentor holds the lease and is reviewing
    DECIDED = "decided"
    RELEASED = "released"  # the lease expired or an admin reassigned it; the attempt went back to the queue


class Review(db.Model):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    revision: Mapped[int] = mapped_column(default=0)  # the attempt's revision this review is about
    state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "review_state"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision: Mapped[ReviewDecision | None] = mapped_column(enum_type(ReviewDecision, "review_decision"))
    scores: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)  # rubric criterion id -> points
    comment: Mapped[str | None] = mapped_column(sa.Text)
    line_comments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # [{task, line, text}]
    override_reason: Mapped[str | None] = mapped_column(sa.Text)  # set when an admin decided instead of a mentor

    attempt: Mapped[ExamAttempt] = relationship()
    mentor: Mapped[User] = relationship()


class Certificate(db.Model):
    """An issued certificate. The snapshot and its signature never change; status comes from dates and revocation."""

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
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    renews_id: Mapped[str | None] = mapped_column(sa.ForeignKey("certificates.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    attempt: Mapped[ExamAttempt] = relationship()


IMMUTABLE_FIELDS = (
    "id",
    "user_id",
    "attempt_id",
    "level",
    "issued_at",
    "expires_at",
    "snapshot",
    "signature",
    "key_id",
)


class ImmutableCertificateError(RuntimeError):
    """An attempt to change what a certificate says (only revocation may be added)."""


@event.listens_for(Certificate, "before_update")
def _refuse_rewrites(mapper: Any, connection: Any, target: Certificate) -> None:
    state = sa.inspect(target)
    changed = [name for name in IMMUTABLE_FIELDS if state.attrs[name].history.has_changes()]
    if changed:
        raise ImmutableCertificateError(f"certificates are immutable: {', '.join(changed)} cannot change")


@event.listens_for(Certificate, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: Certificate) -> None:
    raise ImmutableCertificateError("certificates are never deleted; revoke them instead")
