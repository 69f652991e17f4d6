"""University cohorts: who teaches them, who is enrolled, and the class lists uploaded to fill them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.organization import Organization
from certplatform.models.types import UTCDateTime, enum_type, utcnow
from certplatform.models.user import User


class UploadStatus(enum.StrEnum):
    VALIDATED = "validated"  # checked and reported; nothing applied yet
    APPLIED = "applied"
    REJECTED = "rejected"  # the file itself was malformed: nothing can be applied


class Cohort(db.Model):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    term: Mapped[str] = mapped_column(sa.String(60))
    target_levels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship()
    instructors: Mapped[list[User]] = relationship(secondary="cohort_instructors", lazy="selectin")


cohort_instructors = sa.Table(
    "cohort_instructors",
    db.metadata,
    sa.Column("cohort_id", sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class CohortMember(db.Model):
    __tablename__ = "cohort_members"
    __table_args__ = (sa.UniqueConstraint("cohort_id", "user_id", name="uq_cohort_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[str | None] = mapped_column(sa.String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    user: Mapped[User] = relationship()


class CohortUpload(db.Model):
    """A class list as uploaded: every row with what applying it would do (or did)."""

    __tablename__ = "cohort_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[UploadStatus] = mapped_column(enum_type(UploadStatus, "upload_status"))
    # [{line, email, name, student_id, outcome, reason}] for every row of the file
    rows: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
