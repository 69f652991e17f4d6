"""The L2 exam's wrong solutions in real containers: each is caught by the check it was written against, with the
verdict naming the rule, exactly as a candidate would see it (`# expect: <status> <text>` in each file)."""

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
SPEC = yaml.safe_load((EXAM / "exam.yaml").read_text())
WRONG = sorted((t["id"], p.name) for t in SPEC["tasks"] for p in (EXAM / "tasks" / t["id"] / "wrong").glob("*.py"))


def _expectation(text: str) -> tuple[str, str]:
    line = next(line for line in text.splitlines() if line.startswith("# expect: "))
    status, _, needle = line.removeprefix("# expect: ").partition(" ")
    return status, needle


@pytest.mark.parametrize(("task", "name"), WRONG)
def test_wrong_solution_is_caught_in_a_container(backend, task, name) -> None:  # noqa: F811
    code = (EXAM / "tasks" / task / "wrong" / name).read_text()
    status, needle = _expectation(code)
    limits = Limits.from_mapping(next(t for t in SPEC["tasks"] if t["id"] == task)["limits"])
    request = GradeRequest(
        code=code,
        tests_dir=EXAM / "tasks" / task / "tests",
        kind=kinds.get("chip_profile"),
        runtime="triton-cpu",
        limits=limits,
        label=f"{RUN}-l2-{task}",
    )
    result = backend.grade(request)
    verdicts = [result.message] + [t.message for t in result.tests if not t.passed]
    assert result.status == status and result.score < 1.0, result
    assert any(needle in v for v in verdicts), verdicts[:5]
    assert result.backend == "docker" and "not isolated" not in result.message
    assert not _leftovers()
