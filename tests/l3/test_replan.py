"""replan_after_failure: events applied to the cluster, which layers stay, the reshard note, and the score."""

import copy

import pytest

from .conftest import EXAM, load_cases, text
from .test_costmodel import CLUSTER, M70, WORKED, WORKLOAD

cases = load_cases("replan_after_failure")
import replan  # noqa: E402  (on sys.path once the cases module is loaded)


def test_events_reduce_the_cluster_without_touching_the_input():
    lost = replan.apply_event(CLUSTER, {"lost": {"group": "g1", "nodes": 1}})
    assert [g["nodes"] for g in lost["node_groups"]] == [2, 3] and CLUSTER["node_groups"][1]["nodes"] == 4
    gone = replan.apply_event(CLUSTER, {"lost": {"group": "g0", "nodes": 2}})
    assert [g["id"] for g in gone["node_groups"]] == ["g1"]
    slow = replan.apply_event(CLUSTER, {"degraded": {"group": "g0", "factor": 0.5}})
    assert slow["node_groups"][0]["inter_node_gbps"] == 12.5


def test_a_layer_stays_only_when_its_shard_is_unchanged():
    old = WORKED["70B-B"][1]
    assert replan.kept_fraction(old, old) == 1.0 and replan.resharded_stages(old, old) == []
    moved = copy.deepcopy(old)
    moved["hetero_pipeline_layer_split"] = [16, 14, 13, 13, 12, 12]  # one layer crosses from stage 1 to 0
    assert replan.kept_fraction(old, moved) == pytest.approx(79 / 80)
    assert replan.resharded_stages(old, moved) == [0]
    retp = copy.deepcopy(old)
    retp["meshes"][1].update(tp=4, pp=4, dp=1)
    assert replan.kept_fraction(old, retp) == pytest.approx(30 / 80)
    assert replan.resharded_stages(old, retp) == [2, 3, 4, 5]


def test_value_weights_throughput_and_movement():
    assert replan.value(10, 10, 1.0) == 1.0
    assert replan.value(20, 10, 0.0) == pytest.approx(0.7)  # capped throughput ratio
    assert replan.value(5, 10, 0.5) == pytest.approx(0.35 + 0.15)


def _sources():
    task = EXAM / "tasks" / "replan_after_failure"
    solution = (task / "solution.py").read_text()
    return task, solution


def _run(source, case):
    namespace: dict = {}
    exec(compile(source, "submission", "exec"), namespace)  # noqa: S102 - the task's own reference and wrong files
    score, passed, message = case.check(namespace["replan_after_failure"](*copy.deepcopy(case.args)))
    return score, passed, text(message)


@pytest.mark.parametrize("seed", [1, 4])
def test_reference_solution_scores_one_and_the_rules_bite(seed):
    task, solution = _sources()
    cs = cases.cases(seed)
    assert {next(iter(c.event)) for c in cs} == {"lost", "degraded"}
    for case in cs:
        assert _run(solution, case)[:2] == (1.0, True)
        score, passed, message = _run(solution + "\n" + (task / "wrong" / "no_reshard_note.py").read_text(), case)
        if replan.resharded_stages(case.old, case.best_plan):
            assert score == 0.5 and not passed and "'resharded' is []" in message
    lost = next(c for c in cs if "lost" in c.event)
    score, _, message = _run((task / "starter.py").read_text(), lost)
    assert score == 0 and "infeasible on what is left" in message


def test_keeping_a_still_feasible_old_plan_is_the_best_answer_after_a_degraded_link():
    event = {"degraded": {"group": "g0", "factor": 0.5}}
    old = dict(WORKED["70B-B"][1], claimed={})
    case = cases.ReplanCase(1, "public", CLUSTER, M70, WORKLOAD, old, event)
    assert case.best_value >= 0.7
    ev = __import__("costmodel").evaluate(case.reduced, M70, WORKLOAD, old)
    kept = dict(
        old,
        resharded=[],
        claimed={
            "mem_gib_per_stage": [r.mem_gib for r in ev.stages],
            "iter_s": ev.iter_s,
            "tokens_per_s": ev.tokens_per_s,
        },
    )
    score, _, message = case.check(kept)
    message = text(message)
    assert "100% of layers kept" in message and 0 < score <= 1
