"""The L1 exam content: every reference solution scores 1.0 and every starter does not pass, graded by the
harness exactly as in the sandbox (candidate as uid 10001). Each run draws a fresh seed, so tolerances are
exercised on new data every time; a failure names its seed to reproduce it."""

import secrets

import pytest
from gradelib.results import PASSED

from .conftest import EXAM, TASKS


@pytest.mark.parametrize("task", TASKS)
def test_solution_scores_full_marks(grade_source, task):
    seed = secrets.randbits(63)
    source = (EXAM / "tasks" / task / "solution.py").read_text()
    result = grade_source(source, tests_dir=EXAM / "tasks" / task / "tests", wall_seconds=120, seed=seed)
    assert result.status == PASSED and result.score == 1.0, f"seed={seed}: {result}"


@pytest.mark.parametrize("task", TASKS)
def test_starter_does_not_pass(grade_source, task):
    seed = secrets.randbits(63)
    source = (EXAM / "tasks" / task / "starter.py").read_text()
    result = grade_source(source, tests_dir=EXAM / "tasks" / task / "tests", wall_seconds=120, seed=seed)
    assert result.status != PASSED and result.score < 0.7, f"seed={seed}: {result}"


def test_every_test_reports_its_compute_time(grade_source):
    """The candidate's call plus the checker's reference, per test; the submission's is their sum, and it is far
    below the time the whole grade took (interpreter start-up and imports are not the tests' cost)."""
    import time

    started = time.monotonic()
    source = (EXAM / "tasks" / "softmax" / "solution.py").read_text()
    result = grade_source(source, tests_dir=EXAM / "tasks" / "softmax" / "tests", wall_seconds=120)
    elapsed = time.monotonic() - started
    assert result.status == PASSED
    assert all(t.compute_s is not None and t.compute_s > 0 for t in result.tests)
    assert result.compute_s == sum(t.compute_s for t in result.tests) and result.compute_s < elapsed
