"""migrate_block in a real container: the reference solution (a forward returned by migrate_block, its taps and the
op record) scores 1.0 on the public and the hidden profiles within the task's wall limit on one core, and torch
math left in the migrated block is rejected with the aten op named, as a candidate would see it."""

from __future__ import annotations

import pytest
import yaml

from certplatform.sandbox import kinds
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.limits import Limits
from tests.exam_fixtures import REPO
from tests.test_docker_sandbox import RUN, _leftovers, backend  # noqa: F401  (backend is a fixture)

pytestmark = pytest.mark.docker
EXAM = REPO / "exams" / "l2-cross-chip"
TASK = EXAM / "tasks" / "migrate_block"
LIMITS = next(t for t in yaml.safe_load((EXAM / "exam.yaml").read_text())["tasks"] if t["id"] == "migrate_block")[
    "limits"
]


def _grade(backend, code: str):  # noqa: F811
    request = GradeRequest(
        code=code,
        tests_dir=TASK / "tests",
        kind=kinds.get("chip_profile"),
        runtime="triton-cpu",
        limits=Limits.from_mapping(LIMITS),
        label=f"{RUN}-l2-migrate_block",
    )
    return backend.grade(request)


def test_the_reference_scores_one_inside_the_wall_limit(backend) -> None:  # noqa: F811
    result = _grade(backend, (TASK / "solution.py").read_text())
    assert result.status == "passed" and result.score == 1.0, result
    names = [t.name for t in result.tests]
    assert any("op_record(block)" in n for n in names) and any("block fp16" in n for n in names)
    assert any(n.startswith("hidden ") for n in names) and "chip-" not in str(names), "hidden names stay hidden"
    record = next(t.message for t in result.tests if "op_record" in t.name)
    assert "replaced _softmax" in record and "unused ones:" in record, "the mentor sees the record"
    assert LIMITS["cpus"] == 1, "graded on one core, within the task's wall limit (a passed grade finished in time)"
    assert result.backend == "docker" and not _leftovers()


def test_torch_math_in_the_migrated_block_is_rejected_in_the_container(backend) -> None:  # noqa: F811
    result = _grade(backend, (TASK / "wrong" / "torch_on_host.py").read_text())
    assert result.status == "rejected" and result.score == 0.0, result
    assert "aten.mm" in result.message and "computed with torch" in result.message, result.message
    assert not _leftovers()
