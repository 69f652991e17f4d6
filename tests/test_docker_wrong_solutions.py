"""Every exam's wrong solutions in real containers: each is caught by the check it was written against, with the
verdict naming the rule, exactly as a candidate would see it (the expect line in each file; a document is graded
without it, see content/wrong_solutions.py). This is the test that proves them; tests/harness/wrong_in_process.py
grades them in-process on demand, for authors."""

from __future__ import annotations

import pytest
import yaml

from certplatform.content.wrong_solutions import read_wrong, wrong_files
from certplatform.sandbox import kinds
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.limits import Limits
from tests.exam_fixtures import REPO
from tests.test_docker_sandbox import RUN, pooled_backend, wait_for_removal  # noqa: F401  (a fixture)

pytestmark = pytest.mark.docker
SPECS = {
    p.name: yaml.safe_load((p / "exam.yaml").read_text())
    for p in sorted((REPO / "exams").iterdir())
    if (p / "exam.yaml").is_file()
}
WRONG = [
    pytest.param(exam, task["id"], path.name, id=f"{exam}/{task['id']}/{path.name}")
    for exam, spec in SPECS.items()
    for task in spec["tasks"]
    if kinds.proves_checks(task["kind"])
    for path in wrong_files(REPO / "exams" / exam / "tasks" / task["id"], kinds.source_suffix(task["kind"]))
]
# The exams whose limits the pooled containers are warmed for (pooled_backend reads it).
EXAMS = sorted({REPO / "exams" / p.values[0] for p in WRONG})
L2 = "l2-cross-chip"


@pytest.fixture(autouse=True)
def nothing_left_behind(pooled_backend):  # noqa: F811
    yield
    wait_for_removal(pooled_backend)


def _grade(backend, exam: str, task_id: str, code: str):
    spec = SPECS[exam]
    task = next(t for t in spec["tasks"] if t["id"] == task_id)
    request = GradeRequest(
        code=code,
        tests_dir=REPO / "exams" / exam / "tasks" / task_id / "tests",
        kind=kinds.get(task["kind"]),
        runtime=spec["runtime"],
        limits=Limits.from_mapping(task["limits"]),
        label=f"{RUN}-{exam}-{task_id}",
    )
    return backend.grade(request)


@pytest.mark.parametrize(("exam", "task", "name"), WRONG)
def test_wrong_solution_is_caught_in_a_container(pooled_backend, exam, task, name) -> None:  # noqa: F811
    expected, code = read_wrong(REPO / "exams" / exam / "tasks" / task / "wrong" / name)
    result = _grade(pooled_backend, exam, task, code)
    verdicts = [result.message] + [t.message for t in result.tests if not t.passed]
    assert expected.met_by(result.status, verdicts) and result.score < 1.0, (expected, result)
    assert result.backend == "docker" and "not isolated" not in result.message


def test_tuned_mm_reference_scores_one_with_both_functions_checked(pooled_backend) -> None:  # noqa: F811
    code = (REPO / "exams" / L2 / "tasks" / "tuned_mm" / "solution.py").read_text()
    result = _grade(pooled_backend, L2, "tuned_mm", code)
    assert result.status == "passed" and result.score == 1.0, result
    names = [t.name for t in result.tests]
    assert any("mm_config(" in n for n in names) and any("buckets M=" in n for n in names)
    assert any(n.startswith("hidden ") for n in names) and "chip-" not in str(names), "hidden names stay hidden"
    assert result.backend == "docker"


def test_migrate_block_reference_scores_one_with_its_record(pooled_backend) -> None:  # noqa: F811
    code = (REPO / "exams" / L2 / "tasks" / "migrate_block" / "solution.py").read_text()
    result = _grade(pooled_backend, L2, "migrate_block", code)
    assert result.status == "passed" and result.score == 1.0, result
    names = [t.name for t in result.tests]
    assert any("op_record(block)" in n for n in names) and any("block fp16" in n for n in names)
    assert any(n.startswith("hidden ") for n in names) and "chip-" not in str(names), "hidden names stay hidden"
    record = next(t.message for t in result.tests if "op_record" in t.name)
    assert "replaced _softmax" in record and "unused ones:" in record, "the mentor sees the record"
    assert result.backend == "docker"
