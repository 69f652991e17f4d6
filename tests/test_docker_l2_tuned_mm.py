"""tuned_mm in a real container: the reference solution (mm_config called by the checker beside mm) scores 1.0
on the public and the hidden profiles well inside the task's wall limit on one core, and a config that breaks the
wave rule is named in the verdict as a candidate would see it."""

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
TASK = EXAM / "tasks" / "tuned_mm"
LIMITS = next(t for t in yaml.safe_load((EXAM / "exam.yaml").read_text())["tasks"] if t["id"] == "tuned_mm")["limits"]


def _grade(backend, code: str):  # noqa: F811
    request = GradeRequest(
        code=code,
        tests_dir=TASK / "tests",
        kind=kinds.get("chip_profile"),
        runtime="triton-cpu",
        limits=Limits.from_mapping(LIMITS),
        label=f"{RUN}-l2-tuned_mm",
    )
    return backend.grade(request)


def test_the_reference_scores_one_well_inside_the_wall_limit(backend) -> None:  # noqa: F811
    result = _grade(backend, (TASK / "solution.py").read_text())
    assert result.status == "passed" and result.score == 1.0, result
    names = [t.name for t in result.tests]
    assert any("mm_config(" in n for n in names) and any("buckets M=" in n for n in names)
    assert any(n.startswith("hidden ") for n in names) and "chip-" not in str(names), "hidden names stay hidden"
    assert LIMITS["cpus"] == 1 and result.duration_s < LIMITS["wall_seconds"] / 3, result.duration_s
    assert result.backend == "docker" and not _leftovers()


def test_a_broken_wave_rule_is_named_in_the_container(backend) -> None:  # noqa: F811
    result = _grade(backend, (TASK / "wrong" / "wave_broken.py").read_text())
    assert result.status == "failed" and result.score < 1.0, result
    assert any("wave rule" in t.message and "< compute_units" in t.message for t in result.tests if not t.passed)
    assert not _leftovers()
