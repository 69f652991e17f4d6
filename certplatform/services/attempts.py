"""Exam attempts: who may start one, the timed window, submissions within it, and the final score."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    Course,
    Exam,
    ExamAttempt,
    ExamTask,
    Submission,
    SubmissionStatus,
    User,
)
from certplatform.models.types import utcnow
from certplatform.services import audit, certificates, grading_queue
from certplatform.services.eligibility import exam_eligibility

COUNTED = (
    AttemptStatus.IN_PROGRESS,
    AttemptStatus.GRADING,
    AttemptStatus.FAILED,
    AttemptStatus.AWAITING_REVIEW,
    AttemptStatus.APPROVED,
    AttemptStatus.REJECTED,
)


class AttemptError(ValueError):
    """A request about an attempt that cannot be honoured; the message is safe to show."""


@dataclass(frozen=True)
class StartDecision:
    allowed: bool
    reasons: tuple[str, ...] = ()
    next_allowed_at: datetime | None = None
    open_attempt: ExamAttempt | None = None


def live_exams() -> list[Exam]:
    return list(db.session.scalars(sa.select(Exam).where(Exam.deleted_at.is_(None)).order_by(Exam.level, Exam.slug)))


def live_exam(slug: str) -> Exam | None:
    return db.session.scalar(sa.select(Exam).where(Exam.slug == slug, Exam.deleted_at.is_(None)))


def course_for(exam: Exam) -> Course | None:
    return db.session.scalar(sa.select(Course).where(Course.exam_slug == exam.slug, Course.deleted_at.is_(None)))


def attempts_of(user: User, exam: Exam) -> list[ExamAttempt]:
    return list(
        db.session.scalars(
            sa.select(ExamAttempt)
            .where(ExamAttempt.user_id == user.id, ExamAttempt.exam_id == exam.id)
            .order_by(ExamAttempt.started_at.desc(), ExamAttempt.id.desc())
        )
    )


def can_start(user: User, exam: Exam, now: datetime | None = None) -> StartDecision:
    """Whether `user` may start an attempt now, and if not, every reason and when they may."""
    now = now or utcnow()
    history = attempts_of(user, exam)
    open_attempt = next((a for a in history if a.status == AttemptStatus.IN_PROGRESS), None)
    if open_attempt is not None:
        return StartDecision(False, (_("You have an attempt in progress."),), open_attempt=open_attempt)
    reasons: list[str] = []
    next_at: datetime | None = None
    if any(a.status == AttemptStatus.AWAITING_REVIEW for a in history):
        reasons.append(_("Your passed attempt is waiting for its mentor review."))
    if any(a.status == AttemptStatus.GRADING for a in history):
        reasons.append(_("Your last attempt is still being graded."))
    held = certificates.issuing.valid_certificate(user, exam.level)
    renewal_from = held.expires_at - timedelta(days=current_app.config["CERT_RENEWAL_DAYS"]) if held else None
    if renewal_from is not None and renewal_from > now:
        next_at = renewal_from
        reasons.append(
            _(
                "You hold a valid certificate for this level; you may renew it from %(when)s.",
                when=renewal_from.strftime("%Y-%m-%d"),
            )
        )
    course = course_for(exam)
    if course is None:
        reasons.append(_("This exam has no published course."))
    else:
        eligibility = exam_eligibility(user, course)
        if not eligibility.course_complete:
            reasons.append(_("Complete the course first (%(pct)d%% done).", pct=eligibility.progress_percent))
        for level in eligibility.missing_prerequisites:
            reasons.append(_("A valid %(level)s certificate is required.", level=level))
    window_start = now - timedelta(days=exam.window_days)
    counted = [a for a in history if a.status in COUNTED and a.started_at >= window_start]
    if len(counted) >= exam.max_attempts:
        oldest = min(a.started_at for a in counted)
        next_at = oldest + timedelta(days=exam.window_days)
        reasons.append(
            _(
                "You have used %(n)d of %(max)d attempts in %(days)d days.",
                n=len(counted),
                max=exam.max_attempts,
                days=exam.window_days,
            )
        )
    last_failed = next((a for a in history if a.status in (AttemptStatus.FAILED, AttemptStatus.REJECTED)), None)
    if last_failed is not None and last_failed.finished_at is not None:
        retake_at = last_failed.finished_at + timedelta(hours=exam.cooldown_hours)
        if retake_at > now:
            next_at = max(next_at or retake_at, retake_at)
            reasons.append(_("After a failed attempt you may retake the exam once the waiting time has passed."))
    return StartDecision(not reasons, tuple(reasons), next_at)


def start(user: User, exam: Exam) -> ExamAttempt:
    decision = can_start(user, exam)
    if not decision.allowed:
        raise AttemptError(" ".join(decision.reasons))
    now = utcnow()
    attempt = ExamAttempt(
        user_id=user.id,
        exam_id=exam.id,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=now + timedelta(minutes=exam.time_limit_minutes),
        content_version=exam.content_version,
    )
    db.session.add(attempt)
    db.session.flush()
    audit.record(user, "exam.start", "exam_attempt", attempt.id, exam=exam.slug)
    db.session.commit()
    return attempt


def live_tasks(exam: Exam) -> list[ExamTask]:
    return [t for t in exam.tasks if t.live]


def is_open(attempt: ExamAttempt, now: datetime | None = None) -> bool:
    return attempt.status == AttemptStatus.IN_PROGRESS and (now or utcnow()) < attempt.deadline_at


def latest_submission(attempt: ExamAttempt, task: ExamTask) -> Submission | None:
    return next((s for s in reversed(attempt.submissions) if s.task_id == task.id), None)


def counted_submissions(attempt: ExamAttempt, task: ExamTask) -> int:
    return sum(1 for s in attempt.submissions if s.task_id == task.id and s.status.uses_a_submission)


def record_submission(user: User, attempt: ExamAttempt, task: ExamTask, code: str) -> Submission:
    """Store a submission and, in the same transaction, its grading message when its candidate's line has room
    (grading_queue). Checks the window, the size, the limit and the candidate's submission rate; supersedes the
    task's older submission that has not started. Submitting is `grading.submit`, which also queues it."""
    if attempt.user_id != user.id:
        raise AttemptError(_("This is not your attempt."))
    if not is_open(attempt):
        raise AttemptError(_("The attempt is closed: no more submissions."))
    if task.exam_id != attempt.exam_id or not task.live:
        raise AttemptError(_("This task is not part of the exam."))
    encoded = code.encode("utf-8")
    limit = current_app.config["SUBMISSION_MAX_BYTES"]
    if not encoded.strip():
        raise AttemptError(_("The submission is empty."))
    if len(encoded) > limit:
        raise AttemptError(_("The submission is larger than %(kb)d KB.", kb=limit // 1024))
    if "\x00" in code:
        raise AttemptError(_("The submission must be a text file."))
    cap = current_app.config["SUBMISSIONS_PER_TASK"]
    if counted_submissions(attempt, task) >= cap:
        raise AttemptError(_("You have used all %(n)d submissions for this task.", n=cap))
    try:
        grading_queue.check_rate(user)
    except grading_queue.SubmitTooOften as exc:
        raise AttemptError(str(exc)) from exc
    submission = Submission(
        attempt_id=attempt.id,
        task_id=task.id,
        status=SubmissionStatus.QUEUED,
        code=code,
        code_sha256=hashlib.sha256(encoded).hexdigest(),
    )
    db.session.add(submission)
    db.session.flush()
    grading_queue.admit(submission)
    db.session.commit()
    return submission


def finish(attempt: ExamAttempt, actor: User | None = None, reason: str = "candidate") -> ExamAttempt:
    """Close the window (by the candidate, or by the sweeper at the deadline); scored once every grade is in."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return attempt
    attempt.status = AttemptStatus.GRADING
    attempt.finished_at = utcnow()
    audit.record(actor, "exam.finish", "exam_attempt", attempt.id, reason=reason)
    db.session.commit()
    settle(attempt)
    return attempt


def best_submission(attempt: ExamAttempt, task: ExamTask) -> Submission | None:
    """The submission of the task that counts: the best graded one, the latest among equals. A rejected one (it broke
    a rule) ranks below every graded one and is the answer only when nothing else was graded; infrastructure failures
    never count."""
    graded = [s for s in attempt.submissions if s.task_id == task.id and s.status.final and s.status.counts]
    return max(
        graded, key=lambda s: (-1.0 if s.status == SubmissionStatus.REJECTED else s.score or 0.0, s.id), default=None
    )


def task_score(attempt: ExamAttempt, task: ExamTask) -> float:
    """The task's score: its best submission's (a rejected one scores 0)."""
    best = best_submission(attempt, task)
    return 0.0 if best is None or best.status == SubmissionStatus.REJECTED else best.score or 0.0


def settle(attempt: ExamAttempt) -> ExamAttempt:
    """Score a finished attempt once nothing is waiting for a grade (idempotent)."""
    if attempt.status != AttemptStatus.GRADING:
        return attempt
    if any(not s.status.final for s in attempt.submissions):
        return attempt
    tasks = live_tasks(attempt.exam)
    total_weight = sum(t.weight for t in tasks) or 1.0
    scores = {t.slug: task_score(attempt, t) for t in tasks}
    attempt.task_scores = scores
    attempt.score = sum(scores[t.slug] * t.weight for t in tasks) / total_weight
    graded_any = any(s.status.counts for s in attempt.submissions)
    ungraded = [s for s in attempt.submissions if s.status == SubmissionStatus.NOT_GRADABLE]
    if not graded_any and ungraded:
        attempt.status = AttemptStatus.VOID  # nothing could be graded through no fault of the candidate
    elif attempt.score >= attempt.exam.pass_mark:
        attempt.status = AttemptStatus.AWAITING_REVIEW
    else:
        attempt.status = AttemptStatus.FAILED
    audit.record(
        None, "exam.scored", "exam_attempt", attempt.id, score=round(attempt.score, 4), status=attempt.status.value
    )
    db.session.commit()
    return attempt


def close_if_expired(attempt: ExamAttempt, now: datetime | None = None) -> ExamAttempt:
    """Hand in an attempt whose time ran out, as it stands, when it is next looked at (the sweeper does it too)."""
    if attempt.status == AttemptStatus.IN_PROGRESS and (now or utcnow()) >= attempt.deadline_at:
        finish(attempt, reason="deadline")
    return attempt


def unsubmitted_tasks(attempt: ExamAttempt) -> list[ExamTask]:
    """The exam's tasks the candidate has not submitted anything for yet (named before handing in)."""
    done = {s.task_id for s in attempt.submissions}
    return [t for t in live_tasks(attempt.exam) if t.id not in done]


def close_expired(now: datetime | None = None) -> int:
    """Finish every attempt whose window has passed; returns how many."""
    now = now or utcnow()
    expired = db.session.scalars(
        sa.select(ExamAttempt).where(ExamAttempt.status == AttemptStatus.IN_PROGRESS, ExamAttempt.deadline_at <= now)
    ).all()
    for attempt in expired:
        finish(attempt, reason="deadline")
    return len(expired)
