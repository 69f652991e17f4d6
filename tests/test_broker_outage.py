"""The broker goes down: submissions, reset mails and message notifications are kept, and sent once it is back.

A Redis server of the test's own plays the broker, stopped and started again on the same port (the machine's
Redis is never touched); a real Celery worker consumes once it is back, and the periodic sweep drains the outbox.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker

from certplatform.extensions import db
from certplatform.models import ContactMessage, OrganizationKind, OutboxMessage, Role, Submission, SubmissionStatus
from certplatform.services import attempts, directory, grading, outbox
from tests import services, workers
from tests.conftest import outbox as sent_mail
from tests.conftest import post_form
from tests.exam_fixtures import complete_course, source
from tests.factories import make_org, make_user

pytestmark = [pytest.mark.host_candidate, pytest.mark.own_candidate]

QUEUE = f"outage-{uuid.uuid4().hex}"


class OwnRedis:
    """A throw-away redis-server on a free loopback port, that a test can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path):
    if shutil.which("redis-server") is None:
        services.need("redis-server is not installed (apt-get install redis-server)", "redis")
    own = OwnRedis(tmp_path)
    own.start()
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture
def app_config(broker):
    return {
        "SANDBOX_BACKEND": "process",
        "SANDBOX_PYTHON": sys.executable,
        "CELERY": {"broker_url": broker.url, "task_always_eager": False, "task_default_queue": QUEUE},
    }


def _wait_for(predicate, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _client(app, user):
    client = app.test_client()
    assert post_form(client, "/auth/login", {"email": user.email, "password": "Correct-Horse-42"}).status_code == 302
    return client


def test_nothing_is_lost_while_the_broker_is_down(app, broker, exam, cert) -> None:
    candidate = make_user(email="li.wei@example.com")
    complete_course(candidate)
    attempt = attempts.start(candidate, exam)
    member = make_user(Role.COMPANY_MEMBER, email="hr@chip.example")
    company = make_org(OrganizationKind.COMPANY, members=(member,))
    directory.set_consent(cert.user, True, "triton")
    browser, recruiter, stranger = _client(app, candidate), _client(app, member), app.test_client()

    broker.stop()
    task_page = f"/exams/{exam.slug}/attempts/{attempt.id}/vector_add/"
    submitted = post_form(browser, task_page, {"code": source("vector_add")}, follow_redirects=True)
    assert submitted.status_code == 200
    assert "Your submission is received. Grading will start shortly." in submitted.get_data(as_text=True)
    reset = post_form(stranger, "/auth/reset", {"email": cert.user.email}, follow_redirects=True)
    assert reset.status_code == 200 and "a reset link is on its way" in reset.get_data(as_text=True)
    contact = post_form(
        recruiter,
        f"/company/{company.id}/directory/{cert.user_id}/contact",
        {"subject": "An opening in our kernel team", "body": "Would you like to talk?"},
        follow_redirects=True,
    )
    assert contact.status_code == 200 and "Your message is sent" in contact.get_data(as_text=True)

    submission = db.session.scalar(sa.select(Submission).where(Submission.attempt_id == attempt.id))
    assert submission.status is SubmissionStatus.QUEUED
    assert db.session.scalar(sa.select(sa.func.count(ContactMessage.id))) == 1
    held = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.task for m in held] == ["certplatform.grade_submission"] + ["certplatform.send_email"] * 2
    assert sent_mail(app) == []
    # The sweep while the broker is still down sends nothing and loses nothing.
    assert outbox.drain() == 0 and grading.sweep().requeued == () and outbox.waiting() == 3

    broker.start()
    celery = app.extensions["celery"]
    import certplatform.tasks as tasks

    with start_worker(celery, pool="solo", perform_ping_check=False, queues=[QUEUE], loglevel="WARNING"):
        tasks.sweep.delay()  # what celery beat sends every minute
        _wait_for(lambda: db.session.get(Submission, submission.id).status.final, "the grade")
        _wait_for(lambda: len(sent_mail(app)) == 2, "both mails")
    graded = db.session.get(Submission, submission.id)
    assert graded.status is SubmissionStatus.PASSED and graded.score == 1.0 and graded.runs == 1
    assert sorted((m.to[0], m.subject) for m in sent_mail(app)) == [
        (cert.user.email, "New message on FlagOS Certification"),
        (cert.user.email, "Reset your FlagOS Certification password"),
    ]
    assert outbox.waiting() == 0


def test_a_broker_restarted_mid_grading_loses_no_grading(app, database_url, broker, exam) -> None:
    """The broker's Redis restarts empty while one submission is graded and another waits in its queue: the
    first finishes on its lease, the second's lost message is sent again by the sweeper, which notices the restart."""
    worker = workers.start(
        {
            "CERTPLATFORM_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker.url,
            "CONTENT_ROOT": app.config["CONTENT_ROOT"],
            "SANDBOX_BACKEND": "process",
            "SANDBOX_PYTHON": sys.executable,
            "GRADING_STUCK_GRACE_S": "3600",  # the old rule (a queued message lost for minutes) cannot act here
        },
        QUEUE,
    )
    try:
        submitted = []
        for email in ("li.wei@example.com", "wang.fang@example.com"):
            candidate = make_user(email=email)
            complete_course(candidate)
            attempt = attempts.start(candidate, exam)
            submitted_now = grading.submit(candidate, attempt, attempts.live_tasks(exam)[0], source("vector_add"))
            assert submitted_now.sent
            submitted.append(submitted_now.submission.id)
        first, second = submitted
        _wait_for(lambda: db.session.get(Submission, first).status is SubmissionStatus.RUNNING, "the first grading")
        assert db.session.get(Submission, second).status is SubmissionStatus.QUEUED  # its message waits at the broker
        redis.Redis.from_url(broker.url).set("outage-test:before-restart", "1")
        broker.stop()
        broker.start()
        # The broker came back empty: what it held before, the second submission's message included, is gone.
        assert redis.Redis.from_url(broker.url).get("outage-test:before-restart") is None
        _wait_for(lambda: all(db.session.get(Submission, i).status.final for i in submitted), "both grades", 300)
        for submission_id in submitted:
            graded = db.session.get(Submission, submission_id)
            assert graded.runs == 1 and graded.status is not SubmissionStatus.NOT_GRADABLE, graded.status
    finally:
        workers.stop(worker)
