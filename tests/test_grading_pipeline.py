"""Submissions through Redis to real Celery worker processes, including a worker killed in the middle of grading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Exam, Submission, SubmissionStatus
from certplatform.services import attempts, grading
from tests import services
from tests.conftest import _empty_tables, _test_config
from tests.content.minimal_tree import edit
from tests.exam_fixtures import REPO, complete_course, source, write_exam_root
from tests.factories import make_user

pytestmark = [pytest.mark.redis, pytest.mark.host_candidate]
WALL = 12  # a short wall limit for vector_add here, so a stuck run is noticed quickly


@pytest.fixture
def pipeline(database_url: str, tmp_path: Path):
    root = write_exam_root(tmp_path / "content")
    edit(
        root,
        "exams/l1-exam/exam.yaml",
        "  - id: vector_add\n    kind: triton_op\n    weight: 0.1\n    limits: {wall_seconds: 60,",
        f"  - id: vector_add\n    kind: triton_op\n    weight: 0.1\n    limits: {{wall_seconds: {WALL},",
    )
    queue = f"grading-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "CERTPLATFORM_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": services.REDIS_URL,
        "CONTENT_ROOT": str(root),
        "SANDBOX_BACKEND": "process",
        "SANDBOX_PYTHON": sys.executable,
    }
    app = create_app(
        _test_config(
            database_url,
            CONTENT_ROOT=str(root),
            SANDBOX_BACKEND="process",
            SANDBOX_PYTHON=sys.executable,
            GRADING_STUCK_GRACE_S=0,
            CELERY={"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": queue},
        )
    )
    workers: list[subprocess.Popen] = []

    def start_worker() -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "certplatform.celery_app",
                "worker",
                "--pool",
                "solo",
                "--queues",
                queue,
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            cwd=REPO,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        workers.append(proc)
        return proc

    with app.app_context():
        sync_content(root)
        app.start_worker = start_worker  # type: ignore[attr-defined]
        try:
            yield app
        finally:
            for proc in workers:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                proc.stderr.close()
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _submit(task_slug: str, code: str) -> Submission:
    user = make_user()
    complete_course(user)
    exam = db.session.scalar(sa.select(Exam))
    attempt = attempts.start(user, exam)
    task = next(t for t in attempts.live_tasks(exam) if t.slug == task_slug)
    submission = attempts.submit(user, attempt, task, code)
    grading.enqueue(submission)
    return submission


def test_a_worker_grades_through_redis(pipeline) -> None:
    pipeline.start_worker()
    submission = _submit("vector_add", source("vector_add"))
    _wait_for(lambda: db.session.get(Submission, submission.id).status.final, 120, "the grade")
    graded = db.session.get(Submission, submission.id)
    assert graded.status is SubmissionStatus.PASSED and graded.score == 1.0 and graded.runs == 1
    # The same message again (a redelivery) changes nothing.
    grading.enqueue(graded)
    time.sleep(3)
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).runs == 1


def test_a_worker_killed_mid_grading_is_recovered_by_the_sweeper(pipeline) -> None:
    first = pipeline.start_worker()
    submission = _submit("vector_add", source("vector_add"))
    _wait_for(lambda: db.session.get(Submission, submission.id).status is SubmissionStatus.RUNNING, 60, "running")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and the grading process it started die together
    first.wait(timeout=10)
    stuck = db.session.get(Submission, submission.id)
    assert stuck.status is SubmissionStatus.RUNNING and stuck.runs == 1
    # Not yet past its wall limit: the sweeper leaves it alone.
    assert grading.sweep().requeued == ()
    _wait_for(lambda: time.sleep(0.5) or grading.sweep().requeued == (submission.id,), WALL + 15, "the sweeper")
    pipeline.start_worker()
    _wait_for(lambda: db.session.get(Submission, submission.id).status.final, 120, "the second run")
    recovered = db.session.get(Submission, submission.id)
    assert recovered.status is SubmissionStatus.PASSED and recovered.runs == 2


def test_a_run_that_keeps_dying_is_given_up_as_not_gradable(pipeline) -> None:
    submission = _submit("vector_add", source("vector_add"))
    row = db.session.get(Submission, submission.id)
    row.status, row.runs = SubmissionStatus.RUNNING, pipeline.config["GRADING_MAX_RUNS"]
    row.started_at = row.created_at.replace(year=row.created_at.year - 1)
    db.session.commit()
    report = grading.sweep()
    assert report.abandoned == (submission.id,)
    given_up = db.session.get(Submission, submission.id)
    assert given_up.status is SubmissionStatus.NOT_GRADABLE and not given_up.status.counts
