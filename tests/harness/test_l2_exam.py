"""The L2 exam content (`chip_profile` kind): every reference solution scores 1.0 on the public and the hidden
profiles, every starter fails, and every wrong solution under tasks/<task>/wrong/ is caught by the check it
was written against: its second line says `# expect: <status> <text the verdict must contain>`. Graded by the
harness exactly as in the sandbox (candidate as uid 10001), each run with a fresh seed (named on failure)."""

import secrets
from pathlib import Path

import pytest
from gradelib.results import PASSED

from .conftest import REPO

EXAM = REPO / "exams" / "l2-cross-chip"
TASKS = sorted(p.name for p in (EXAM / "tasks").iterdir() if p.is_dir())
WRONG = sorted((t, p.name) for t in TASKS for p in (EXAM / "tasks" / t / "wrong").glob("*.py"))


def _grade(grade_source, task: str, path: Path, seed: int):
    return grade_source(path.read_text(), tests_dir=EXAM / "tasks" / task / "tests", wall_seconds=240, seed=seed)


def _expectation(path: Path) -> tuple[str, str]:
    for line in path.read_text().splitlines()[:5]:
        if line.startswith("# expect: "):
            status, _, text = line.removeprefix("# expect: ").partition(" ")
            return status, text
    raise AssertionError(f"{path} has no '# expect: <status> <text>' line")


def test_every_task_has_wrong_solutions():
    assert TASKS, "the exam has tasks"
    for task in TASKS:
        assert list((EXAM / "tasks" / task / "wrong").glob("*.py")), f"{task} has no wrong solutions"


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


@pytest.mark.parametrize(("task", "name"), WRONG)
def test_wrong_solution_is_caught_by_its_check(grade_source, task, name):
    path = EXAM / "tasks" / task / "wrong" / name
    status, text = _expectation(path)
    seed = secrets.randbits(63)
    result = _grade(grade_source, task, path, seed)
    verdicts = [result.message] + [t.message for t in result.tests if not t.passed]
    assert result.status == status and result.score < 1.0, f"seed={seed}: {result}"
    assert any(text in v for v in verdicts), f"seed={seed}: no verdict mentions {text!r}: {verdicts[:5]}"
