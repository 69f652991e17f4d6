"""The L3 exam in a real hardened container: the candidate can neither import nor read the hidden simulator. (The
reference plans and document score 1.0 in containers in the exam self-test, `certplatform exams selftest`.)"""

from __future__ import annotations

import uuid

import pytest
import yaml

from certplatform.sandbox import kinds
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.backends.docker_backend import DockerBackend
from certplatform.sandbox.limits import Limits
from tests import test_docker_sandbox
from tests.exam_fixtures import REPO

pytestmark = pytest.mark.docker
EXAM = REPO / "exams" / "l3-architect"
RUN = f"pytest-l3-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def backend() -> DockerBackend:
    """Cold containers: the plan kinds start their candidate for the submission (no pool)."""
    test_docker_sandbox.build_image()
    return DockerBackend(repo_root=REPO, image_overrides={})


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
