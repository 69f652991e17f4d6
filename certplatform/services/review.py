"""The community review: a queue of passed attempts, leases, rubric scores, decisions and their consequences.

Rules: a mentor never reviews their own attempt or one from their own organization; an exam may require several
independent approvals (L3: two); an admin can reassign a review or decide instead of the mentors with a recorded
reason; every decision is audited.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    CertLevel,
    Exam,
    ExamAttempt,
    ExamTask,
    OrganizationMembership,
    Review,
    ReviewDecision,
    ReviewState,
    Role,
    Submission,
    User,
)
from certplatform.models.types import utcnow
from certplatform.services import attempts, audit, certificates
from certplatform.services.review_input import (
    MAX_COMMENT,
    ReviewError,
    check_line_comments,
    check_scores,
)


def _org_ids(user_id: int) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(OrganizationMembership.organization_id).where(OrganizationMembership.user_id == user_id)
        )
    )


def refusal(mentor: User, attempt: ExamAttempt) -> str | None:
    """Why `mentor` may not review `attempt`, or None."""
    if not mentor.has_role(Role.MENTOR):
        return _("Only mentors review attempts.")
    if attempt.user_id == mentor.id:
        return _("You cannot review your own attempt.")
    if _org_ids(mentor.id) & _org_ids(attempt.user_id):
        return _("You cannot review a candidate from your own organization.")
    decided = db.session.scalar(
        sa.select(Review.id).where(
            Review.attempt_id == attempt.id,
            Review.mentor_id == mentor.id,
            Review.revision == attempt.revision,
            Review.state == ReviewState.DECIDED,
        )
    )
    if decided is not None:
        return _("You have already reviewed this version; another mentor must decide independently.")
    return None


def active_lease(attempt: ExamAttempt, now: datetime | None = None) -> Review | None:
    now = now or utcnow()
    return db.session.scalar(
        sa.select(Review).where(
            Review.attempt_id == attempt.id, Review.state == ReviewState.CLAIMED, Review.lease_expires_at > now
        )
    )


def release_expired(now: datetime | None = None) -> int:
    """Return abandoned reviews to the queue."""
    now = now or utcnow()
    expired = db.session.scalars(
        sa.select(Review).where(Review.state == ReviewState.CLAIMED, Review.lease_expires_at <= now)
    ).all()
    for review in expired:
        review.state = ReviewState.RELEASED
        audit.record(None, "review.lease_expired", "exam_attempt", review.attempt_id, mentor_id=review.mentor_id)
    db.session.commit()
    return len(expired)


def queue(mentor: User, level: CertLevel | None = None) -> list[ExamAttempt]:
    """Attempts waiting for a review that `mentor` may take, oldest first, in one query.

    The same rules as `refusal` (which words them for a single attempt): not one's own attempt, not a candidate from
    one's own organization, not a version one already decided, and not held by another mentor's lease.
    """
    if not mentor.has_role(Role.MENTOR):
        return []
    now = utcnow()
    mentor_orgs = sa.select(OrganizationMembership.organization_id).where(OrganizationMembership.user_id == mentor.id)
    colleagues = sa.select(OrganizationMembership.user_id).where(
        OrganizationMembership.organization_id.in_(mentor_orgs)
    )
    decided_by_mentor = sa.exists().where(
        Review.attempt_id == ExamAttempt.id,
        Review.mentor_id == mentor.id,
        Review.revision == ExamAttempt.revision,
        Review.state == ReviewState.DECIDED,
    )
    held_by_another = sa.exists().where(
        Review.attempt_id == ExamAttempt.id,
        Review.mentor_id != mentor.id,
        Review.state == ReviewState.CLAIMED,
        Review.lease_expires_at > now,
    )
    stmt = (
        sa.select(ExamAttempt)
        .join(Exam, ExamAttempt.exam_id == Exam.id)
        .where(
            ExamAttempt.status == AttemptStatus.AWAITING_REVIEW,
            ExamAttempt.user_id != mentor.id,
            ExamAttempt.user_id.not_in(colleagues),
            ~decided_by_mentor,
            ~held_by_another,
        )
        .order_by(ExamAttempt.finished_at, ExamAttempt.id)
    )
    if level is not None:
        stmt = stmt.where(Exam.level == level)
    return list(db.session.scalars(stmt))


def _lease(attempt: ExamAttempt, mentor: User) -> Review:
    """A new claimed review of the attempt's current revision, held for the configured lease time."""
    now = utcnow()
    review = Review(
        attempt_id=attempt.id,
        mentor_id=mentor.id,
        revision=attempt.revision,
        state=ReviewState.CLAIMED,
        claimed_at=now,
        lease_expires_at=now + timedelta(minutes=current_app.config["REVIEW_LEASE_MINUTES"]),
    )
    db.session.add(review)
    db.session.flush()
    return review


def claim(mentor: User, attempt: ExamAttempt) -> Review:
    """Take an attempt from the queue for a while (a lease); claiming one's own lease again just returns it."""
    # Lock the attempt row so two mentors cannot claim it at the same moment (PostgreSQL; SQLite serialises writes).
    db.session.execute(sa.select(ExamAttempt.id).where(ExamAttempt.id == attempt.id).with_for_update())
    if attempt.status != AttemptStatus.AWAITING_REVIEW:
        raise ReviewError(_("This attempt is not waiting for a review."))
    current = active_lease(attempt)
    if current is not None:
        if current.mentor_id == mentor.id:
            return current
        raise ReviewError(_("Another mentor is reviewing this attempt."))
    reason = refusal(mentor, attempt)
    if reason:
        raise ReviewError(reason)
    review = _lease(attempt, mentor)
    audit.record(mentor, "review.claim", "exam_attempt", attempt.id, review_id=review.id)
    db.session.commit()
    return review


def approvals(attempt: ExamAttempt) -> int:
    return len(
        set(
            db.session.scalars(
                sa.select(Review.mentor_id).where(
                    Review.attempt_id == attempt.id,
                    Review.revision == attempt.revision,
                    Review.state == ReviewState.DECIDED,
                    Review.decision == ReviewDecision.APPROVE,
                )
            )
        )
    )


def _apply(attempt: ExamAttempt, decision: ReviewDecision, forced: bool = False) -> None:
    """The consequence of a decision for the attempt (and the certificate), committed with everything the caller
    recorded before it, or rolled back with it."""
    exam = attempt.exam
    try:
        if decision == ReviewDecision.REJECT:
            attempt.status = AttemptStatus.REJECTED
        elif decision == ReviewDecision.REQUEST_CHANGES:
            attempt.status = AttemptStatus.IN_PROGRESS
            attempt.revision += 1
            attempt.deadline_at = utcnow() + timedelta(days=exam.resubmit_days)
            attempt.finished_at = None
        elif forced or approvals(attempt) >= exam.approvals_required:
            attempt.status = AttemptStatus.APPROVED
            certificates.issuing.issue(attempt)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def decide(
    mentor: User,
    review: Review,
    decision: ReviewDecision,
    scores: dict[str, Any],
    comment: str,
    line_comments: list[dict[str, Any]] | None = None,
) -> Review:
    """Record the mentor's decision and apply it; everything happens in one transaction, or nothing does."""
    attempt = review.attempt
    if review.mentor_id != mentor.id or review.state != ReviewState.CLAIMED:
        raise ReviewError(_("This review is not yours to decide."))
    other = active_lease(attempt)
    if other is not None and other.id != review.id:
        raise ReviewError(_("Your claim expired and another mentor took the attempt."))
    if attempt.status != AttemptStatus.AWAITING_REVIEW or attempt.revision != review.revision:
        raise ReviewError(_("This attempt is not waiting for a review."))
    comment = (comment or "").strip()
    if decision != ReviewDecision.APPROVE and not comment:
        raise ReviewError(_("Explain a rejection or the changes you ask for in the comment."))
    review.scores = check_scores(attempt.exam, scores)
    review.line_comments = check_line_comments(attempt.exam, line_comments or [])
    review.comment = comment[:MAX_COMMENT] or None
    review.decision = decision
    review.state = ReviewState.DECIDED
    review.decided_at = utcnow()
    audit.record(mentor, "review.decide", "exam_attempt", attempt.id, review_id=review.id, decision=decision.value)
    _apply(attempt, decision)
    return review


def override(admin: User, attempt: ExamAttempt, decision: ReviewDecision, reason: str) -> Review:
    """An admin decides instead of the mentors (with a recorded reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("An override needs a reason."))
    if attempt.status != AttemptStatus.AWAITING_REVIEW:
        raise ReviewError(_("This attempt is not waiting for a review."))
    for lease in db.session.scalars(
        sa.select(Review).where(Review.attempt_id == attempt.id, Review.state == ReviewState.CLAIMED)
    ):
        lease.state = ReviewState.RELEASED
    now = utcnow()
    review = Review(
        attempt_id=attempt.id,
        mentor_id=admin.id,
        revision=attempt.revision,
        state=ReviewState.DECIDED,
        claimed_at=now,
        lease_expires_at=now,
        decided_at=now,
        decision=decision,
        comment=reason,
        override_reason=reason,
    )
    db.session.add(review)
    db.session.flush()
    audit.record(admin, "review.override", "exam_attempt", attempt.id, decision=decision.value, reason=reason)
    _apply(attempt, decision, forced=True)
    return review


def reassign(admin: User, review: Review, mentor: User, reason: str) -> Review:
    """Move a claimed review to another mentor (who must be allowed to review it)."""
    if review.state != ReviewState.CLAIMED:
        raise ReviewError(_("Only a review in progress can be reassigned."))
    reason_text = refusal(mentor, review.attempt)
    if reason_text:
        raise ReviewError(reason_text)
    review.state = ReviewState.RELEASED
    moved = _lease(review.attempt, mentor)
    audit.record(
        admin,
        "review.reassign",
        "exam_attempt",
        review.attempt_id,
        from_mentor=review.mentor_id,
        to_mentor=mentor.id,
        reason=reason,
    )
    db.session.commit()
    return moved


@dataclass(frozen=True)
class MentorStats:
    queue_length: int
    decided: int
    median_hours_to_review: float | None


def stats(mentor: User, queue_length: int | None = None) -> MentorStats:
    """The mentor's dashboard figures; pass the length of a queue already computed to avoid computing it again."""
    rows = db.session.execute(
        sa.select(Review.decided_at, ExamAttempt.finished_at)
        .join(ExamAttempt, Review.attempt_id == ExamAttempt.id)
        .where(Review.mentor_id == mentor.id, Review.state == ReviewState.DECIDED, Review.override_reason.is_(None))
    ).all()
    waits = [(decided - finished).total_seconds() / 3600 for decided, finished in rows if decided and finished]
    length = len(queue(mentor)) if queue_length is None else queue_length
    return MentorStats(length, len(rows), round(statistics.median(waits), 1) if waits else None)


@dataclass(frozen=True)
class TaskSubmissions:
    """A task of the attempt as the mentor reviews it: the submission that counts and every one made."""

    task: ExamTask
    counted: Submission | None  # the best graded one: what the score and the line comments are about
    submissions: tuple[Submission, ...]  # all of them, newest first, rejected and ungraded ones included


def reviewed_submissions(attempt: ExamAttempt) -> list[TaskSubmissions]:
    shown = []
    for task in (t for t in attempt.exam.tasks if t.live):
        made = [s for s in attempt.submissions if s.task_id == task.id]
        shown.append(TaskSubmissions(task, attempts.best_submission(attempt, task), tuple(reversed(made))))
    return shown


def reviews_of(attempt: ExamAttempt) -> list[Review]:
    return list(
        db.session.scalars(
            sa.select(Review)
            .where(Review.attempt_id == attempt.id, Review.state == ReviewState.DECIDED)
            .order_by(Review.decided_at)
        )
    )
