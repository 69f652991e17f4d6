"""Two grading workers, each with its own pool of warm sandbox containers, share one broker and one database: every
submission is graded once, by one of them, and both pools serve grades."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Exam, Submission, SubmissionStatus
from certplatform.sandbox import pool
from certplatform.services import attempts, grading
from tests import services, workers
from tests.conftest import _empty_tables, _test_config
from tests.exam_fixtures import complete_course, source, write_exam_root
from tests.factories import make_user

pytestmark = [pytest.mark.redis, pytest.mark.docker, pytest.mark.host_candidate]
SUBMISSIONS = 4


@pytest.fixture
def two_hosts(database_url: str, tmp_path: Path):
    import docker

    from certplatform.sandbox import images
    from tests.exam_fixtures import REPO

    client = docker.from_env(timeout=600)
    images.build_runtime_image(client, "triton-cpu", REPO)
    root = write_exam_root(tmp_path / "content")
    queue = f"hosts-{uuid.uuid4().hex}"
    env = {
        "CERTPLATFORM_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": services.REDIS_URL,
        "CONTENT_ROOT": str(root),
        "SANDBOX_BACKEND": "docker",
        "SANDBOX_POOL_SIZE": "1",
    }
    app = create_app(
        _test_config(
            database_url,
            CONTENT_ROOT=str(root),
            SANDBOX_BACKEND="docker",
            CANDIDATE_SUBMIT_RATE_LIMIT="100 per minute",
            CELERY={"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": queue},
        )
    )
    started = []
    with app.app_context():
        sync_content(root)
        try:
            started = [workers.start(env, queue), workers.start(env, queue)]  # two hosts: own process, own pool
            yield client, started
        finally:
            for proc in started:
                workers.stop(proc)
            for container in pool.list_containers(client, pool.OWNER_LABEL):
                owner = container.labels.get(pool.OWNER_LABEL, "")
                if any(owner.endswith(f":{proc.pid}") for proc in started):
                    pool.remove_container(client, container.id)
            client.close()
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def _warm_of(client, pid: int) -> set[str]:
    """The warm containers the worker process `pid` holds ready."""
    found = pool.list_containers(client, [pool.OWNER_LABEL, pool.POOL_LABEL])
    return {c.id for c in found if c.labels.get(pool.OWNER_LABEL, "").endswith(f":{pid}")}


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_two_workers_with_their_own_pools_share_one_queue(two_hosts) -> None:
    client, procs = two_hosts
    first_warm = {proc.pid: _wait_for(lambda p=proc: _warm_of(client, p.pid), 240, "a warm pool") for proc in procs}
    exam = db.session.scalar(sa.select(Exam))
    task = next(t for t in attempts.live_tasks(exam) if t.slug == "vector_add")
    submitted = []
    for n in range(SUBMISSIONS):  # four candidates: nobody's line holds the others back
        user = make_user(email=f"host-test-{n}@example.com")
        complete_course(user)
        submitted.append(grading.submit(user, attempts.start(user, exam), task, source("vector_add")).submission.id)

    def all_final():
        rows = [db.session.get(Submission, i) for i in submitted]
        return rows if all(r.status.final for r in rows) else None

    rows = _wait_for(all_final, 600, "every grade")
    assert [(r.status, r.score, r.runs) for r in rows] == [(SubmissionStatus.PASSED, 1.0, 1)] * SUBMISSIONS
    assert all(proc.poll() is None for proc in procs), "a worker died"
    for proc in procs:  # each pool handed out its first warm container (single use: it is gone, a new one waits)
        used = first_warm[proc.pid] - _warm_of(client, proc.pid)
        assert used, f"worker {proc.pid} never graded from its own pool"
