"""The L3 exam's tasks in real hardened containers: the reference plan and document score 1.0, and inside the
container the candidate can neither import nor read the hidden simulator."""

from __future__ import annotations

import uuid

import pytest
import yaml

from certplatform.sandbox import kinds
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.limits import Limits
from tests import test_docker_sandbox
from tests.exam_fixtures import REPO

pytestmark = pytest.mark.docker
EXAM = REPO / "exams" / "l3-architect"
backend = test_docker_sandbox.backend  # the same module-scoped engine fixture
RUN = f"pytest-l3-{uuid.uuid4().hex[:8]}"


def _request(task: str, code: str) -> GradeRequest:
    spec = yaml.safe_load((EXAM / "exam.yaml").read_text())
    entry = next(t for t in spec["tasks"] if t["id"] == task)
    return GradeRequest(
        code=code,
        tests_dir=EXAM / "tasks" / task / "tests",
        kind=kinds.get(entry["kind"]),
        runtime="triton-cpu",
        limits=Limits.from_mapping(entry["limits"]),
        label=f"{RUN}-{task}",
    )


@pytest.mark.parametrize(
    ("task", "name"),
    [
        ("plan_training", "solution.py"),
        ("plan_inference", "solution.py"),
        ("replan_after_failure", "solution.py"),
        ("design_doc", "solution.md"),
    ],
)
def test_reference_scores_one_in_a_container(backend, task, name) -> None:
    result = backend.grade(_request(task, (EXAM / "tasks" / task / name).read_text()))
    assert result.status == "passed" and result.score == 1.0, result


def test_the_simulator_is_out_of_reach_inside_the_container(backend) -> None:
    probe = """
import json
import os


def plan_training(cluster, model, workload):
    found = {"tests": os.path.isdir("/grade/tests")}
    for path in ("/grade/tests/costmodel.py", "/grade/tests/cases.py", "/grade/seed", "/grade/results"):
        try:
            open(path).read() if not path.endswith("results") else os.listdir(path)
            found[path] = "readable"
        except OSError as exc:
            found[path] = type(exc).__name__
    try:
        import costmodel  # noqa: F401
        found["import"] = "ok"
    except ImportError as exc:
        found["import"] = type(exc).__name__
    raise RuntimeError(json.dumps(found, sort_keys=True))
"""
    result = backend.grade(_request("plan_training", probe))
    assert result.score == 0.0
    message = result.tests[0].message
    assert "readable" not in message and '"import": "ModuleNotFoundError"' in message, message
    assert '"/grade/tests/costmodel.py": "PermissionError"' in message, message
