"""The L3 serving model against the worked examples (l2-l3-exams.md B.3), the simulation's determinism and bounds,
and every gate of plan_inference."""

import copy

import pytest
from costmodel import GIB
from servesim import (
    MAX_REQUESTS,
    instance_model,
    kv_bytes_per_token,
    kv_transfer_s,
    requests,
    simulate,
    to_disaggregated,
)

from .conftest import load_cases, text
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
        ({"instances": [{"group": "g0", "tp": 1}]}, "must have the keys group, tp, count"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 13}]}, "cost 26.00 per hour, over the budget of 24.00"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 1, "role": "both"}]}, "role 'both' is not one of"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 1}], "extra": 1}, "other than instances and routing"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 1}] * 65}, "65 instance entries; at most 64"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 2, "role": "prefill"}]}, "has no decode instances"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 2, "role": "decode"}]}, "has no prefill instances"),
        (
            {
                "instances": [
                    {"group": "g0", "tp": 1, "count": 2},
                    {"group": "g1", "tp": 1, "count": 2, "role": "prefill"},
                    {"group": "g1", "tp": 1, "count": 2, "role": "decode"},
                ]
            },
            "'routing' must give each pool's share",
        ),
        (
            {
                "instances": [{"group": "g0", "tp": 1, "count": 2}],
                "routing": {"colocated": 0.5, "disaggregated": 0.6},
            },
            "the routing shares sum to 1.1, not 1",
        ),
        (
            {"instances": [{"group": "g0", "tp": 1, "count": 2}], "routing": {"colocated": 0.5, "disaggregated": 0.5}},
            "sends 50% of the requests to the disaggregated pool, which has no instances",
        ),
        ({"instances": [{"group": "g0", "tp": 1, "count": 2}], "routing": {"colocated": 2}}, "numbers from 0 to 1"),
        ({"instances": [{"group": "g0", "tp": 1, "count": 2}], "routing": [1.0]}, "must be a dict of the shares"),
    ],
)
def test_gates_name_their_rule(plan, rule):
    score, passed, message = _case().check(plan)
    assert score == 0 and not passed and rule in text(message), text(message)
    assert text(message).startswith("infeasible: the plan breaks")


def test_an_instance_that_cannot_hold_the_model_is_infeasible():
    case = cases.ServeCase(1, "70B", PRICED, M70, SERVE, 7)
    score, _, message = case.check({"instances": [{"group": "g1", "tp": 1, "count": 1}]})
    assert score == 0
    assert "cannot hold one 1280-token request: the weights and its KV cache need 128.9 GiB of 57.6" in text(message)


def test_a_prefill_instance_holds_the_prompt_only():
    # 70B on TP4 of g1 (4 x 57.6 GiB): room for the weights and a prompt, checked against the prompt for prefill.
    serve = dict(SERVE, prompt_len=[128, 1024], output_len=[32, 256])
    case = cases.ServeCase(1, "70B", PRICED, M70, serve, 7)
    _, _, found = cases.problems(
        PRICED, M70, serve, {"instances": [{"group": "g1", "tp": 4, "count": 1, "role": "prefill"}]}
    )
    assert not any(f["code"] == "serve.cannot_hold" for f in found), found
    assert case.check({"instances": [{"group": "g1", "tp": 4, "count": 1, "role": "decode"}]})[0] == 0


def test_every_gate_message_is_a_known_code_with_its_arguments():
    from gradelib.messages import valid

    for plan in ({"instances": []}, {"instances": [{"group": "g0", "tp": 1, "count": 99, "role": "prefill"}]}):
        _, _, message = _case().check(plan)
        assert valid(message), message


def test_score_is_goodput_over_the_reference_and_capped():
    case = _case()
    best = case.check({"instances": [{"group": "g1", "tp": 1, "count": 20}]})
    assert best[0] == 1.0
    weak = case.check({"instances": [{"group": "g0", "tp": 1, "count": 1}]})
    assert 0 < weak[0] < 0.5 and not weak[1] and "of the reference allocation" in text(weak[2])


def test_hidden_instances_are_seeded_and_the_budget_binds():
    a, b = cases.cases(1), cases.cases(2)
    assert [c.args for c in a] == [c.args for c in cases.cases(1)]
    assert [c.args for c in a] != [c.args for c in b]
    for c in a:
        total = sum(g["nodes"] * g["devices_per_node"] * g["price_per_device_hour"] for g in c.cluster["node_groups"])
        assert c.workload["budget_per_hour"] < 0.75 * total
        assert c.reference.goodput >= 0.5
        assert c.reference.requests <= MAX_REQUESTS


SPLIT = [("g0", 1, 2, "prefill"), ("g1", 1, 3, "decode")]
LONG = dict(SERVE, rate_rps=4.0, prompt_len=[1024, 4096], output_len=[64, 128], tpot_slo_ms=60, ttft_slo_ms=3000)


def test_the_kv_transfer_counts_in_the_tpot_and_not_in_the_ttft():
    fast = simulate(dict(PRICED, cross_group_gbps=50.0), M7, LONG, SPLIT, 3, 1.0)
    slow = simulate(dict(PRICED, cross_group_gbps=0.3), M7, LONG, SPLIT, 3, 1.0)
    assert fast.finished == slow.finished == fast.requests
    assert slow.ttft_ok == fast.ttft_ok
    assert slow.tpot_ok < fast.tpot_ok


def test_the_kv_link_is_the_groups_own_inside_a_group_and_the_cross_group_link_between_groups():
    a800 = instance_model(PRICED, M7, PRICED["node_groups"][0], 2)
    x910 = instance_model(PRICED, M7, PRICED["node_groups"][1], 4)
    inside = kv_transfer_s(PRICED, a800, a800, 1000)
    across = kv_transfer_s(PRICED, a800, x910, 1000)
    assert inside == pytest.approx(1000 * 512 * 1024 / (2 * PRICED["node_groups"][0]["inter_node_gbps"] * 1e9))
    assert across == pytest.approx(1000 * 512 * 1024 / (2 * PRICED["cross_group_gbps"] * 1e9))


def test_routing_shares_are_exact_and_deterministic():
    assert sum(to_disaggregated(i, 0.3) for i in range(1000)) == 300
    assert not any(to_disaggregated(i, 0.0) for i in range(100)) and all(to_disaggregated(i, 1.0) for i in range(100))
    mixed = [("g0", 1, 2), *SPLIT]
    assert simulate(PRICED, M7, LONG, mixed, 3, 0.5) == simulate(PRICED, M7, LONG, mixed, 3, 0.5)
    # Everything routed to an empty pool is lost; an empty share leaves the split pool idle.
    assert simulate(PRICED, M7, LONG, [("g0", 1, 2)], 3, 1.0).finished == 0
    assert simulate(PRICED, M7, LONG, SPLIT, 3, 0.0).finished == 0


def _colocated_only(case):
    from allocation import _fill_colocated, _fresh

    return _fill_colocated(_fresh(case.cluster, case.workload), case.cluster, case.model, case.workload).plan()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_a_hidden_instance_the_reference_split_beats_colocated_serving(seed):
    wins = []
    for case in cases.cases(seed):
        if "routing" in case.reference_plan:
            colocated = cases.simulate_plan(case, _colocated_only(case))
            wins.append(case.reference.goodput - colocated.goodput)
    assert max(wins) > 0.2, wins


@pytest.mark.parametrize("seed", [1, 21])
def test_a_split_planned_without_its_kv_transfer_loses_goodput_over_a_slow_link(seed):
    from allocation import best_allocation

    case = cases.cases(seed)[4]
    assert case.cluster["cross_group_gbps"] < 1
    careless = best_allocation(case.cluster, case.model, case.workload, transfer=False).plan()
    assert case.check(careless)[0] < 0.95
    assert case.check(case.reference_plan)[0] == 1.0
