"""Practical exams as synced from exams/, and each candidate's attempts and graded submissions.

Hidden tests and reference solutions are never stored here: the grader reads them from the content folder.
"""

from __future__ import annotations

import enum
import uuid as uuid_module
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.learning import Bilingual, CertLevel
from certplatform.models.types import UTCDateTime, enum_type, utcnow
from certplatform.models.user import User


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"  # the window is open: the candidate submits and resubmits tasks
    GRADING = "grading"  # finished; waiting for the last submissions to be graded
    FAILED = "failed"  # graded below the pass mark
    AWAITING_REVIEW = "awaiting_review"  # passed the automatic grading; the mentor review comes next
    APPROVED = "approved"  # the mentor review approved it: a certificate was issued
    REJECTED = "rejected"  # the mentor review rejected it
    VOID = "void"  # ended by an infrastructure failure: does not count against the attempt limit


class SubmissionStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    ERROR = "error"
    NOT_GRADABLE = "not_gradable"
    SUPERSEDED = "superseded"  # a newer submission of the same task replaced it before its grading started

    @property
    def final(self) -> bool:
        return self not in {SubmissionStatus.QUEUED, SubmissionStatus.RUNNING}

    @property
    def counts(self) -> bool:
        """Whether its grade counts for the candidate (infrastructure failures and superseded ones were not graded)."""
        return self not in {SubmissionStatus.NOT_GRADABLE, SubmissionStatus.SUPERSEDED}

    @property
    def uses_a_submission(self) -> bool:
        """Whether it used one of the task's allowed submissions (infrastructure failures do not)."""
        return self != SubmissionStatus.NOT_GRADABLE


class Exam(db.Model):
    __tablename__ = "exams"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(sa.Uuid, unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80))
    level: Mapped[CertLevel] = mapped_column(enum_type(CertLevel, "cert_level"))
    title: Mapped[Bilingual] = mapped_column(sa.JSON)
    instructions: Mapped[Bilingual] = mapped_column(sa.JSON)
    time_limit_minutes: Mapped[int]
    pass_mark: Mapped[float]
    cooldown_hours: Mapped[float]
    max_attempts: Mapped[int]
    window_days: Mapped[int]
    runtime: Mapped[str] = mapped_column(sa.String(40))
    path: Mapped[str] = mapped_column(sa.String(300))
    rubric: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    approvals_required: Mapped[int] = mapped_column(default=1)
    resubmit_days: Mapped[int] = mapped_column(default=14)
    # exam.yaml's review.similarity_threshold; None: the configured SIMILARITY_THRESHOLD.
    similarity_threshold: Mapped[float | None]
    content_version: Mapped[str] = mapped_column(sa.String(32))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tasks: Mapped[list[ExamTask]] = relationship(back_populates="exam", order_by="ExamTask.position", lazy="selectin")

    @property
    def live(self) -> bool:
        return self.deleted_at is None


class ExamTask(db.Model):
    __tablename__ = "exam_tasks"
    __table_args__ = (sa.UniqueConstraint("exam_id", "slug", name="uq_exam_task_exam_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Derived from the exam's UUID and the task id (uuid5), so a task keeps its identity across syncs.
    uuid: Mapped[uuid_module.UUID] = mapped_column(sa.Uuid, unique=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exams.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(40))
    weight: Mapped[float]
    limits: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    path: Mapped[str] = mapped_column(sa.String(300))
    prompt_zh: Mapped[str] = mapped_column(sa.Text)
    prompt_en: Mapped[str] = mapped_column(sa.Text)
    starter: Mapped[str] = mapped_column(sa.Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    exam: Mapped[Exam] = relationship(back_populates="tasks")

    @property
    def live(self) -> bool:
        return self.deleted_at is None


class ExamAttempt(db.Model):
    __tablename__ = "exam_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exams.id"), index=True)
    status: Mapped[AttemptStatus] = mapped_column(enum_type(AttemptStatus, "attempt_status"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[float | None]
    task_scores: Mapped[dict[str, float]] = mapped_column(sa.JSON, default=dict)
    revision: Mapped[int] = mapped_column(default=0)  # rounds of changes a mentor requested
    content_version: Mapped[str] = mapped_column(sa.String(32))

    exam: Mapped[Exam] = relationship()
    user: Mapped[User] = relationship()
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="attempt", order_by="Submission.id", cascade="all, delete-orphan"
    )


class Submission(db.Model):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_tasks.id"), index=True)
    status: Mapped[SubmissionStatus] = mapped_column(enum_type(SubmissionStatus, "submission_status"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(default=0)  # grading runs started, for the sweeper's retry limit
    # When its grading message was written. A queued submission without one waits in its candidate's own line
    # until one of the candidate's gradings in flight ends (services/grading_queue.py).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # While running: until when its worker's lease holds (renewed every few seconds; services/leases.py).
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    code: Mapped[str] = mapped_column(sa.Text)
    code_sha256: Mapped[str] = mapped_column(sa.String(64))
    backend: Mapped[str | None] = mapped_column(sa.String(20))
    score: Mapped[float | None]
    tests: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # [{name, passed, score, message}]
    message: Mapped[str | None] = mapped_column(sa.Text)
    stdout: Mapped[str | None] = mapped_column(sa.Text)
    stderr: Mapped[str | None] = mapped_column(sa.Text)
    duration_s: Mapped[float | None]
    compute_s: Mapped[float | None]  # what the tests themselves cost (candidate calls + reference), from the harness

    attempt: Mapped[ExamAttempt] = relationship(back_populates="submissions")
    task: Mapped[ExamTask] = relationship()
