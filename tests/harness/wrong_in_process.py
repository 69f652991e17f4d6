"""On demand, not part of the suite: grade every wrong solution in-process (the harness as in the sandbox, the
candidate as CERTPLATFORM_CANDIDATE_USER), to check new ones before the container test that CI relies on
(tests/test_docker_wrong_solutions.py) grades them. Run it by naming the file:

    pytest tests/harness/wrong_in_process.py [-k <task>]

Each grade uses a fresh seed, named on failure; WRONG_SEEDS=n grades each file n times."""

import os
import secrets

import pytest
import yaml

from certplatform.content.wrong_solutions import read_wrong, wrong_files
from certplatform.sandbox import kinds

from .conftest import REPO

EXAMS = sorted(p for p in (REPO / "exams").iterdir() if (p / "exam.yaml").is_file())
WRONG = [
    pytest.param(exam, task, path, id=f"{exam.name}/{task['id']}/{path.name}")
    for exam in EXAMS
    for task in yaml.safe_load((exam / "exam.yaml").read_text())["tasks"]
    if kinds.proves_checks(task["kind"])
    for path in wrong_files(exam / "tasks" / task["id"], kinds.source_suffix(task["kind"]))
]
ROUNDS = int(os.environ.get("WRONG_SEEDS", "1"))


@pytest.mark.parametrize(("exam", "task", "path"), WRONG)
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_wrong_solution_is_caught_by_its_check(grade_source, exam, task, path, round_):
    expected, submission = read_wrong(path)
    seed = secrets.randbits(63)
    wall = max(240, task["limits"]["wall_seconds"])
    result = grade_source(submission, tests_dir=exam / "tasks" / task["id"] / "tests", wall_seconds=wall, seed=seed)
    verdicts = [result.message] + [t.message for t in result.tests if not t.passed]
    print(f"{path.relative_to(REPO)}: {result.status} {result.score:.3f} | {result.message[:300]}")
    assert expected.met_by(result.status, verdicts) and result.score < 1.0, f"seed={seed}: {result}"
