"""The L3 serving model against the worked examples (l2-l3-exams.md B.3), the simulation's determinism and bounds,
and every gate of plan_inference."""

import copy

import pytest
from costmodel import GIB
from servesim import MAX_REQUESTS, instance_model, kv_bytes_per_token, requests, simulate

from .conftest import load_cases
from .test_costmodel import A800, CLUSTER, M7, M70, X910

cases = load_cases("plan_inference")
PRICED = copy.deepcopy(CLUSTER)
for g, price in zip(PRICED["node_groups"], (2.0, 1.2), strict=True):
    g["price_per_device_hour"] = price
SERVE = {
    "kind": "serve",
    "rate_rps": 20.0,
    "num_requests": 1000,
    "prompt_len": [128, 1024],
    "output_len": [32, 256],
    "ttft_slo_ms": 1500,
    "tpot_slo_ms": 50,
    "budget_per_hour": 24.0,
}


@pytest.mark.parametrize(
    ("model", "group", "tp", "kv_k", "seqs", "step_ms"),
    [
        (M7, A800, 1, 122, 29, 22.3),
        (M7, X910, 1, 92, 22, 23.2),
        (M70, A800, 4, 523, 127, 27.9),
        (M70, X910, 4, 334, 81, 30.0),
    ],
)
def test_kv_capacity_and_decode_step_match_the_worked_example(model, group, tp, kv_k, seqs, step_ms):
    im = instance_model(PRICED, model, dict(group, price_per_device_hour=1.0), tp)
    assert round(im.kv_tokens / 1e3) == kv_k
    assert int(im.kv_tokens // 4096) == seqs
    # The worked example has no tensor-parallel all-reduce term: compare the memory-bound part of the step.
    memory_bound = im.step_base_s - im.tp_latency_s + im.step_s_per_ctx_token * seqs * 2048
    assert round(memory_bound * 1e3, 1) == step_ms


def test_kv_bytes_per_token():
    from costmodel import ModelShape

    assert kv_bytes_per_token(ModelShape.of(M7)) == 512 * 1024
    assert kv_bytes_per_token(ModelShape.of(M70)) == 320 * 1024
    assert 2 * ModelShape.of(M70).total_params / GIB == pytest.approx(128.5, abs=0.05)


def test_arrivals_are_seeded_and_bounded():
    a, b = requests(SERVE, 1), requests(SERVE, 2)
    assert a == requests(SERVE, 1) and a != b and len(a) == 1000
    assert all(128 <= p <= 1024 and 32 <= o <= 256 for _, p, o in a)
    assert len(requests(dict(SERVE, num_requests=10**6), 1)) == MAX_REQUESTS


def test_more_instances_never_hurt_and_nothing_serves_nothing():
    few = simulate(PRICED, M7, SERVE, [("g0", 1, 1)], 7)
    many = simulate(PRICED, M7, SERVE, [("g0", 1, 8)], 7)
    assert few.goodput < many.goodput <= 1.0
    assert simulate(PRICED, M7, SERVE, [("g0", 1, 8)], 7) == many  # deterministic
    assert simulate(PRICED, M7, SERVE, [], 7).good == 0


def _case():
    case = cases.ServeCase(1, "public example", PRICED, M7, SERVE, 7)
    return case


@pytest.mark.parametrize(
    ("plan", "rule"),
    [
        ({"instances": []}, "non-empty 'instances'"),
        (None, "non-empty 'instances'"),
        ({"instances": [{"group": "g0", "tp": 3, "count": 1}]}, "tp=3 must divide"),
        ({"instances": [{"group": "g0", "tp": 16, "count": 1}]}, "tp=16 must divide a node's 8 devices"),
        ({"instances": [{"group": "g9", "tp": 1, "count": 1}]}, "not in the cluster"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 17}]}, "use 17 devices, but it has 16"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 0}]}, "positive integers"),
        ({"instances": [{"group": "g0", "tp": 1}]}, "exactly the keys"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 13}]}, "cost 26.00 per hour, over the budget of 24.0"),
    ],
)
def test_gates_name_their_rule(plan, rule):
    score, passed, message = _case().check(plan)
    assert score == 0 and not passed and rule in message, message


def test_an_instance_that_cannot_hold_the_model_is_infeasible():
    case = cases.ServeCase(1, "70B", PRICED, M70, SERVE, 7)
    score, _, message = case.check({"instances": [{"group": "g1", "tp": 1, "count": 1}]})
    assert score == 0 and "cannot hold one 1280-token request: the weights need 128.5 GiB of 57.6" in message


def test_score_is_goodput_over_the_reference_and_capped():
    case = _case()
    best = case.check({"instances": [{"group": "g1", "tp": 1, "count": 20}]})
    assert best[0] == 1.0
    weak = case.check({"instances": [{"group": "g0", "tp": 1, "count": 1}]})
    assert 0 < weak[0] < 0.5 and not weak[1] and "of the reference allocation" in weak[2]


def test_hidden_instances_are_seeded_and_the_budget_binds():
    a, b = cases.cases(1), cases.cases(2)
    assert [c.args for c in a] == [c.args for c in cases.cases(1)]
    assert [c.args for c in a] != [c.args for c in b]
    for c in a:
        total = sum(g["nodes"] * g["devices_per_node"] * g["price_per_device_hour"] for g in c.cluster["node_groups"])
        assert c.workload["budget_per_hour"] < 0.75 * total
        assert c.reference.goodput >= 0.5
        assert c.reference.requests <= MAX_REQUESTS
