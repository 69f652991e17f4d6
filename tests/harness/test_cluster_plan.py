"""The `cluster_plan` kind end to end in the harness (the candidate runs as uid 10001): the L3 reference solution
scores 1.0, the starter and every wrong solution score what they should, and the candidate can neither import
nor read the simulator."""

import pytest
from gradelib.results import ERROR, FAILED, PASSED, REJECTED, TIMEOUT

from .conftest import REPO

TASK = REPO / "exams" / "l3-architect" / "tasks" / "plan_training"
TESTS = TASK / "tests"
SOLUTION = (TASK / "solution.py").read_text()


def wrong(name: str) -> str:
    """A wrong solution: the reference solution with one thing broken (tasks/plan_training/wrong/<name>.py)."""
    return SOLUTION + "\n\n" + (TASK / "wrong" / f"{name}.py").read_text()


def grade(grade_source, source, **kw):
    return grade_source(source, tests_dir=TESTS, wall_seconds=120, **kw)


def test_reference_solution_scores_one(grade_source):
    result = grade(grade_source, SOLUTION, seed=11)
    assert result.status == PASSED and result.score == 1.0, result
    assert len(result.tests) == 6
    assert all(t.parts for t in result.tests), result.tests  # every verdict can be worded in the reader's language


def test_starter_does_not_pass(grade_source):
    result = grade(grade_source, (TASK / "starter.py").read_text(), seed=11)
    assert result.status == FAILED and result.score < 0.2, result
    assert all(t.parts for t in result.tests), result.tests


@pytest.mark.parametrize(
    ("name", "low", "high", "says"),
    [
        ("split_not_summing", 0.0, 0.0, "the layer split sums to"),
        ("hardcoded_public_example", 0.0, 0.0, "infeasible"),
        ("copied_plan", 1 / 6 - 1e-6, 1 / 6 + 1e-6, "infeasible"),
        ("claims_off", 0.5 - 1e-6, 0.5 + 1e-6, "claimed tokens_per_s"),
        ("ignores_memory_reserve", 0.3, 0.9, "needs"),
    ],
)
def test_each_wrong_solution_scores_what_it_should(grade_source, name, low, high, says):
    result = grade(grade_source, wrong(name), seed=11)
    assert result.status == FAILED, result
    assert low <= result.score <= high, result
    assert any(says in t.message for t in result.tests if not t.passed), result.tests
    assert all(t.parts for t in result.tests), result.tests


LEAK = """
import json


def plan_training(cluster, model, workload):
    found = {}
    try:
        import costmodel  # noqa: F401
        found["import"] = "imported the simulator"
    except ImportError as exc:
        found["import"] = type(exc).__name__
    try:
        found["read"] = open(%r).read()[:50]
    except OSError as exc:
        found["read"] = type(exc).__name__
    raise RuntimeError(json.dumps(found))
"""


def test_the_candidate_can_neither_import_nor_read_the_simulator(grade_source, grade_base):
    source = LEAK % str(grade_base / "grade" / "tests" / "costmodel.py")
    result = grade(grade_source, source, seed=3)
    assert result.status == FAILED and result.score == 0.0
    message = result.tests[0].message
    assert '"import": "ModuleNotFoundError"' in message and '"read": "PermissionError"' in message, message


def test_non_json_results_and_exceptions_fail_the_instance_with_a_message(grade_source):
    source = """
def plan_training(cluster, model, workload):
    if model["layers"] == 32:
        return {"meshes": {1, 2}}
    if model["layers"] == 40:
        return float("nan")
    raise ValueError("no plan")
"""
    result = grade(grade_source, source, seed=3)
    assert result.status == FAILED and result.score == 0.0
    messages = " | ".join(t.message for t in result.tests)
    assert "not plain JSON data: set is not JSON data" in messages
    assert "non-finite number" in messages
    assert "raised ValueError: no plan" in messages


def test_mutating_the_inputs_changes_nothing_for_the_checker(grade_source):
    source = (
        SOLUTION
        + """
_plan = plan_training


def plan_training(cluster, model, workload):
    result = _plan(cluster, model, workload)
    for g in cluster["node_groups"]:
        g["mem_gib"] = 10_000
    model["layers"] = 1
    return result
"""
    )
    result = grade(grade_source, source, seed=5)
    assert result.status == PASSED and result.score == 1.0, result


def test_a_call_over_its_time_limit_times_out(grade_source):
    source = "def plan_training(cluster, model, workload):\n    while True:\n        pass\n"
    result = grade(grade_source, source, seed=3)
    assert result.status == TIMEOUT and result.score == 0.0
    assert "time limit exceeded in test 'instance 1" in result.message


def test_processes_left_running_are_rejected(grade_source):
    source = (
        SOLUTION
        + """
import os
import time

_plan = plan_training


def plan_training(cluster, model, workload):
    if os.fork() == 0:
        time.sleep(600)
    return _plan(cluster, model, workload)
"""
    )
    result = grade(grade_source, source, seed=3)
    assert result.status == REJECTED and result.score == 0.0
    assert "left" in result.message and "running" in result.message


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("def plan_training(:\n", "not valid Python"),
        ("def other():\n    return 1\n", "no function named 'plan_training'"),
    ],
)
def test_syntax_errors_and_missing_functions(grade_source, source, says):
    result = grade(grade_source, source, seed=3)
    assert result.status == ERROR and says in result.message


DOC_TASK = REPO / "exams" / "l3-architect" / "tasks" / "design_doc"


@pytest.mark.parametrize(("name", "passes"), [("solution.md", True), ("starter.md", False)])
def test_the_design_document_is_checked_and_never_run(grade_source, name, passes):
    result = grade_source((DOC_TASK / name).read_text(), tests_dir=DOC_TASK / "tests")
    assert next(t.name for t in result.tests) == "required sections"
    assert all(t.parts for t in result.tests), result.tests
    if passes:
        assert result.status == PASSED and result.score == 1.0, result
    else:
        assert result.status == FAILED and result.score < 0.5, result


def test_an_oversized_document_is_rejected(grade_source):
    text = (DOC_TASK / "solution.md").read_text() + "\n" + "x" * (64 << 10)
    result = grade_source(text, tests_dir=DOC_TASK / "tests")
    assert result.status == REJECTED and "larger than 64 KB" in result.message


INF_TASK = REPO / "exams" / "l3-architect" / "tasks" / "plan_inference"
INF_SOLUTION = (INF_TASK / "solution.py").read_text()


@pytest.mark.parametrize(
    ("name", "status", "low", "high", "says"),
    [
        ("solution", PASSED, 1.0, 1.0, "of the reference allocation"),
        ("starter", FAILED, 0.0, 0.3, "of the reference allocation"),
        ("over_budget", FAILED, 0.0, 0.0, "over the budget"),
        ("tp_across_nodes", FAILED, 0.0, 0.0, "must divide a node's 8 devices"),
        ("one_chip_type", FAILED, 0.3, 0.99, "of the reference allocation"),
        ("routing_not_summing", FAILED, 0.0, 0.0, "the routing shares sum to 1.1, not 1"),
        ("ignores_kv_transfer", FAILED, 0.6, 0.99, "of the reference allocation"),
        ("decode_pool_missing", FAILED, 0.2, 0.9, "this plan has no decode instances"),
    ],
)
def test_plan_inference_scores(grade_source, name, status, low, high, says):
    if name == "solution":
        source = INF_SOLUTION
    elif name == "starter":
        source = (INF_TASK / "starter.py").read_text()
    else:
        source = INF_SOLUTION + "\n\n" + (INF_TASK / "wrong" / f"{name}.py").read_text()
    result = grade_source(source, tests_dir=INF_TASK / "tests", wall_seconds=120, seed=21)
    assert result.status == status, result
    assert low <= result.score <= high, result
    assert any(says in t.message for t in result.tests), result.tests
    assert all(t.parts for t in result.tests), result.tests  # every verdict can be worded in the reader's language


RE_TASK = REPO / "exams" / "l3-architect" / "tasks" / "replan_after_failure"


@pytest.mark.parametrize(
    ("name", "status", "low", "high"),
    [("solution", PASSED, 1.0, 1.0), ("starter", FAILED, 0.0, 0.5), ("no_reshard_note", FAILED, 0.3, 0.9)],
)
def test_replan_after_failure_scores(grade_source, name, status, low, high):
    solution = (RE_TASK / "solution.py").read_text()
    source = {
        "solution": solution,
        "starter": (RE_TASK / "starter.py").read_text(),
    }.get(name) or solution + "\n\n" + (RE_TASK / "wrong" / f"{name}.py").read_text()
    result = grade_source(source, tests_dir=RE_TASK / "tests", wall_seconds=120, seed=1)
    assert result.status == status and low <= result.score <= high, result
    assert all(t.parts for t in result.tests), result.tests
