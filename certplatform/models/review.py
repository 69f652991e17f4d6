"""The community review of passed attempts: leases, decisions and rubric scores."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.exams import ExamAttempt
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
