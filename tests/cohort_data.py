"""Large cohorts inserted in a few statements, for the dashboard's query-count test and bench/cohorts.py."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    Certificate,
    CertLevel,
    Cohort,
    CohortMember,
    Course,
    Exam,
    ExamAttempt,
    LessonProgress,
    QuizAttempt,
    User,
)
from certplatform.models.types import utcnow


def generate_students(cohort: Cohort, n: int, prefix: str) -> None:
    """`n` students: half read every L1 lesson, a third took quizzes, a fifth attempted the exam (some certified)."""
    now = utcnow()
    course = db.session.scalar(sa.select(Course).where(Course.level == CertLevel.L1, Course.deleted_at.is_(None)))
    exam = db.session.scalar(sa.select(Exam).where(Exam.level == CertLevel.L1, Exam.deleted_at.is_(None)))
    lessons = [lesson.id for m in course.modules for lesson in m.lessons]
    quizzes = [m.quiz.id for m in course.modules if m.quiz is not None]
    db.session.execute(
        sa.insert(User),
        [
            {"email": f"{prefix}{i}@bench.example", "name_latin": f"Student {prefix}{i}", "password_hash": "!"}
            for i in range(n)
        ],
    )
    ids = db.session.scalars(
        sa.select(User.id).where(User.email.like(f"{prefix}%@bench.example")).order_by(User.id)
    ).all()
    db.session.execute(
        sa.insert(CohortMember),
        [{"cohort_id": cohort.id, "user_id": uid, "student_id": f"{prefix}{i}"} for i, uid in enumerate(ids)],
    )
    db.session.execute(
        sa.insert(LessonProgress),
        [
            {"user_id": uid, "lesson_id": lesson, "last_viewed_at": now - timedelta(days=i % 14)}
            for i, uid in enumerate(ids[::2])
            for lesson in lessons
        ],
    )
    db.session.execute(
        sa.insert(QuizAttempt),
        [
            {
                "user_id": uid,
                "quiz_id": quiz,
                "score": (i % 5) / 4,
                "passed": i % 5 == 4,
                "answers": {},
                "results": {},
                "content_version": "bench",
            }
            for i, uid in enumerate(ids[::3])
            for quiz in quizzes
        ],
    )
    statuses = [AttemptStatus.FAILED, AttemptStatus.AWAITING_REVIEW, AttemptStatus.APPROVED, AttemptStatus.VOID]
    db.session.execute(
        sa.insert(ExamAttempt),
        [
            {
                "user_id": uid,
                "exam_id": exam.id,
                "status": statuses[i % 4],
                "deadline_at": now,
                "score": 0.5 + (i % 4) / 8,
                "content_version": "bench",
            }
            for i, uid in enumerate(ids[::5])
        ],
    )
    approved = db.session.execute(
        sa.select(ExamAttempt.id, ExamAttempt.user_id).where(
            ExamAttempt.status == AttemptStatus.APPROVED,
            ExamAttempt.user_id.in_(sa.select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id)),
        )
    ).all()
    first_index = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Certificate.status_index), -1))) + 1
    db.session.execute(
        sa.insert(Certificate),
        [
            {
                "id": f"FLAGOS-L1-{prefix}-{i:05d}",
                "status_index": first_index + i,
                "user_id": user_id,
                "attempt_id": attempt_id,
                "level": CertLevel.L1,
                "issued_at": now,
                "expires_at": now + timedelta(days=730),
                "snapshot": {},
                "signature": "bench",
                "key_id": "bench",
                "pdf": b"",
            }
            for i, (attempt_id, user_id) in enumerate(approved)
        ],
    )
    db.session.commit()
