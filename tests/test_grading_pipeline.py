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
from certplatform.models import AuditEvent, Exam, Submission, SubmissionStatus
from certplatform.models.types import utcnow
from certplatform.services import attempts, grading
from tests import services, workers
from tests.conftest import _empty_tables, _test_config
from tests.content.minimal_tree import edit
from tests.exam_fixtures import complete_course, source, write_exam_root
from tests.factories import make_user

pytestmark = [pytest.mark.redis, pytest.mark.host_candidate, pytest.mark.own_candidate, pytest.mark.both_databases]
# A short wall limit for vector_add here, so that the old rule (a run judged by its age) acts within the test, with
# room for a grading on a busy host.
WALL = 30


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
        "CERTPLATFORM_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": services.REDIS_URL,
        "CONTENT_ROOT": str(root),
        "SANDBOX_BACKEND": "process",
        "SANDBOX_PYTHON": sys.executable,
        "GRADING_INFLIGHT_PER_CANDIDATE": "1",  # one worker: one grading slot
    }
    app = create_app(
        _test_config(
            database_url,
            CONTENT_ROOT=str(root),
            SANDBOX_BACKEND="process",
            SANDBOX_PYTHON=sys.executable,
            GRADING_STUCK_GRACE_S=0,
            GRADING_INFLIGHT_PER_CANDIDATE=1,
            CANDIDATE_SUBMIT_RATE_LIMIT="100 per minute",
            CELERY={"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": queue},
        )
    )
    started: list[subprocess.Popen] = []

    def start_worker(**settings: str) -> subprocess.Popen:
        proc = workers.start({**env, **settings}, queue)
        started.append(proc)
        return proc

    with app.app_context():
        sync_content(root)
        app.start_worker = start_worker  # type: ignore[attr-defined]
        try:
            yield app
        finally:
            for proc in started:
                workers.stop(proc)
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


def _candidate():
    user = make_user()
    complete_course(user)
    return user, attempts.start(user, db.session.scalar(sa.select(Exam)))


def _submit_in(user, attempt, task_slug: str, code: str) -> Submission:
    task = next(t for t in attempts.live_tasks(attempt.exam) if t.slug == task_slug)
    return grading.submit(user, attempt, task, code).submission


def _submit(task_slug: str, code: str) -> Submission:
    return _submit_in(*_candidate(), task_slug, code)


def test_a_worker_grades_through_redis(pipeline) -> None:
    pipeline.start_worker()
    submission = _submit("vector_add", source("vector_add"))
    _wait_for(lambda: db.session.get(Submission, submission.id).status.final, 120, "the grade")
    graded = db.session.get(Submission, submission.id)
    assert graded.status is SubmissionStatus.PASSED and graded.score == 1.0 and graded.runs == 1
    # The same message again (a redelivery) changes nothing. The solo worker takes its queue in order, so once a
    # submission queued after the duplicate is graded, the duplicate has been handled.
    assert grading.enqueue(graded)
    later = _submit("vector_add", source("vector_add"))
    _wait_for(lambda: db.session.get(Submission, later.id).status.final, 120, "the grade queued after the duplicate")
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).runs == 1
    assert db.session.get(Submission, submission.id).status is SubmissionStatus.PASSED


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


def test_a_single_submission_waits_at_most_one_grading_behind_a_flood(pipeline) -> None:
    flooder, flood_attempt = _candidate()
    single, single_attempt = _candidate()
    slugs = [t.slug for t in attempts.live_tasks(flood_attempt.exam)]
    pipeline.start_worker()
    for i in range(20):
        _submit_in(flooder, flood_attempt, slugs[i % len(slugs)], source(slugs[i % len(slugs)]))
    flood = db.session.scalars(sa.select(Submission).where(Submission.attempt_id == flood_attempt.id)).all()
    waiting = [s for s in flood if s.status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)]
    # Newer submissions superseded older queued ones of the same task, yet several of the flood still wait:
    # first in, first out, the single submission would come after all of them.
    assert len(waiting) >= 3
    assert sum(1 for s in flood if s.status is SubmissionStatus.SUPERSEDED) >= 10

    mine = _submit_in(single, single_attempt, "vector_add", source("vector_add"))
    _wait_for(lambda: db.session.get(Submission, mine.id).status.final, 180, "the single submission's grade")
    graded = db.session.get(Submission, mine.id)
    assert graded.runs == 1 and graded.started_at is not None  # graded (on a busy host perhaps past its wall limit)
    db.session.expire_all()
    started_between = [
        s.id
        for s in db.session.scalars(sa.select(Submission).where(Submission.attempt_id == flood_attempt.id))
        if s.started_at is not None and graded.created_at < s.started_at < graded.started_at
    ]
    assert len(started_between) <= 1, started_between


def test_a_killed_workers_grading_is_taken_back_when_its_lease_expires(pipeline, capsys) -> None:
    # The workers wait an hour past the wall limit before the old rule (a run judged by its age) could act: only
    # an expired lease can bring this submission back within the wait below.
    old_rule_off = {"GRADING_STUCK_GRACE_S": "3600"}
    first = pipeline.start_worker(**old_rule_off)
    submission = _submit("vector_add", source("vector_add"))
    _wait_for(lambda: db.session.get(Submission, submission.id).status is SubmissionStatus.RUNNING, 120, "running")
    started = db.session.get(Submission, submission.id)
    lease = started.lease_expires_at
    assert lease is not None and lease > started.started_at
    _wait_for(lambda: db.session.get(Submission, submission.id).lease_expires_at > lease, 30, "a renewed lease")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and the grading process it started die together
    first.wait(timeout=10)
    killed, killed_at = time.monotonic(), utcnow()
    pipeline.start_worker(**old_rule_off)
    _wait_for(lambda: db.session.get(Submission, submission.id).status.final, 240, "the second run")
    kill_to_final = time.monotonic() - killed
    recovered = db.session.get(Submission, submission.id)
    assert recovered.runs == 2 and recovered.status is not SubmissionStatus.NOT_GRADABLE
    assert recovered.lease_expires_at is None
    taken_back = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "grading.lease_expired")).all()
    assert [(e.target_id, e.details["runs"]) for e in taken_back] == [(str(submission.id), 1)]
    detected = (taken_back[0].created_at - killed_at).total_seconds()
    with capsys.disabled():
        print(f"\nkill-to-final {kill_to_final:.1f} s, lease expired after {detected:.1f} s (wall limit {WALL} s)")


def test_a_run_whose_lease_expires_after_its_last_try_is_given_up(pipeline) -> None:
    submission = _submit("vector_add", source("vector_add"))
    assert grading.claim(submission.id)
    row = db.session.get(Submission, submission.id)
    row.runs = pipeline.config["GRADING_MAX_RUNS"]
    row.lease_expires_at = row.started_at  # its worker died right after claiming it
    db.session.commit()
    report = grading.expire_leases()
    assert report.abandoned == (submission.id,) and report.requeued == ()
    given_up = db.session.get(Submission, submission.id)
    assert given_up.status is SubmissionStatus.NOT_GRADABLE and given_up.lease_expires_at is None
