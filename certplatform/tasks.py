"""Celery tasks: they take plain values or primary keys, call services, and are safe to run twice."""

from __future__ import annotations

import socket

from celery import shared_task
from flask import current_app
from flask_mailman import EmailMessage


@shared_task(name="certplatform.send_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(to: str, subject: str, body: str) -> None:
    """Deliver one plain-text message through the configured mail backend."""
    message = EmailMessage(subject=subject, body=body, from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[to])
    message.send()


@shared_task(name="certplatform.grade_submission", acks_late=True, reject_on_worker_lost=True)
def grade_submission(submission_id: int) -> str | None:
    """Grade one submission in the sandbox; a second delivery of the same message does nothing."""
    from certplatform.services import grading

    submission = grading.grade(submission_id)
    return submission.status.value if submission is not None else None


@shared_task(name="certplatform.compare_submission", acks_late=True)
def compare_submission(submission_id: int) -> int:
    """Compare a graded submission with the other candidates' submissions of its task; stored results are reused."""
    from certplatform.services import integrity

    return integrity.compare_submission(submission_id)


@shared_task(name="certplatform.sweep", bind=True)
def sweep(self) -> dict[str, object]:
    """Report this worker's sandbox and run the periodic sweep (certplatform.sweeper.periodic). Every worker runs
    it by itself; celery beat may still send this, and running it twice is harmless."""
    from certplatform import sweeper
    from certplatform.services import grading

    grading.record_heartbeat(self.request.hostname or socket.gethostname())
    return sweeper.periodic()


@shared_task(name="certplatform.ping")
def ping() -> str:
    """Round trip through the broker, used to check that workers are consuming."""
    return "pong"
