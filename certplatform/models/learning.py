"""Courses as synced from the content files, and each learner's enrolments, progress and quiz attempts.

Content rows are a projection of `courses/`: they are upserted by the UUID in the files, so a renamed folder
keeps its row (and the progress that points at it); content that left the disk is soft-deleted.
"""

from __future__ import annotations

import enum
import uuid as uuid_module
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, enum_type, utcnow

Bilingual = dict[str, str]  # {"zh": ..., "en": ...}


class CertLevel(enum.StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    NUMERIC = "numeric"


class AnswerReveal(enum.StrEnum):
    """When a quiz shows its correct answers and explanations."""

    AFTER_EACH_ATTEMPT = "after_each_attempt"
    PASSED_OR_OUT_OF_ATTEMPTS = "passed_or_out_of_attempts"


class SyncStatus(enum.StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"


class ContentMixin:
    """Columns every synced content row has."""

    uuid: Mapped[uuid_module.UUID] = mapped_column(sa.Uuid, unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80))
    title: Mapped[Bilingual] = mapped_column(sa.JSON)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def live(self) -> bool:
        return self.deleted_at is None


class Course(ContentMixin, db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[CertLevel] = mapped_column(enum_type(CertLevel, "cert_level"))
    exam_slug: Mapped[str] = mapped_column(sa.String(80))
    summary: Mapped[Bilingual] = mapped_column(sa.JSON)
    certifies: Mapped[Bilingual] = mapped_column(sa.JSON)
    skills: Mapped[list[Bilingual]] = mapped_column(sa.JSON, default=list)  # [{"zh", "en"}], from course.yaml
    exam_format: Mapped[Bilingual] = mapped_column(sa.JSON)
    prerequisites: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    content_version: Mapped[str] = mapped_column(sa.String(32))

    modules: Mapped[list[CourseModule]] = relationship(
        back_populates="course", order_by="CourseModule.position", lazy="selectin"
    )


class CourseModule(ContentMixin, db.Model):
    __tablename__ = "course_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    position: Mapped[int]
    summary: Mapped[Bilingual] = mapped_column(sa.JSON)
    pass_threshold: Mapped[float]

    course: Mapped[Course] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(back_populates="module", order_by="Lesson.position", lazy="selectin")
    quiz: Mapped[Quiz | None] = relationship(back_populates="module", lazy="selectin")


class Lesson(ContentMixin, db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("course_modules.id"), index=True)
    position: Mapped[int]
    summary: Mapped[Bilingual] = mapped_column(sa.JSON)
    duration_minutes: Mapped[int]
    path: Mapped[str] = mapped_column(sa.String(300))  # folder relative to the content root
    body_zh: Mapped[str] = mapped_column(sa.Text)
    body_en: Mapped[str] = mapped_column(sa.Text)
    assets: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    module: Mapped[CourseModule] = relationship(back_populates="lessons")


class Quiz(db.Model):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(sa.Uuid, unique=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("course_modules.id"), index=True)
    title: Mapped[Bilingual] = mapped_column(sa.JSON)
    draw_size: Mapped[int | None]  # questions drawn from the pool per attempt; None: the whole pool
    max_attempts: Mapped[int | None]  # attempts before a cooldown; None: unlimited
    cooldown_minutes: Mapped[int | None]
    reveal: Mapped[AnswerReveal] = mapped_column(
        enum_type(AnswerReveal, "answer_reveal"), default=AnswerReveal.PASSED_OR_OUT_OF_ATTEMPTS
    )
    gates: Mapped[bool] = mapped_column(default=False)  # later modules stay locked until this quiz is passed
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    module: Mapped[CourseModule] = relationship(back_populates="quiz")
    questions: Mapped[list[QuizQuestion]] = relationship(
        back_populates="quiz", order_by="QuizQuestion.position", lazy="selectin"
    )


class QuizQuestion(db.Model):
    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(sa.Uuid, unique=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    position: Mapped[int]
    kind: Mapped[QuestionKind] = mapped_column(enum_type(QuestionKind, "question_kind"))
    prompt: Mapped[Bilingual] = mapped_column(sa.JSON)
    options: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # [{"id", "text": {zh, en}}]
    # Never rendered before submission: the correct answer and its explanation.
    answer: Mapped[Any] = mapped_column(sa.JSON)
    explanation: Mapped[Bilingual] = mapped_column(sa.JSON)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    quiz: Mapped[Quiz] = relationship(back_populates="questions")


class ContentSync(db.Model):
    """One run of `content sync`, applied or rejected, with every error: what admins see."""

    __tablename__ = "content_syncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[SyncStatus] = mapped_column(enum_type(SyncStatus, "sync_status"))
    version: Mapped[str] = mapped_column(sa.String(32))
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    errors: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Enrollment(db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (sa.UniqueConstraint("user_id", "course_id", name="uq_enrollment_user_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course: Mapped[Course] = relationship()


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (sa.UniqueConstraint("user_id", "lesson_id", name="uq_lesson_progress_user_lesson"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id"), index=True)
    first_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class QuizDraw(db.Model):
    """The questions one attempt was given, fixed when the quiz is opened so that a reload shows the same ones."""

    __tablename__ = "quiz_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    question_uuids: Mapped[list[str]] = mapped_column(sa.JSON)  # in the order shown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "<user_id>:<quiz_id>" while the draw awaits its answers, NULL once handed in: at most one open draw each.
    open_key: Mapped[str | None] = mapped_column(sa.String(40), unique=True)


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    score: Mapped[float]
    passed: Mapped[bool]
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # question uuid -> what the learner answered
    results: Mapped[dict[str, bool]] = mapped_column(sa.JSON)  # question uuid -> correct
    content_version: Mapped[str] = mapped_column(sa.String(32))
    draw_id: Mapped[int | None] = mapped_column(sa.ForeignKey("quiz_draws.id", ondelete="SET NULL"), unique=True)

    quiz: Mapped[Quiz] = relationship()
