"""Fair grading: every candidate has a line of their own, and only its head reaches the broker.

At most GRADING_INFLIGHT_PER_CANDIDATE of a candidate's submissions have a grading message (queued at the broker
or being graded); the others wait queued with `dispatched_at` unset, and each grading that ends releases the
next one of its candidate. Workers take messages first in, first out, so the broker's queue interleaves the
candidates and a flood of twenty from one candidate puts another candidate's single submission at most one
grading slot back. A newer submission of a task supersedes the candidate's older one that has not started, and
a candidate's submissions are rate-limited in the shared rate-limit store.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from limits import parse_many

from certplatform.extensions import db, limiter
from certplatform.models import ExamAttempt, Submission, SubmissionStatus, User
from certplatform.models.types import utcnow

RECENT_GRADES = 30  # finished gradings the estimate is taken from


class SubmitTooOften(Exception):
    """The candidate's submission rate limit is reached; the message says when they can submit again."""


def check_rate(user: User) -> None:
    """Count one submission against the candidate's limits, or raise SubmitTooOften."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    strategy = limiter.limiter
    for item in parse_many(current_app.config["CANDIDATE_SUBMIT_RATE_LIMIT"]):
        if not strategy.hit(item, "candidate-submit", str(user.id)):
            reset = strategy.get_window_stats(item, "candidate-submit", str(user.id)).reset_time
            wait = max(1, math.ceil(reset - utcnow().timestamp()))
            raise SubmitTooOften(
                _(
                    "You are submitting too often: at most %(amount)d submissions per %(window)s. "
                    "You can submit again in %(seconds)d s.",
                    amount=item.amount,
                    window=_window_name(item.GRANULARITY.name, item.multiples),
                    seconds=wait,
                )
            )


def _window_name(granularity: str, multiples: int) -> str:
    names = {"second": _("second"), "minute": _("minute"), "hour": _("hour"), "day": _("day")}
    name = names.get(granularity, granularity)
    return name if multiples == 1 else f"{multiples} {name}"


def _of_candidate(user_id: int):
    return (
        sa.select(Submission)
        .join(ExamAttempt, Submission.attempt_id == ExamAttempt.id)
        .where(ExamAttempt.user_id == user_id)
    )


def _in_flight_clause():
    return sa.or_(
        Submission.status == SubmissionStatus.RUNNING,
        sa.and_(Submission.status == SubmissionStatus.QUEUED, Submission.dispatched_at.is_not(None)),
    )


def _held_clause():
    return sa.and_(Submission.status == SubmissionStatus.QUEUED, Submission.dispatched_at.is_(None))


def _lock_candidate(user_id: int) -> None:
    # Two submissions of one candidate arriving at once must not both see a free slot (PostgreSQL; SQLite
    # serialises writers anyway).
    db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())


def supersede_older(submission: Submission) -> list[int]:
    """Close the candidate's queued, not yet started submissions of the same task as superseded."""
    older = db.session.scalars(
        sa.select(Submission.id).where(
            Submission.attempt_id == submission.attempt_id,
            Submission.task_id == submission.task_id,
            Submission.id < submission.id,
            Submission.status == SubmissionStatus.QUEUED,
        )
    ).all()
    if not older:
        return []
    # Conditional on still being queued: a worker that claimed one a moment ago keeps it.
    db.session.execute(
        sa.update(Submission)
        .where(Submission.id.in_(older), Submission.status == SubmissionStatus.QUEUED)
        .values(status=SubmissionStatus.SUPERSEDED, finished_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return list(older)


def release(user_id: int) -> list[int]:
    """Write grading messages for the head of the candidate's line, up to the in-flight limit (caller commits)."""
    from certplatform.services import grading

    _lock_candidate(user_id)
    limit = current_app.config["GRADING_INFLIGHT_PER_CANDIDATE"]
    busy = db.session.scalar(
        sa.select(sa.func.count()).select_from(_of_candidate(user_id).where(_in_flight_clause()).subquery())
    )
    free = max(0, limit - (busy or 0))
    if not free:
        return []
    waiting = db.session.scalars(_of_candidate(user_id).where(_held_clause()).order_by(Submission.id).limit(free))
    released = []
    for submission in waiting:
        submission.dispatched_at = utcnow()
        grading.stage(submission)
        released.append(submission.id)
    return released


def admit(submission: Submission) -> None:
    """A new submission joins its candidate's line (in the transaction that stores it; the caller commits)."""
    user_id = submission.attempt.user_id
    _lock_candidate(user_id)
    supersede_older(submission)
    release(user_id)


def release_all() -> list[int]:
    """Release every candidate's line that has room (the sweeper's safety net after a lost release)."""
    candidates = db.session.scalars(
        sa.select(ExamAttempt.user_id)
        .join(Submission, Submission.attempt_id == ExamAttempt.id)
        .where(_held_clause())
        .distinct()
    ).all()
    return [submission_id for user_id in candidates for submission_id in release(user_id)]


@dataclass(frozen=True)
class QueuePlace:
    position: int  # 1: graded next
    estimate_s: float | None  # until its result, from recent gradings; None without any


def _typical_grading_s() -> float | None:
    recent = db.session.execute(
        sa.select(Submission.started_at, Submission.finished_at)
        .where(Submission.started_at.is_not(None), Submission.finished_at.is_not(None))
        .where(Submission.status.not_in([SubmissionStatus.SUPERSEDED, SubmissionStatus.NOT_GRADABLE]))
        .order_by(Submission.finished_at.desc())
        .limit(RECENT_GRADES)
    ).all()
    spans = [(finished - started).total_seconds() for started, finished in recent]
    return statistics.median(spans) if spans else None


def _ahead_of_held(submission: Submission, queued: list[tuple[int, int, datetime | None]]) -> int:
    """How many are graded before a submission still in its candidate's line, taking the lines in turn."""
    limit = current_app.config["GRADING_INFLIGHT_PER_CANDIDATE"]
    dispatched = sum(1 for _id, _user, sent in queued if sent is not None)
    held_by: dict[int, list[int]] = {}
    for submission_id, user_id, sent in queued:
        if sent is None:
            held_by.setdefault(user_id, []).append(submission_id)
    own = submission.attempt.user_id
    rank = held_by[own].index(submission.id)
    turns = rank // limit + 1  # it is released once this many of the candidate's turns have come
    others = sum(min(len(ids), turns * limit) for user_id, ids in held_by.items() if user_id != own)
    return dispatched + others + rank


def place(submission: Submission) -> QueuePlace | None:
    """Where a queued submission stands and about when its result comes; None once it is not queued."""
    if submission.status != SubmissionStatus.QUEUED:
        return None
    queued = db.session.execute(
        sa.select(Submission.id, ExamAttempt.user_id, Submission.dispatched_at)
        .join(ExamAttempt, Submission.attempt_id == ExamAttempt.id)
        .where(Submission.status == SubmissionStatus.QUEUED)
        .order_by(Submission.dispatched_at.is_(None), Submission.dispatched_at, Submission.id)
    ).all()
    if submission.dispatched_at is not None:
        ahead = next(i for i, row in enumerate(queued) if row[0] == submission.id)
    else:
        ahead = _ahead_of_held(submission, queued)
    typical = _typical_grading_s()
    estimate = None
    if typical is not None:
        running = sa.select(sa.func.count()).where(Submission.status == SubmissionStatus.RUNNING)
        slots = max(1, db.session.scalar(running) or 0)
        estimate = (ahead // slots + 1) * typical
    return QueuePlace(position=ahead + 1, estimate_s=estimate)
