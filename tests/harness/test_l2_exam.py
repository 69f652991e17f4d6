"""The L2 exam content (`chip_profile` kind): every reference solution scores 1.0 on the public and the hidden
profiles and every starter fails. Graded by the harness exactly as in the sandbox (candidate as uid 10001), each
run with a fresh seed (named on failure). The wrong solutions are graded in containers
(tests/test_docker_wrong_solutions.py), or in-process on demand (wrong_in_process.py)."""

import secrets
from pathlib import Path

import pytest
from gradelib.results import PASSED

from .conftest import REPO

EXAM = REPO / "exams" / "l2-cross-chip"
TASKS = sorted(p.name for p in (EXAM / "tasks").iterdir() if p.is_dir())


def _grade(grade_source, task: str, path: Path, seed: int):
    return grade_source(path.read_text(), tests_dir=EXAM / "tasks" / task / "tests", wall_seconds=240, seed=seed)


@pytest.mark.parametrize("task", TASKS)
def test_solution_scores_full_marks(grade_source, task):
    seed = secrets.randbits(63)
    result = _grade(grade_source, task, EXAM / "tasks" / task / "solution.py", seed)
    assert result.status == PASSED and result.score == 1.0, f"seed={seed}: {result}"


@pytest.mark.parametrize("task", TASKS)
def test_starter_does_not_pass(grade_source, task):
    seed = secrets.randbits(63)
    result = _grade(grade_source, task, EXAM / "tasks" / task / "starter.py", seed)
    assert result.status != PASSED and result.score < 0.7, f"seed={seed}: {result}"
