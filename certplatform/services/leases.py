"""A running grading's lease: its worker renews it every few seconds, so a dead worker is noticed within seconds.

The lease is a column of the submission (`lease_expires_at`), renewed by a thread of the grading worker on a
connection of its own while the sandbox grades. A worker killed with its grading stops renewing; a sweeper (every
worker runs one, see certplatform/sweeper.py) finds the lease expired and re-queues the submission, or gives up on
it after GRADING_MAX_RUNS runs. Kill to final result is then at most the lease, a sweep interval and one more
grading: within twice the task's wall limit for any wall limit above the lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from certplatform.extensions import db
from certplatform.models import Submission, SubmissionStatus
from certplatform.models.types import utcnow

log = logging.getLogger(__name__)


def expiry(now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=current_app.config["GRADING_LEASE_S"])


def _renewal(submission_id: int, runs: int, lease_s: float):
    """The UPDATE that extends the lease of this run only (a run the sweeper already re-queued is not revived)."""
    return (
        sa.update(Submission)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.RUNNING, Submission.runs == runs)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
    )


class _Renewer(threading.Thread):
    def __init__(self, engine: sa.Engine, submission_id: int, runs: int, lease_s: float, every_s: float) -> None:
        super().__init__(name=f"lease-{submission_id}", daemon=True)
        self.engine, self.submission_id, self.runs = engine, submission_id, runs
        self.lease_s, self.every_s = lease_s, every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                with self.engine.begin() as connection:
                    held = connection.execute(_renewal(self.submission_id, self.runs, self.lease_s)).rowcount
            except sa.exc.SQLAlchemyError as exc:  # the database is away for a moment: try again next time
                log.warning("could not renew the lease of submission %s: %s", self.submission_id, exc)
                continue
            if not held:
                log.warning("submission %s: lease of run %s lost, it was taken back", self.submission_id, self.runs)
                return


@contextmanager
def kept(submission_id: int, runs: int) -> Iterator[None]:
    """Renew the lease of run `runs` of a claimed submission for as long as the block runs."""
    config = current_app.config
    renewer = _Renewer(db.engine, submission_id, runs, config["GRADING_LEASE_S"], config["GRADING_LEASE_RENEW_S"])
    renewer.start()
    try:
        yield
    finally:
        renewer.stopped.set()
        renewer.join(timeout=config["GRADING_LEASE_S"])


def expired(now: datetime | None = None) -> list[Submission]:
    """Running submissions whose worker stopped renewing their lease."""
    return list(
        db.session.scalars(
            sa.select(Submission).where(
                Submission.status == SubmissionStatus.RUNNING,
                Submission.lease_expires_at.is_not(None),
                Submission.lease_expires_at < (now or utcnow()),
            )
        )
    )


def take_back(submission: Submission, now: datetime) -> bool:
    """Re-queue a submission whose lease expired; False when another sweeper or its worker got there first."""
    result = db.session.execute(
        sa.update(Submission)
        .where(
            Submission.id == submission.id,
            Submission.status == SubmissionStatus.RUNNING,
            Submission.runs == submission.runs,
            Submission.lease_expires_at < now,
        )
        .values(status=SubmissionStatus.QUEUED, lease_expires_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1
