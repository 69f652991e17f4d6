"""The whole path of a submission for bench/grading.py: a web request to the task page, the outbox, Redis, a real
Celery worker grading in the Docker sandbox, and the stored result.

Builds a PostgreSQL database of its own (dropped at the end), the small test course with the real L1 exam,
candidates with attempts, and worker processes on a queue of their own: one to begin with; the bench starts more
and kills one in the middle of a grading.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Timed:
    """One submission through the pipeline: seconds from the request to the stored result, and its compute_s."""

    task: str
    latency_s: float
    compute_s: float


@dataclass(frozen=True)
class Candidate:
    """A signed-in candidate (a test client of their own) with an attempt started."""

    client: object
    attempt_url: str


@dataclass(frozen=True)
class Sent:
    """A submission whose request was answered: its id and when the request was sent."""

    submission_id: int
    sent_at: datetime


class Pipeline:
    """The live pipeline: submissions through web requests, and the worker processes that grade them."""

    def __init__(self, app, env: dict[str, str], queue: str) -> None:
        self.app, self.env, self.queue = app, env, queue
        self.workers: list[subprocess.Popen] = []
        self._names: dict[int, str] = {}  # pid -> the worker's Celery hostname, which its heartbeat row carries
        self._first: Candidate | None = None

    def submit(self, task: str, code: str) -> Timed:
        """One submission of the first candidate, waited for; measured again (and said) when an overloaded host
        timed it out."""
        if self._first is None:
            self._first = self.candidate()
        for _attempt in range(2):
            try:
                return _submit_once(self, self._first, task, code)
            except _Overloaded as exc:
                print(f"  {task} through the pipeline: {exc}, measured again")
        return _submit_once(self, self._first, task, code)

    def start_worker(self, **settings: str) -> subprocess.Popen:
        """One more solo-pool worker on the bench's queue, in a process group of its own."""
        name = f"bench-{uuid.uuid4().hex[:8]}"
        worker = _start_worker({**self.env, **settings}, self.queue, name)
        self.workers.append(worker)
        self._names[worker.pid] = name
        return worker

    def wait_ready(self, worker: subprocess.Popen, timeout: float = 180) -> None:
        """Until the worker is up: it reports its sandbox once it is ready to take gradings."""
        import sqlalchemy as sa

        from certplatform.extensions import db
        from certplatform.models import WorkerHeartbeat

        name = self._names[worker.pid]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise SystemExit(f"worker {name} ended with {worker.returncode} before it was ready")
            db.session.expire_all()
            if db.session.scalar(sa.select(WorkerHeartbeat.id).where(WorkerHeartbeat.worker.like(f"{name}@%"))):
                return
            time.sleep(0.1)
        raise SystemExit(f"worker {name} not ready after {timeout} s")

    def settle_pool(self, size: int, timeout: float = 180) -> float:
        """Until the workers' pools hold `size` containers each, all of them warm (no refill importing beside a
        grade): the platform as an idle moment leaves it. The seconds it took."""
        import docker

        from certplatform.sandbox import pool

        started = time.monotonic()
        pids = {str(w.pid) for w in self.workers}
        with closing(docker.from_env(timeout=60)) as client:
            while time.monotonic() - started < timeout:
                mine = [
                    c
                    for c in pool.list_containers(client, pool.POOL_LABEL)
                    if c.labels.get(pool.OWNER_LABEL, "").rpartition(":")[2] in pids
                ]
                warm = 0
                for container in mine:
                    with suppress(docker.errors.APIError):  # taken for a grade meanwhile, or being removed
                        warm += pool.says_warm(client, container.id)
                if warm >= size * len(pids) and warm == len(mine):
                    return time.monotonic() - started
                time.sleep(0.2)
        raise SystemExit(f"the workers' pools were not warm after {timeout} s")

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process group, as a host losing it would: no warm shutdown, no last write."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        self.workers.remove(worker)

    def candidate(self) -> Candidate:
        client = self.app.test_client()
        return Candidate(client, _candidate_with_attempt(client))

    def send(self, candidate: Candidate, task: str, code: str) -> Sent:
        """Submit through the task page without waiting for the grade."""
        import sqlalchemy as sa

        from certplatform.extensions import db
        from certplatform.models import Submission
        from certplatform.models.types import utcnow
        from tests.conftest import csrf_token

        url = candidate.attempt_url + f"{task}/"
        token = csrf_token(candidate.client, url)
        sent_at = utcnow()
        response = candidate.client.post(url, data={"csrf_token": token, "code": code})
        if response.status_code != 302:
            raise SystemExit(f"{task}: the submit request answered {response.status_code}")
        # Only web requests store submissions, and the bench sends them one after another: the newest is this one.
        return Sent(db.session.scalar(sa.select(sa.func.max(Submission.id))), sent_at)

    def wait_final(self, ids: list[int], timeout: float):
        """The submissions `ids` once every one of them is in a final state (superseded ones included)."""
        import sqlalchemy as sa

        from certplatform.extensions import db
        from certplatform.models import Submission

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            db.session.expire_all()
            rows = db.session.scalars(sa.select(Submission).where(Submission.id.in_(ids))).all()
            if len(rows) == len(ids) and all(row.status.final for row in rows):
                return {row.id: row for row in rows}
            time.sleep(0.05)
        raise SystemExit(f"{len(ids)} submissions: not all final after {timeout} s")

    def stop(self) -> None:
        """Warm shutdown of every worker still running (they remove their pooled containers)."""
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        self.workers.clear()


@contextmanager
def pipeline(redis_url: str, worker_env: dict[str, str], inflight_per_candidate: int = 2):
    """Yield a Pipeline with one live worker behind it; everything is removed afterwards.

    `inflight_per_candidate` (GRADING_INFLIGHT_PER_CANDIDATE) reaches the web side and the workers alike: the
    number of grading slots, for a flood of one candidate to use them all and put another no more than one back.
    """
    from sqlalchemy.engine import make_url

    from certplatform import create_app
    from certplatform.content.sync import sync_content
    from certplatform.extensions import db
    from tests import services
    from tests.exam_fixtures import write_exam_root

    base = make_url(services.BASE_POSTGRES_URL)
    database_url = base.set(database=f"certplatform_bench_{os.getpid()}").render_as_string(hide_password=False)
    services.create_database(database_url)
    queue = f"bench-grading-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-content-") as tmp:
        root = write_exam_root(Path(tmp))
        app = create_app(
            {
                "ENV_NAME": "test",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "CONTENT_ROOT": str(root),
                # Off, for the flood and the burst: one candidate's twenty submissions in a moment are past
                # CANDIDATE_SUBMIT_RATE_LIMIT and SUBMISSIONS_PER_TASK.
                "RATELIMIT_ENABLED": False,
                "SUBMISSIONS_PER_TASK": 10_000,
                "GRADING_INFLIGHT_PER_CANDIDATE": inflight_per_candidate,
                "CELERY": {"broker_url": redis_url, "task_always_eager": False, "task_default_queue": queue},
            }
        )
        from tests.conftest import IsolatedClient

        app.test_client_class = IsolatedClient  # each request in a context of its own, as in a server
        line = None
        try:
            with app.app_context():
                db.create_all()
                sync_content(root)
                env = {
                    **os.environ,
                    "CERTPLATFORM_ENV": "development",
                    "DATABASE_URL": database_url,
                    "REDIS_URL": redis_url,
                    "CONTENT_ROOT": str(root),
                    "SANDBOX_BACKEND": "docker",
                    # What a worker sends (the next of a candidate's line, a run taken back) stays on this queue.
                    "CELERY_DEFAULT_QUEUE": queue,
                    "GRADING_INFLIGHT_PER_CANDIDATE": str(inflight_per_candidate),
                    **worker_env,
                }
                line = Pipeline(app, env, queue)
                line.start_worker()
                yield line
        finally:
            if line is not None:
                line.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            services.drop_database(database_url)


def _start_worker(env: dict[str, str], queue: str, name: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "certplatform.celery_app", "worker", "--pool", "solo"]
    command += ["--hostname", f"{name}@%h"]
    command += ["--queues", queue, "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip"]
    command += ["--without-mingle"]
    return subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL)


def _candidate_with_attempt(client) -> str:
    """A candidate who passed the course, signed in, with an attempt started; the attempt's URL."""
    from tests.conftest import AuthActions, post_form
    from tests.exam_fixtures import complete_course
    from tests.factories import make_user

    user = make_user()
    complete_course(user)
    AuthActions(client).login(user.email)
    response = post_form(client, "/exams/l1-exam/start")
    if response.status_code != 302:
        raise SystemExit(f"could not start the bench attempt: {response.status_code}")
    return response.location


class _Overloaded(Exception):
    pass


def _submit_once(line: Pipeline, candidate: Candidate, task: str, code: str, timeout: float = 300) -> Timed:
    sent = line.send(candidate, task, code)
    row = line.wait_final([sent.submission_id], timeout)[sent.submission_id]
    if row.status.value in ("timeout", "not_gradable"):
        raise _Overloaded(f"{row.status.value} {row.message}"[:200])
    if row.status.value != "passed" or row.compute_s is None:
        raise SystemExit(f"{task} through the pipeline: {row.status.value} {row.message}")
    return Timed(task, (row.finished_at - sent.sent_at).total_seconds(), row.compute_s)
