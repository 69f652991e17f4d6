"""Every feasibility gate and anti-gaming rule of plan_training, on the checker's side: each rejects what it
should, names the rule, and lets the honest neighbour of a rejected plan through."""

import copy

import pytest
from costmodel import ModelShape, stage_coefficients
from gates import check as check_plan

from .conftest import load_cases, text
from .test_costmodel import CLUSTER, M70, WORKED, WORKLOAD

cases = load_cases("plan_training")


def check(cluster, model, workload, plan):
    """gates.check with its messages as English text."""
    ev, gate, claims = check_plan(cluster, model, workload, plan)
    return ev, [text(g) for g in gate], [text(c) for c in claims]


def claimed(p, model=M70, cluster=CLUSTER):
    ev, gate, _ = check(cluster, model, WORKLOAD, dict(p, claimed={}))
    assert not gate, gate
    return dict(
        p,
        claimed={
            "mem_gib_per_stage": [r.mem_gib for r in ev.stages],
            "iter_s": ev.iter_s,
            "tokens_per_s": ev.tokens_per_s,
        },
    )


@pytest.fixture
def good():
    return claimed(copy.deepcopy(WORKED["70B-B"][1]))


def test_a_correct_plan_passes_every_gate(good):
    _ev, gate, claims = check(CLUSTER, M70, WORKLOAD, good)
    assert gate == [] and claims == []


def _cluster_with_budget(fraction_of_stage0):
    """A copy of the cluster whose g0 budget is stage 0's memory divided by fraction_of_stage0."""
    ev, _, _ = check(CLUSTER, M70, WORKLOAD, dict(WORKED["70B-B"][1], claimed={}))
    need = ev.stages[0].mem_bytes / 2**30
    cluster = copy.deepcopy(CLUSTER)
    cluster["node_groups"][0]["mem_gib"] = need / fraction_of_stage0 / (1 - cluster["mem_reserve_frac"])
    return cluster


def test_one_percent_over_the_memory_budget_is_infeasible_and_says_by_how_much(good):
    cluster = _cluster_with_budget(1.01)
    _, gate, _ = check(cluster, M70, WORKLOAD, good)
    assert len(gate) == 1
    assert gate[0].startswith("stage 0 on g0 needs 39.4 GiB of 39.0")


def test_one_percent_under_the_memory_budget_fits(good):
    cluster = _cluster_with_budget(0.99)
    _, gate, _ = check(cluster, M70, WORKLOAD, good)
    assert gate == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda p: p["hetero_pipeline_layer_split"].__setitem__(-1, 11), "sums to 79, but the model has 80 layers"),
        (lambda p: p["hetero_pipeline_layer_split"].append(0), "has 7 entries but the meshes have 6"),
        (lambda p: p["meshes"][0].update(tp=16, pp=1), "must divide the 8 devices of one node"),
        (lambda p: p["meshes"][1].update(tp=3), "must divide the 64 heads"),
        (lambda p: p["meshes"][1].update(pp=5), "tp*dp*pp = 40 devices, but the group has 32"),
        (lambda p: p["meshes"][1].update(dp=2, pp=2), "the same dp"),
        (lambda p: p["meshes"][1].update(group="g9"), "not in the cluster"),
        (lambda p: p["meshes"][1].update(group="g0"), "appears in two meshes"),
        (lambda p: p["meshes"][0].update(cp=2), "cp and ep must be 1"),
        (lambda p: p.update(micro_batch=3), "not divisible by dp*micro_batch = 3"),
        (lambda p: p.update(micro_batch=128), "fewer than the 6 pipeline stages"),
        (lambda p: p.update(recompute="some"), "'recompute' must be one of"),
        (lambda p: p.update(sequence_parallel="yes"), "'sequence_parallel' must be true or false"),
        (lambda p: p["meshes"][0].update(tp=8.0), "must be positive integers"),
        (lambda p: p["meshes"][0].pop("ep"), "exactly the keys"),
    ],
)
def test_structural_gates_name_their_rule(good, change, rule):
    change(good)
    _, gate, _ = check(CLUSTER, M70, WORKLOAD, good)
    assert any(rule in g for g in gate), gate


def test_tied_embeddings_need_equal_tp_on_first_and_last_mesh():
    model = dict(M70, tied_embeddings=True)
    p = copy.deepcopy(WORKED["70B-B"][1])
    p["meshes"][1]["tp"] = 4
    p["meshes"][1]["pp"] = 8
    p["hetero_pipeline_layer_split"] = [15, 15] + [7] * 7 + [8]
    _, gate, _ = check(CLUSTER, model, WORKLOAD, p)
    assert any("same tp (FlagScale rule)" in g for g in gate)


def test_not_a_dict_is_a_gate_not_a_crash():
    for bad in (None, [], "plan", {"meshes": "x"}, {"meshes": [None]}):
        _, gate, _ = check(CLUSTER, M70, WORKLOAD, bad)
        assert gate


@pytest.mark.parametrize(("factor", "ok"), [(1.019, True), (0.981, True), (1.021, False), (0.979, False)])
def test_claims_must_be_within_two_percent(good, factor, ok):
    for key in ("iter_s", "tokens_per_s"):
        p = copy.deepcopy(good)
        p["claimed"][key] *= factor
        _, gate, claims = check(CLUSTER, M70, WORKLOAD, p)
        assert gate == [] and (claims == []) == ok, claims
    p = copy.deepcopy(good)
    p["claimed"]["mem_gib_per_stage"][3] *= factor
    _, _, claims = check(CLUSTER, M70, WORKLOAD, p)
    assert (claims == []) == ok
    if not ok:
        assert "claimed memory of stage 3" in claims[0]


def test_missing_or_non_numeric_claims(good):
    for claim in (
        None,
        {},
        {"mem_gib_per_stage": [1] * 6, "iter_s": "191", "tokens_per_s": True},
        {"mem_gib_per_stage": [1.0], "iter_s": float("nan"), "tokens_per_s": 1},
    ):
        _, gate, claims = check(CLUSTER, M70, WORKLOAD, dict(good, claimed=claim))
        assert gate == [] and claims


def _case(reference_plan_dict):
    case = cases.TrainingCase(1, "public example", CLUSTER, M70, WORKLOAD)
    ev, _, _ = check(CLUSTER, M70, WORKLOAD, dict(reference_plan_dict, claimed={}))
    case._reference = (reference_plan_dict, ev)
    return case


def test_score_is_capped_at_one(good):
    # Against a weaker reference (the even split 70B-A) the better plan 70B-B scores 1.0, not 1.017.
    score, passed, message = _case(WORKED["70B-A"][1]).check(good)
    message = text(message)
    assert score == 1.0 and passed and "1.017 of the reference" in message


def test_score_is_the_throughput_ratio_below_the_reference():
    weaker = claimed(copy.deepcopy(WORKED["70B-A"][1]))
    score, passed, _ = _case(WORKED["70B-B"][1]).check(weaker)
    assert score == pytest.approx(10747 / 10932, rel=1e-3) and passed  # within 2% of the reference passes
    worse = claimed(copy.deepcopy(WORKED["70B-C"][1]) | {"hetero_pipeline_layer_split": [20, 30, 30]})
    score, passed, _ = _case(WORKED["70B-B"][1]).check(worse)
    assert score < 0.98 and not passed


def test_wrong_claims_keep_half_the_credit(good):
    good["claimed"]["iter_s"] *= 1.5
    score, passed, message = _case(WORKED["70B-B"][1]).check(good)
    message = text(message)
    assert score == 0.5 and not passed and message.startswith("claims off by more than 2%")


def test_infeasible_scores_zero_and_shows_the_gate(good):
    good["hetero_pipeline_layer_split"][0] += 1
    score, passed, message = _case(WORKED["70B-B"][1]).check(good)
    message = text(message)
    assert score == 0 and not passed and "sums to 81" in message


def test_hidden_instances_depend_on_the_seed_and_are_never_the_public_example():
    a, b = cases.cases(1), cases.cases(2)
    assert [c.args for c in a] != [c.args for c in b]
    assert [c.args for c in a] == [c.args for c in cases.cases(1)]
    for c in a + b:
        assert c.args != [CLUSTER, M70, WORKLOAD]
        assert c.reference is not None
    # The instance with a small-memory chip: even its last stage at tp 8 (the fewest activations in flight)
    # holds less than a quarter of the model, so the plan needs a deep pipeline.
    last = a[-1]
    small = next(g for g in last.cluster["node_groups"] if g["mem_gib"] == 32)
    shape = ModelShape.of(last.model)
    g, c, _a, _e, budget = stage_coefficients(
        shape,
        small,
        last.cluster,
        index=5,
        p=6,
        tp=8,
        d=1,
        m=64,
        b=1,
        seq=last.workload["seq"],
        recompute="selective",
        sp=True,
        distopt=True,
    )
    assert (budget - c) / g < shape.layers / 4
    assert sum(m["pp"] for m in last.reference[0]["meshes"]) >= 4
