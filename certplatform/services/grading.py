"""From a stored submission to a stored grade: claim it once, grade it in the sandbox, record the result.

Tasks call these with primary keys. A submission is claimed by one atomic UPDATE (queued -> running), so a
message delivered twice grades once; while it grades, its worker renews its lease (services/leases.py), and the
sweeper re-queues runs whose lease expired (their worker died) and gives up after a few.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from certplatform.extensions import db
from certplatform.models import OutboxMessage, Submission, SubmissionStatus, WorkerHeartbeat
from certplatform.models.types import utcnow
from certplatform.sandbox import grader_messages, kinds
from certplatform.sandbox.backends import BackendUnavailable, GradeRequest, get_backend
from certplatform.sandbox.limits import Limits
from certplatform.sandbox.results import GradeResult, not_gradable
from certplatform.services import attempts, audit, grading_queue, leases, outbox

log = logging.getLogger(__name__)


def backend():
    return get_backend(current_app.config["SANDBOX_BACKEND"], current_app.config)


def runtime_for(exam_runtime: str) -> str:
    return current_app.config.get("SANDBOX_RUNTIME") or exam_runtime


def request_for(submission: Submission) -> GradeRequest:
    task = submission.task
    return GradeRequest(
        code=submission.code,
        tests_dir=Path(current_app.config["CONTENT_ROOT"]) / task.path / "tests",
        kind=kinds.get(task.kind),
        runtime=runtime_for(task.exam.runtime),
        limits=Limits.from_mapping(task.limits),
        label=f"submission-{submission.id}",
    )


def _ref(submission_id: int) -> str:
    return f"submission:{submission_id}"


def stage(submission: Submission) -> None:
    """Write the grading message in the transaction that stores the submission (sent after its commit).

    Celery's time limits are a backstop above the sandbox's own. Only grading_queue decides when a new submission's
    first message is written (its candidate's in-flight limit); a message written again later keeps its place.
    """
    if submission.dispatched_at is None:
        submission.dispatched_at = utcnow()
    kill_after = Limits.from_mapping(submission.task.limits).kill_after_s
    outbox.stage(
        "certplatform.grade_submission",
        [submission.id],
        {"soft_time_limit": kill_after + 30, "time_limit": kill_after + 60},
        ref=_ref(submission.id),
    )


@dataclass(frozen=True)
class Submitted:
    submission: Submission
    sent: bool  # False: the broker is down and the outbox keeps the message for the sweeper


def submit(user, attempt, task, code: str) -> Submitted:
    """A candidate submits: the submission is stored by the attempt's rules (attempts.AttemptError when they refuse
    it) and queued for grading."""
    submission = attempts.record_submission(user, attempt, task, code)
    return Submitted(submission, enqueue(submission))


def enqueue(submission: Submission) -> bool:
    """Queue a stored submission's grading: its message is written if none is waiting, then handed to the broker.

    False when the broker is unavailable: the message stays in the outbox and the sweeper sends it later. A
    submission still waiting in its candidate's line has no message yet: the end of an earlier grading sends it.
    """
    if submission.status == SubmissionStatus.QUEUED and submission.dispatched_at is None:
        return True
    if not outbox.pending(_ref(submission.id)):
        stage(submission)
        db.session.commit()
    return outbox.send(_ref(submission.id))


def claim(submission_id: int) -> bool:
    """Move a queued submission to running; False when another delivery already took it (or it is done)."""
    result = db.session.execute(
        sa.update(Submission)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.QUEUED)
        .values(
            status=SubmissionStatus.RUNNING,
            started_at=utcnow(),
            runs=Submission.runs + 1,
            lease_expires_at=leases.expiry(),
        )
    )
    db.session.commit()
    return result.rowcount == 1


def waiting_for_sandbox(submission_id: int) -> bool:
    """True while the image this submission's runtime needs is being built: it stays queued, not failed.

    The build sends every queued submission to grading again when it ends (redrive_queued), and the sweeper
    does as well, so a waiting submission is never forgotten.
    """
    from certplatform.services import sandbox_build

    status = sandbox_build.preparing()
    if status is None or current_app.config["SANDBOX_BACKEND"] != "docker":
        return False
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.status != SubmissionStatus.QUEUED:
        return False
    try:
        current = backend()
        tag = current.image_for(runtime_for(submission.task.exam.runtime))
        if tag != status.tag:
            return False
        return not current.image_ready(tag)
    except BackendUnavailable:
        return False


def grade(submission_id: int) -> Submission | None:
    """Grade a queued submission and store the result; does nothing if it is not queued any more.

    While its sandbox image is being built it is left queued (None): the build's end sends it again.
    """
    if waiting_for_sandbox(submission_id):
        log.info("submission %s waits for the sandbox image being built", submission_id)
        return None
    if not claim(submission_id):
        return None
    submission = db.session.get(Submission, submission_id)
    try:
        with leases.kept(submission.id, submission.runs):
            result = backend().grade(request_for(submission))
    except (BackendUnavailable, kinds.UnknownTaskKind, OSError) as exc:
        result = not_gradable(str(exc))
    store(submission, result)
    outbox.flush()
    return submission


def store(submission: Submission, result: GradeResult) -> Submission:
    submission.status = SubmissionStatus(result.status)
    submission.score = result.score
    submission.tests = [
        {
            "name": t.name,
            "passed": t.passed,
            "score": t.score,
            "message": t.message,
            **({"parts": list(t.parts)} if t.parts else {}),
            **({"compute_s": t.compute_s} if t.compute_s is not None else {}),
        }
        for t in result.tests
    ]
    submission.message = grader_messages.encode(result.message, list(result.parts) if result.parts else None)
    submission.stdout = result.stdout
    submission.stderr = result.stderr
    submission.duration_s = result.duration_s
    submission.compute_s = result.compute_s
    submission.backend = result.backend or None
    submission.finished_at = utcnow()
    submission.lease_expires_at = None
    # The integrity report's comparisons, made once now rather than on a mentor's page view.
    outbox.stage("certplatform.compare_submission", [submission.id], ref=f"similarity:{submission.id}")
    db.session.commit()
    # The slot this grading held goes to the next submission in its candidate's line.
    grading_queue.release(submission.attempt.user_id)
    db.session.commit()
    attempts.settle(submission.attempt)
    return submission


def record_heartbeat(worker: str) -> WorkerHeartbeat:
    """Note that `worker` is alive and how its sandbox looks; /healthz reads the latest of these."""
    pool = None
    try:
        current = backend()
        name, status = current.name, current.health()
        pool = current.pool_status()
        current.reap()  # periodically, too: what a killed grading left behind on this host
    except BackendUnavailable as exc:
        name, status = current_app.config["SANDBOX_BACKEND"], f"error: {exc}"
    beat = db.session.scalar(sa.select(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker))
    if beat is None:
        beat = WorkerHeartbeat(worker=worker, backend=name, sandbox_status=status[:200])
        db.session.add(beat)
    beat.backend, beat.sandbox_status, beat.checked_at = name, status[:200], utcnow()
    beat.sandbox_pool = pool
    db.session.commit()
    return beat


def reap_sandboxes() -> list[str]:
    """Remove this host's sandbox containers whose owning worker process is gone (at worker start)."""
    return backend().reap()


def warm_sandboxes() -> int:
    """Ask this process's pool to keep containers warm for the live tasks that can use them (one per distinct
    runtime and container limits); the number of such keys."""
    from certplatform.models import Exam, ExamTask

    current = backend()
    if current.pool_status() is None:
        return 0
    keys = set()
    for task in db.session.scalars(
        sa.select(ExamTask).join(Exam).where(ExamTask.deleted_at.is_(None), Exam.deleted_at.is_(None))
    ):
        try:
            if kinds.get(task.kind).warm_candidate:
                limits = Limits.from_mapping(task.limits)
                keys.add(
                    (runtime_for(task.exam.runtime), limits.memory_mb, limits.pids, limits.cpus, limits.file_size_mb)
                )
                current.warm_up(runtime_for(task.exam.runtime), limits)
        except (kinds.UnknownTaskKind, KeyError, ValueError):
            continue
    return len(keys)


def _unsent_queued(sent_before) -> list[int]:
    """Queued submissions whose grading message left the outbox (before `sent_before`, if given)."""
    waiting = set(db.session.scalars(sa.select(OutboxMessage.ref).where(OutboxMessage.ref.like("submission:%"))))
    query = sa.select(Submission.id).where(
        Submission.status == SubmissionStatus.QUEUED, Submission.dispatched_at.is_not(None)
    )
    if sent_before is not None:
        query = query.where(Submission.dispatched_at < sent_before)
    return [submission_id for submission_id in db.session.scalars(query) if _ref(submission_id) not in waiting]


def redrive_queued() -> list[int]:
    """Send every queued submission that has no message waiting to grading now (after a sandbox build ends, or
    when the broker restarted empty and lost the messages it held)."""
    ids = _unsent_queued(None)
    for submission_id in ids:
        stage(db.session.get(Submission, submission_id))
    db.session.commit()
    outbox.flush()
    return ids


@dataclass(frozen=True)
class SweepReport:
    requeued: tuple[int, ...]
    abandoned: tuple[int, ...]
    closed_attempts: int


def _give_up(submission: Submission) -> None:
    store(submission, not_gradable(f"grading did not finish after {submission.runs} runs"))


def expire_leases(now=None) -> SweepReport:
    """Take back the runs whose lease expired (their worker died): re-queued, or given up after the last run."""
    now = now or utcnow()
    requeued: list[int] = []
    abandoned: list[int] = []
    for submission in leases.expired(now):
        runs = submission.runs
        if not leases.take_back(submission, now):
            continue
        audit.record(None, "grading.lease_expired", "submission", submission.id, runs=runs)
        db.session.commit()
        if runs >= current_app.config["GRADING_MAX_RUNS"]:
            _give_up(db.session.get(Submission, submission.id))
            abandoned.append(submission.id)
        else:
            stage(db.session.get(Submission, submission.id))
            db.session.commit()
            requeued.append(submission.id)
    if requeued or abandoned:
        outbox.flush()
    return SweepReport(tuple(requeued), tuple(abandoned), 0)


def sweep() -> SweepReport:
    """Settle what a dead worker left: re-queue stuck runs (or give up on them), close expired attempts."""
    now = utcnow()
    grace = timedelta(seconds=current_app.config["GRADING_STUCK_GRACE_S"])
    by_lease = expire_leases(now)
    requeued: list[int] = list(by_lease.requeued)
    abandoned: list[int] = list(by_lease.abandoned)
    # Runs without a lease were started before leases existed: they are judged by their age.
    running = db.session.scalars(
        sa.select(Submission).where(
            Submission.status == SubmissionStatus.RUNNING, Submission.lease_expires_at.is_(None)
        )
    ).all()
    for submission in running:
        wall = timedelta(seconds=int(submission.task.limits["wall_seconds"]))
        if submission.started_at is None or submission.started_at + wall + grace > now:
            continue
        if submission.runs >= current_app.config["GRADING_MAX_RUNS"]:
            _give_up(submission)
            abandoned.append(submission.id)
        else:
            submission.status = SubmissionStatus.QUEUED
            db.session.commit()
            requeued.append(submission.id)
    # A queued submission whose message left the outbox but never reached a worker (a broker that lost it on
    # restart, or a worker that left it queued while its sandbox image was being built) is sent again; one whose
    # message still waits in the outbox is not (draining sends it); a duplicate would be harmless anyway.
    stale = _unsent_queued(now - grace)
    closed = attempts.close_expired(now)
    from certplatform.services import review

    review.release_expired(now)
    for submission_id in sorted({*requeued, *stale} - set(by_lease.requeued)):
        stage(db.session.get(Submission, submission_id))
    grading_queue.release_all()
    db.session.commit()
    outbox.flush()
    return SweepReport(tuple(requeued), tuple(abandoned), closed)
