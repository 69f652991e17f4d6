"""The attempt policy and scoring: eligibility, the window, limits, cooldown, and how a score is made."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AttemptStatus, AuditEvent, ExamAttempt, Submission, SubmissionStatus
from certplatform.models.types import utcnow
from certplatform.services import attempts, review
from tests.factories import make_user


def _attempt(user, exam, status, started_days_ago=0.0, finished=True, score=None) -> ExamAttempt:
    started = utcnow() - timedelta(days=started_days_ago)
    row = ExamAttempt(
        user_id=user.id,
        exam_id=exam.id,
        status=status,
        started_at=started,
        deadline_at=started + timedelta(minutes=exam.time_limit_minutes),
        finished_at=started + timedelta(minutes=30) if finished else None,
        score=score,
        content_version="v",
    )
    db.session.add(row)
    db.session.commit()
    return row


def _graded(attempt, task, status, score) -> Submission:
    s = Submission(attempt_id=attempt.id, task_id=task.id, status=status, score=score, code="x", code_sha256="0" * 64)
    db.session.add(s)
    db.session.commit()
    return s


def test_the_course_must_be_complete(exam) -> None:
    newcomer = make_user()
    decision = attempts.can_start(newcomer, exam)
    assert not decision.allowed and any("Complete the course" in r for r in decision.reasons)
    with pytest.raises(attempts.AttemptError):
        attempts.start(newcomer, exam)


def test_start_opens_a_timed_window_and_only_one(candidate, exam) -> None:
    attempt = attempts.start(candidate, exam)
    assert attempt.status is AttemptStatus.IN_PROGRESS
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=exam.time_limit_minutes)
    assert attempt.content_version == exam.content_version
    decision = attempts.can_start(candidate, exam)
    assert not decision.allowed and decision.open_attempt.id == attempt.id
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "exam.start"))


def test_cooldown_after_a_failed_attempt(candidate, exam) -> None:
    failed = _attempt(candidate, exam, AttemptStatus.FAILED, started_days_ago=0.1, score=0.4)
    decision = attempts.can_start(candidate, exam)
    assert not decision.allowed
    assert decision.next_allowed_at == failed.finished_at + timedelta(hours=exam.cooldown_hours)
    later = attempts.can_start(candidate, exam, now=decision.next_allowed_at + timedelta(seconds=1))
    assert later.allowed


def test_at_most_three_attempts_in_the_window(candidate, exam) -> None:
    for days in (300, 200, 100):
        _attempt(candidate, exam, AttemptStatus.FAILED, started_days_ago=days, score=0.1)
    decision = attempts.can_start(candidate, exam)
    assert not decision.allowed and any("3 of 3" in r for r in decision.reasons)
    oldest = utcnow() - timedelta(days=300)
    assert abs((decision.next_allowed_at - (oldest + timedelta(days=365))).total_seconds()) < 5
    assert attempts.can_start(candidate, exam, now=decision.next_allowed_at + timedelta(minutes=1)).allowed


def test_void_attempts_do_not_count(candidate, exam) -> None:
    for days in (30, 20, 10):
        _attempt(candidate, exam, AttemptStatus.VOID, started_days_ago=days)
    assert attempts.can_start(candidate, exam).allowed


def test_a_passed_attempt_waits_for_review(candidate, exam) -> None:
    _attempt(candidate, exam, AttemptStatus.AWAITING_REVIEW, started_days_ago=1, score=0.9)
    decision = attempts.can_start(candidate, exam)
    assert not decision.allowed and any("mentor review" in r for r in decision.reasons)


def test_submission_rules(app, candidate, exam) -> None:
    attempt = attempts.start(candidate, exam)
    task = attempts.live_tasks(exam)[0]
    for code, message in [
        ("   \n", "empty"),
        ("x" * (app.config["SUBMISSION_MAX_BYTES"] + 1), "larger than"),
        ("a\x00b", "text file"),
    ]:
        with pytest.raises(attempts.AttemptError, match=message):
            attempts.record_submission(candidate, attempt, task, code)
    with pytest.raises(attempts.AttemptError, match="not your attempt"):
        attempts.record_submission(make_user(), attempt, task, "print(1)")
    app.config["SUBMISSIONS_PER_TASK"] = 2
    first = attempts.record_submission(candidate, attempt, task, "print(1)")
    first.status = SubmissionStatus.NOT_GRADABLE  # an infrastructure failure does not use up a submission
    db.session.commit()
    attempts.record_submission(candidate, attempt, task, "print(2)")
    attempts.record_submission(candidate, attempt, task, "print(3)")
    with pytest.raises(attempts.AttemptError, match="all 2 submissions"):
        attempts.record_submission(candidate, attempt, task, "print(4)")
    attempt.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(attempts.AttemptError, match="closed"):
        attempts.record_submission(candidate, attempt, attempts.live_tasks(exam)[1], "print(5)")


def test_score_weights_best_submissions_and_passes_to_review(candidate, exam) -> None:
    attempt = attempts.start(candidate, exam)
    tasks = {t.slug: t for t in attempts.live_tasks(exam)}
    _graded(attempt, tasks["vector_add"], SubmissionStatus.FAILED, 0.5)
    _graded(attempt, tasks["vector_add"], SubmissionStatus.PASSED, 1.0)  # the best one counts
    _graded(attempt, tasks["gelu"], SubmissionStatus.PASSED, 1.0)
    _graded(attempt, tasks["softmax"], SubmissionStatus.REJECTED, 0.9)  # a rejected run scores 0
    _graded(attempt, tasks["rms_norm"], SubmissionStatus.PASSED, 1.0)
    _graded(attempt, tasks["matmul"], SubmissionStatus.TIMEOUT, 0.8)
    queued = _graded(attempt, tasks["softmax"], SubmissionStatus.QUEUED, None)
    attempts.finish(attempt, actor=candidate)
    assert attempt.status is AttemptStatus.GRADING, "an ungraded submission holds the score back"
    queued.status, queued.score = SubmissionStatus.PASSED, 1.0
    db.session.commit()
    attempts.settle(attempt)
    weights = {t.slug: t.weight for t in tasks.values()}
    expected = (
        1.0 * weights["vector_add"]
        + 1.0 * weights["gelu"]
        + 1.0 * weights["softmax"]
        + 1.0 * weights["rms_norm"]
        + 0.8 * weights["matmul"]
    ) / sum(weights.values())
    assert attempt.score == pytest.approx(expected)
    assert attempt.task_scores["matmul"] == pytest.approx(0.8)
    assert attempt.status is AttemptStatus.AWAITING_REVIEW
    assert attempts.settle(attempt).status is AttemptStatus.AWAITING_REVIEW, "settling twice changes nothing"


def test_one_rule_picks_the_submission_that_counts(candidate, exam) -> None:
    """The score and the mentor's view agree: a rejected run ranks below a graded zero, the latest among equals."""
    attempt = attempts.start(candidate, exam)
    task = next(t for t in exam.tasks if t.slug == "softmax")
    assert attempts.best_submission(attempt, task) is None and attempts.task_score(attempt, task) == 0.0
    rejected = _graded(attempt, task, SubmissionStatus.REJECTED, 0.9)
    assert attempts.best_submission(attempt, task) is rejected and attempts.task_score(attempt, task) == 0.0
    failed = _graded(attempt, task, SubmissionStatus.FAILED, 0.0)
    _graded(attempt, task, SubmissionStatus.NOT_GRADABLE, None)  # an infrastructure failure never counts
    assert attempts.best_submission(attempt, task) is failed
    first = _graded(attempt, task, SubmissionStatus.FAILED, 0.5)
    latest = _graded(attempt, task, SubmissionStatus.FAILED, 0.5)
    assert attempts.best_submission(attempt, task) is latest is not first
    assert attempts.task_score(attempt, task) == 0.5
    shown = {item.task.slug: item.counted for item in review.reviewed_submissions(attempt)}
    assert shown["softmax"] is latest


def test_below_the_pass_mark_fails(candidate, exam) -> None:
    attempt = attempts.start(candidate, exam)
    _graded(attempt, attempts.live_tasks(exam)[0], SubmissionStatus.PASSED, 1.0)
    attempts.finish(attempt, actor=candidate)
    assert attempt.status is AttemptStatus.FAILED and attempt.score < exam.pass_mark


def test_nothing_gradable_voids_the_attempt(candidate, exam) -> None:
    attempt = attempts.start(candidate, exam)
    _graded(attempt, attempts.live_tasks(exam)[0], SubmissionStatus.NOT_GRADABLE, 0.0)
    attempts.finish(attempt, actor=candidate)
    assert attempt.status is AttemptStatus.VOID


def test_expired_attempts_are_closed(candidate, exam) -> None:
    attempt = attempts.start(candidate, exam)
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert attempts.close_expired() == 1
    assert attempt.status is AttemptStatus.FAILED and attempt.finished_at is not None
    assert attempts.close_expired() == 0
