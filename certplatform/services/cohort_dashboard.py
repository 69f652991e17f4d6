"""The cohort dashboard: every student's learning, exam, review and certificate, in a fixed number of queries.

Each figure is one GROUP BY over the cohort's members, selected with a subquery on `cohort_members` (never an IN
list of user ids, which would hit SQLite's limit on bound parameters and grow with the cohort). Filtering,
sorting and paging happen in Python on the computed rows, so the number of queries never depends on the size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    Certificate,
    CertLevel,
    Cohort,
    CohortMember,
    Course,
    CourseModule,
    Exam,
    ExamAttempt,
    Lesson,
    LessonProgress,
    Quiz,
    QuizAttempt,
    Review,
    ReviewState,
    User,
)
from certplatform.models.types import utcnow
from certplatform.services import certificates

ACTIVE_DAYS = 7
PASSED = (AttemptStatus.AWAITING_REVIEW, AttemptStatus.APPROVED)  # passed the automatic grading
GRADED = (*PASSED, AttemptStatus.FAILED, AttemptStatus.REJECTED)

# Where a student stands, in the order they get there.
STAGES = {
    "not_started": _l("not started"),
    "learning": _l("learning"),
    "course_complete": _l("course complete"),
    "exam_failed": _l("exam not passed yet"),
    "exam_passed": _l("exam passed"),
    "certified": _l("certified"),
}
STAGE_ORDER = {name: i for i, name in enumerate(STAGES)}
FILTERS = {**STAGES, "inactive": _l("inactive for 7 days")}
REVIEW_STATES = {
    "none": "—",
    "waiting": _l("waiting for a mentor"),
    "in_review": _l("being reviewed"),
    "changes_requested": _l("changes requested"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
}
ATTEMPT_STATES = {
    AttemptStatus.IN_PROGRESS: _l("in progress"),
    AttemptStatus.GRADING: _l("being graded"),
    AttemptStatus.FAILED: _l("failed"),
    AttemptStatus.AWAITING_REVIEW: _l("passed: awaiting mentor review"),
    AttemptStatus.APPROVED: _l("approved"),
    AttemptStatus.REJECTED: _l("rejected"),
    AttemptStatus.VOID: _l("void (not counted)"),
}
CERT_STATES = certificates.status.STATUS_LABELS


@dataclass(frozen=True)
class QuizColumn:
    quiz_id: int
    level: str
    position: int
    title: dict[str, str]
    pass_threshold: float


@dataclass(frozen=True)
class CertificateInfo:
    id: str
    level: str
    status: str


@dataclass
class StudentRow:
    user_id: int
    name: str
    name_zh: str | None
    email: str
    student_id: str | None
    enrolled_at: datetime
    last_active: datetime | None = None  # latest login, lesson read, quiz or exam started
    progress: int | None = None  # percent of lessons read and quizzes passed; None: no course for the levels
    quiz_best: dict[int, float] = field(default_factory=dict)  # quiz id -> best score in [0, 1]
    quizzes_passed: int = 0
    attempts: int = 0
    latest_status: AttemptStatus | None = None
    attempted: bool = False  # at least one graded attempt
    passed_exam: bool = False
    review: str = "none"
    certificates: list[CertificateInfo] = field(default_factory=list)
    stage: str = "not_started"

    @property
    def quiz_mean(self) -> float | None:
        """The mean of the best score of every quiz attempted."""
        return sum(self.quiz_best.values()) / len(self.quiz_best) if self.quiz_best else None

    @property
    def certified(self) -> bool:
        return any(c.status == certificates.issuing.VALID for c in self.certificates)

    def active_since(self, since: datetime) -> bool:
        return self.last_active is not None and self.last_active >= since


@dataclass(frozen=True)
class Summary:
    enrolled: int
    active: int
    started: int
    completed: int
    attempted: int
    passed: int
    certified: int

    @property
    def pass_rate(self) -> float | None:
        """Students who passed the exam over those with a graded attempt."""
        return self.passed / self.attempted if self.attempted else None

    def chart(self) -> list[tuple[str, int]]:
        """The funnel the dashboard draws, from enrolment to certificate."""
        return [
            (_("Enrolled"), self.enrolled),
            (_("Active in the last 7 days"), self.active),
            (_("Started the course"), self.started),
            (_("Completed the course"), self.completed),
            (_("Took the exam"), self.attempted),
            (_("Passed the exam"), self.passed),
            (_("Certified"), self.certified),
        ]


@dataclass(frozen=True)
class Dashboard:
    cohort: Cohort
    students: list[StudentRow]
    quizzes: list[QuizColumn]
    summary: Summary
    now: datetime


def _members(cohort: Cohort) -> sa.Select[Any]:
    return sa.select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id)


def _levels(cohort: Cohort) -> list[CertLevel]:
    return [CertLevel(level) for level in cohort.target_levels]


def build(cohort: Cohort, now: datetime | None = None) -> Dashboard:
    """Every member's figures in eight queries, whatever the size of the cohort."""
    now = now or utcnow()
    members, levels = _members(cohort), _levels(cohort)
    live_content = (Course.level.in_(levels), Course.deleted_at.is_(None), CourseModule.deleted_at.is_(None))
    students = {
        r.id: StudentRow(r.id, r.name_latin, r.name_zh, r.email, r.student_id, r.enrolled_at, r.last_login_at)
        for r in db.session.execute(
            sa.select(
                User.id,
                User.name_latin,
                User.name_zh,
                User.email,
                User.last_login_at,
                CohortMember.student_id,
                CohortMember.enrolled_at,
            )
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id)
        )
    }
    lessons = db.session.scalar(
        sa.select(sa.func.count(Lesson.id))
        .join(CourseModule, Lesson.module_id == CourseModule.id)
        .join(Course, CourseModule.course_id == Course.id)
        .where(Lesson.deleted_at.is_(None), *live_content)
    )
    quizzes = [
        QuizColumn(r.id, r.level.value, r.position, r.title, r.pass_threshold)
        for r in db.session.execute(
            sa.select(Quiz.id, Course.level, CourseModule.position, CourseModule.title, CourseModule.pass_threshold)
            .join(CourseModule, Quiz.module_id == CourseModule.id)
            .join(Course, CourseModule.course_id == Course.id)
            .where(Quiz.deleted_at.is_(None), *live_content)
            .order_by(Course.level, CourseModule.position)
        )
    ]
    viewed: dict[int, int] = {}
    for user_id, n, last in db.session.execute(
        sa.select(LessonProgress.user_id, sa.func.count(LessonProgress.id), sa.func.max(LessonProgress.last_viewed_at))
        .join(Lesson, LessonProgress.lesson_id == Lesson.id)
        .join(CourseModule, Lesson.module_id == CourseModule.id)
        .join(Course, CourseModule.course_id == Course.id)
        .where(LessonProgress.user_id.in_(members), Lesson.deleted_at.is_(None), *live_content)
        .group_by(LessonProgress.user_id)
    ):
        viewed[user_id] = n
        _seen(students[user_id], last)
    quiz_ids = [q.quiz_id for q in quizzes]
    for user_id, quiz_id, best, last in db.session.execute(
        sa.select(
            QuizAttempt.user_id,
            QuizAttempt.quiz_id,
            sa.func.max(QuizAttempt.score),
            sa.func.max(QuizAttempt.submitted_at),
        )
        .where(QuizAttempt.user_id.in_(members), QuizAttempt.quiz_id.in_(quiz_ids))
        .group_by(QuizAttempt.user_id, QuizAttempt.quiz_id)
    ):
        students[user_id].quiz_best[quiz_id] = best
        _seen(students[user_id], last)
    latest = _exam_attempts(cohort, students)
    _reviews(cohort, students, latest, now)
    _certificates(cohort, students, now)

    thresholds = {q.quiz_id: q.pass_threshold for q in quizzes}
    steps = lessons + len(quizzes)
    for s in students.values():
        s.quizzes_passed = sum(1 for qid, best in s.quiz_best.items() if best >= thresholds[qid])
        s.progress = None if steps == 0 else int(100 * (viewed.get(s.user_id, 0) + s.quizzes_passed) / steps)
        s.stage = _stage(s)
    return Dashboard(cohort, list(students.values()), quizzes, summarise(students.values(), now), now)


def _seen(student: StudentRow, when: datetime | None) -> None:
    if when is not None and (student.last_active is None or when > student.last_active):
        student.last_active = when


def _attempts_of(cohort: Cohort) -> sa.Select[Any]:
    return (
        sa.select(ExamAttempt.user_id)
        .join(Exam, ExamAttempt.exam_id == Exam.id)
        .where(
            ExamAttempt.user_id.in_(_members(cohort)),
            Exam.level.in_(_levels(cohort)),
            ExamAttempt.status != AttemptStatus.VOID,
        )
        .group_by(ExamAttempt.user_id)
    )


def _exam_attempts(cohort: Cohort, students: dict[int, StudentRow]) -> dict[int, int]:
    """Count, latest status and best outcome of each student's attempts; returns {latest attempt id: user id}."""
    flag = lambda statuses: sa.func.max(sa.case((ExamAttempt.status.in_(statuses), 1), else_=0))  # noqa: E731
    per_user = (
        _attempts_of(cohort)
        .add_columns(
            sa.func.count(ExamAttempt.id).label("n"),
            sa.func.max(ExamAttempt.id).label("last_id"),
            flag(PASSED).label("passed"),
            flag(GRADED).label("graded"),
            sa.func.max(ExamAttempt.started_at).label("last_started"),
        )
        .subquery()
    )
    latest = {}
    for row in db.session.execute(
        sa.select(per_user, ExamAttempt.status, ExamAttempt.revision).join(
            ExamAttempt, ExamAttempt.id == per_user.c.last_id
        )
    ):
        s = students[row.user_id]
        s.attempts, s.latest_status = row.n, row.status
        s.passed_exam, s.attempted = bool(row.passed), bool(row.graded)
        _seen(s, row.last_started)
        if row.status == AttemptStatus.APPROVED:
            s.review = "approved"
        elif row.status == AttemptStatus.REJECTED:
            s.review = "rejected"
        elif row.status == AttemptStatus.AWAITING_REVIEW:
            s.review = "waiting"
        elif row.revision > 0:
            s.review = "changes_requested"
        latest[row.last_id] = row.user_id
    return latest


def _reviews(cohort: Cohort, students: dict[int, StudentRow], latest: dict[int, int], now: datetime) -> None:
    """Whether a mentor currently holds the review of each student's latest attempt."""
    latest_ids = _attempts_of(cohort).with_only_columns(sa.func.max(ExamAttempt.id))
    for (attempt_id,) in db.session.execute(
        sa.select(Review.attempt_id).where(
            Review.attempt_id.in_(latest_ids), Review.state == ReviewState.CLAIMED, Review.lease_expires_at > now
        )
    ):
        s = students[latest[attempt_id]]
        if s.review == "waiting":
            s.review = "in_review"


def _certificates(cohort: Cohort, students: dict[int, StudentRow], now: datetime) -> None:
    """The latest certificate of each target level, with its status."""
    latest: dict[tuple[int, str], Certificate] = {}
    revocations = {}
    for cert, revocation in db.session.execute(
        certificates.status.with_revocations(
            sa.select(Certificate)
            .where(Certificate.user_id.in_(_members(cohort)), Certificate.level.in_(_levels(cohort)))
            .order_by(Certificate.issued_at)
        )
    ):
        latest[(cert.user_id, cert.level.value)] = cert
        revocations[cert.id] = revocation
    found = certificates.status.assess_many(latest.values(), now, revocations)  # status from signed data
    for (user_id, level), cert in sorted(latest.items(), key=lambda kv: kv[0][1]):
        students[user_id].certificates.append(CertificateInfo(cert.id, level, found[cert.id].status))


def _stage(s: StudentRow) -> str:
    if s.certified:
        return "certified"
    if s.passed_exam:
        return "exam_passed"
    if s.attempted:
        return "exam_failed"
    if s.progress == 100:
        return "course_complete"
    if s.progress or s.quiz_best or s.attempts:
        return "learning"
    return "not_started"


def summarise(students: Iterable[StudentRow], now: datetime) -> Summary:
    rows = list(students)
    since = now - timedelta(days=ACTIVE_DAYS)
    return Summary(
        enrolled=len(rows),
        active=sum(1 for s in rows if s.active_since(since)),
        started=sum(1 for s in rows if s.stage != "not_started"),
        completed=sum(1 for s in rows if s.progress == 100),
        attempted=sum(1 for s in rows if s.attempted),
        passed=sum(1 for s in rows if s.passed_exam),
        certified=sum(1 for s in rows if s.certified),
    )
