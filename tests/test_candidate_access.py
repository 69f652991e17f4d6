"""The process backend run as root from an interpreter under a private (0700) home: found before grading, with
what to do, in the candidate's language, and on /healthz, instead of a PermissionError traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from certplatform.extensions import db
from certplatform.models import Locale, Submission, SubmissionStatus
from certplatform.sandbox import candidate_access, grader_messages
from certplatform.sandbox.backends.process_backend import ProcessBackend
from certplatform.services.grading import record_heartbeat
from tests.conftest import post_form
from tests.exam_fixtures import REPO, source

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the harness drops privileges only when run as root"),
    pytest.mark.host_candidate,
]
HARNESS = REPO / "sandboxes/harness/grade.py"
SYSTEM_PYTHON = Path(os.path.realpath(sys.executable))


def _venv(parent: Path) -> Path:
    """A real virtualenv (no pip: it is not needed to start) made from the interpreter running the tests."""
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(parent / "venv")], check=True)
    return parent / "venv" / "bin" / "python"


@contextmanager
def _home(mode: int) -> Iterator[Path]:
    """A directory owned by root with this mode, holding a venv."""
    home = Path(tempfile.mkdtemp(prefix="certplatform-home-"))
    home.chmod(mode)
    _venv(home)
    try:
        yield home
    finally:
        shutil.rmtree(home)


@pytest.fixture(scope="module")
def private_home() -> Iterator[Path]:
    """0700, like /root: the candidate user cannot pass it."""
    with _home(0o700) as home:
        yield home


@pytest.fixture(scope="module")
def open_home() -> Iterator[Path]:
    with _home(0o755) as home:
        yield home


def test_an_interpreter_behind_a_private_directory_is_found(private_home: Path) -> None:
    python = private_home / "venv/bin/python"
    problem = candidate_access.check(str(python), HARNESS.parent / "run_candidate.py")
    assert problem is not None and problem.kind == "interpreter"
    assert problem.blocked == str(private_home) and problem.mode == "0700" and problem.uid == 10001
    assert candidate_access.blocking_path(python, 10001, 10001, 5) == private_home


def test_an_interpreter_the_candidate_can_run_passes(open_home: Path) -> None:
    assert candidate_access.check(str(open_home / "venv/bin/python"), HARNESS.parent / "run_candidate.py") is None


def test_a_venv_whose_interpreter_links_into_a_private_directory_is_found(private_home: Path, open_home: Path) -> None:
    # A venv in an open place, made from an interpreter in the private one (pyenv under /root, say).
    linked = open_home / "linked"
    linked.mkdir()
    (linked / "python").symlink_to(private_home / "venv/bin/python")
    problem = candidate_access.check(str(linked / "python"), HARNESS.parent / "run_candidate.py")
    assert problem is not None and problem.blocked == str(private_home)


def test_a_harness_in_a_private_checkout_is_named(private_home: Path, open_home: Path) -> None:
    harness = private_home / "harness"
    shutil.copytree(HARNESS.parent, harness, ignore=shutil.ignore_patterns("__pycache__"))
    problem = ProcessBackend(python=str(open_home / "venv/bin/python"), harness=harness / "grade.py").preflight()
    assert problem is not None and problem.kind == "harness" and problem.blocked == str(private_home)
    assert "docker backend" in problem.message()


def test_grading_says_what_to_do_instead_of_a_traceback(app, private_home: Path) -> None:
    from certplatform.sandbox import kinds
    from certplatform.sandbox.backends import GradeRequest
    from certplatform.sandbox.limits import Limits

    backend = ProcessBackend(python=str(private_home / "venv/bin/python"), harness=HARNESS)
    request = GradeRequest(
        code=source("vector_add"),
        tests_dir=REPO / "exams/l1-operator-dev/tasks/vector_add/tests",
        kind=kinds.get("triton_op"),
        runtime="triton-cpu",
        limits=Limits(wall_seconds=30, memory_mb=1024, pids=64, cpus=1, file_size_mb=8, output_kb=16),
    )
    result = backend.grade(request)
    assert result.status == "not_gradable"
    assert "SANDBOX_PYTHON=/usr/bin/python3" in result.message and str(private_home) in result.message
    assert "Traceback" not in result.message and "PermissionError" not in result.message


@pytest.mark.parametrize(
    ("status", "probed"),
    [
        ("passed", False),
        ("failed", False),
        ("rejected", False),
        ("timeout", False),
        ("error", True),
        ("not_gradable", True),
    ],
)
def test_the_access_probe_runs_only_after_a_grade_that_did_not_come_through(monkeypatch, status, probed) -> None:
    from certplatform.sandbox.results import GradeResult

    calls = []
    backend = ProcessBackend(python=sys.executable, harness=HARNESS)
    monkeypatch.setattr(ProcessBackend, "_grade", lambda self, request, started: GradeResult(status, 0.0, ()))
    monkeypatch.setattr(candidate_access, "check", lambda *args: calls.append(args))
    assert backend.grade(None).status == status
    assert bool(calls) is probed


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"SANDBOX_BACKEND": "process"}


def test_a_chinese_candidate_reads_it_in_chinese_and_healthz_reports_it(
    app, client, auth, candidate, private_home: Path
) -> None:
    app.config["SANDBOX_PYTHON"] = str(private_home / "venv/bin/python")
    candidate.locale = Locale.ZH_CN
    db.session.commit()
    auth.login(candidate.email)
    attempt_url = post_form(client, "/exams/l1-exam/start").location
    post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")})
    submission = db.session.scalar(sa.select(Submission))
    assert submission.status is SubmissionStatus.NOT_GRADABLE
    # Stored as English text and a code, worded in each reader's language when shown.
    text, parts = grader_messages.decode(submission.message)
    assert text.startswith("Grading is not possible") and "SANDBOX_PYTHON=/usr/bin/python3" in text
    assert [p["code"] for p in parts] == ["host.no_interpreter"]
    page = client.get(attempt_url + "vector_add/").get_data(as_text=True)
    assert "无法评分" in page and "SANDBOX_PYTHON=/usr/bin/python3" in page
    with force_locale("en"):
        assert grader_messages.submission_message(submission.message) == text
    beat = record_heartbeat("celery@test")
    assert beat.sandbox_status.startswith("error: set SANDBOX_PYTHON=/usr/bin/python3 or a venv")
    health = client.get("/healthz")
    assert health.status_code == 503 and "SANDBOX_PYTHON" in health.json["sandbox"]
