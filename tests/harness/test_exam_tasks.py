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
