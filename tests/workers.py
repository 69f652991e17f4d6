"""Real Celery worker processes for the tests that need one outside the test process (to kill it, for one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.exam_fixtures import REPO


def start(env: dict[str, str], queue: str) -> subprocess.Popen:
    """A solo-pool worker of certplatform.celery_app consuming `queue`, in a process group of its own."""
    return subprocess.Popen(
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
        env={**os.environ, "CELERY_DEFAULT_QUEUE": queue, **env},
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(proc: subprocess.Popen) -> None:
    """Kill the worker and what it started (a grading in progress)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stderr.close()
