"""The L2 exam's wrong solutions in real containers: each is caught by the check it was written against, with the
verdict naming the rule, exactly as a candidate would see it (`# expect: <status> <text>` in each file)."""

from __future__ import annotations

import pytest
import yaml

from certplatform.sandbox import kinds
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.limits import Limits
from tests.exam_fixtures import REPO
from tests.test_docker_sandbox import RUN, pooled_backend, wait_for_removal  # noqa: F401  (a fixture)

pytestmark = pytest.mark.docker
EXAM = REPO / "exams" / "l2-cross-chip"
SPEC = yaml.safe_load((EXAM / "exam.yaml").read_text())
WRONG = sorted((t["id"], p.name) for t in SPEC["tasks"] for p in (EXAM / "tasks" / t["id"] / "wrong").glob("*.py"))


def _expectation(text: str) -> tuple[str, str]:
    line = next(line for line in text.splitlines() if line.startswith("# expect: "))
    status, _, needle = line.removeprefix("# expect: ").partition(" ")
    return status, needle


@pytest.fixture(autouse=True)
def nothing_left_behind(pooled_backend):  # noqa: F811
    yield
    wait_for_removal(pooled_backend)


def _grade(backend, task: str, code: str):
    request = GradeRequest(
        code=code,
        tests_dir=EXAM / "tasks" / task / "tests",
        kind=kinds.get("chip_profile"),
        runtime="triton-cpu",
        limits=Limits.from_mapping(next(t for t in SPEC["tasks"] if t["id"] == task)["limits"]),
        label=f"{RUN}-l2-{task}",
    )
    return backend.grade(request)


@pytest.mark.parametrize(("task", "name"), WRONG)
def test_wrong_solution_is_caught_in_a_container(pooled_backend, task, name) -> None:  # noqa: F811
    code = (EXAM / "tasks" / task / "wrong" / name).read_text()
    status, needle = _expectation(code)
    result = _grade(pooled_backend, task, code)
    verdicts = [result.message] + [t.message for t in result.tests if not t.passed]
    assert result.status == status and result.score < 1.0, result
    assert any(needle in v for v in verdicts), verdicts[:5]
    assert result.backend == "docker" and "not isolated" not in result.message


def test_tuned_mm_reference_scores_one_with_both_functions_checked(pooled_backend) -> None:  # noqa: F811
    result = _grade(pooled_backend, "tuned_mm", (EXAM / "tasks" / "tuned_mm" / "solution.py").read_text())
    assert result.status == "passed" and result.score == 1.0, result
    names = [t.name for t in result.tests]
    assert any("mm_config(" in n for n in names) and any("buckets M=" in n for n in names)
    assert any(n.startswith("hidden ") for n in names) and "chip-" not in str(names), "hidden names stay hidden"
    assert result.backend == "docker"


def test_migrate_block_reference_scores_one_with_its_record(pooled_backend) -> None:  # noqa: F811
    result = _grade(pooled_backend, "migrate_block", (EXAM / "tasks" / "migrate_block" / "solution.py").read_text())
    assert result.status == "passed" and result.score == 1.0, result
    names = [t.name for t in result.tests]
    assert any("op_record(block)" in n for n in names) and any("block fp16" in n for n in names)
    assert any(n.startswith("hidden ") for n in names) and "chip-" not in str(names), "hidden names stay hidden"
    record = next(t.message for t in result.tests if "op_record" in t.name)
    assert "replaced _softmax" in record and "unused ones:" in record, "the mentor sees the record"
    assert result.backend == "docker"
