"""What the signed-in home page shows: where to continue, the next step towards the next level, exam results,
certificates and unread messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AttemptStatus, Certificate, ContactMessage, Course, Exam, ExamAttempt, User
from certplatform.services import attempts, eligibility, learning
from certplatform.services.certificates.status import Assessment, assess_many
from certplatform.services.learning import CourseProgress

RECENT_RESULTS = 5
UNREAD_SHOWN = 3


class Step(enum.StrEnum):
    """The next thing to do for the lowest level the user does not hold, in the order of the certification path."""

    ENROL = "enrol"  # not enrolled in the level's course yet
    COURSE = "course"  # enrolled: lessons and quizzes left
    PREREQUISITE = "prerequisite"  # the course is done, a lower level is not certified
    EXAM = "exam"  # eligible: start the practical exam (again, after a failed or rejected attempt)
    EXAM_OPEN = "exam_open"  # an exam attempt is in progress
    GRADING = "grading"  # handed in, submissions being graded
    REVIEW = "review"  # passed the grading, waiting for the mentor review
    ALL_HELD = "all_held"  # every level is certified


@dataclass(frozen=True)
class NextStep:
    step: Step
    course: Course | None = None
    progress: CourseProgress | None = None
    exam: Exam | None = None
    attempt: ExamAttempt | None = None  # the open or the latest finished attempt at the level's exam
    missing: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()  # EXAM: why the exam cannot be started right now
    next_allowed_at: datetime | None = None


@dataclass(frozen=True)
class Dashboard:
    resume: CourseProgress | None  # the course of the last lesson opened
    next_step: NextStep
    results: list[ExamAttempt]
    certificates: list[tuple[Certificate, Assessment]]
    unread_count: int
    unread: list[ContactMessage]


def _exam_for(course: Course) -> Exam | None:
    return db.session.scalar(sa.select(Exam).where(Exam.slug == course.exam_slug, Exam.deleted_at.is_(None)))


def _latest_attempt(user: User, exam: Exam) -> ExamAttempt | None:
    return db.session.scalar(
        sa.select(ExamAttempt)
        .where(ExamAttempt.user_id == user.id, ExamAttempt.exam_id == exam.id, ExamAttempt.status != AttemptStatus.VOID)
        .order_by(ExamAttempt.started_at.desc(), ExamAttempt.id.desc())
        .limit(1)
    )


_IN_FLIGHT = {
    AttemptStatus.IN_PROGRESS: Step.EXAM_OPEN,
    AttemptStatus.GRADING: Step.GRADING,
    AttemptStatus.AWAITING_REVIEW: Step.REVIEW,
}


def next_step(user: User, held: frozenset[str]) -> NextStep:
    """The step towards the lowest level not held; a revoked or expired certificate no longer counts as held."""
    course = next((c for c in learning.live_courses() if c.level.value not in held), None)
    if course is None:
        return NextStep(Step.ALL_HELD)
    exam = _exam_for(course)
    attempt = _latest_attempt(user, exam) if exam else None
    if attempt is not None and attempt.status in _IN_FLIGHT:
        return NextStep(_IN_FLIGHT[attempt.status], course=course, exam=exam, attempt=attempt)
    if learning.enrollment(user, course) is None:
        return NextStep(Step.ENROL, course=course, exam=exam, attempt=attempt)
    progress = learning.course_progress(user, course)
    if not progress.complete:
        return NextStep(Step.COURSE, course=course, progress=progress, exam=exam, attempt=attempt)
    missing = tuple(level for level in course.prerequisites if level not in held)
    if missing:
        return NextStep(Step.PREREQUISITE, course=course, progress=progress, exam=exam, missing=missing)
    decision = attempts.can_start(user, exam) if exam else None
    return NextStep(
        Step.EXAM,
        course=course,
        progress=progress,
        exam=exam,
        attempt=attempt,
        waiting=decision.reasons if decision else (),
        next_allowed_at=decision.next_allowed_at if decision else None,
    )


def exam_results(user: User) -> list[ExamAttempt]:
    """The user's latest handed-in exam attempts, newest first."""
    return list(
        db.session.scalars(
            sa.select(ExamAttempt)
            .where(ExamAttempt.user_id == user.id, ExamAttempt.finished_at.is_not(None))
            .order_by(ExamAttempt.finished_at.desc(), ExamAttempt.id.desc())
            .limit(RECENT_RESULTS)
        )
    )


def certificates(user: User) -> list[tuple[Certificate, Assessment]]:
    """Every certificate of the user, newest first, with its status as the public verification page shows it."""
    certs = db.session.scalars(
        sa.select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.issued_at.desc())
    ).all()
    found = assess_many(certs)
    return [(cert, found[cert.id]) for cert in certs]


def _unread_query(user: User) -> sa.Select:
    return sa.select(ContactMessage).where(ContactMessage.recipient_id == user.id, ContactMessage.read_at.is_(None))


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(_unread_query(user).subquery())) or 0


def for_user(user: User) -> Dashboard:
    studied = [p for p in learning.my_learning(user) if p.last_viewed is not None]
    return Dashboard(
        resume=studied[0] if studied else None,
        next_step=next_step(user, eligibility.certified_levels(user)),
        results=exam_results(user),
        certificates=certificates(user),
        unread_count=unread_count(user),
        unread=list(
            db.session.scalars(_unread_query(user).order_by(ContactMessage.created_at.desc()).limit(UNREAD_SHOWN))
        ),
    )
