"""The L3 cost model against the worked examples of the design notes (l3_worked.py, l2-l3-exams.md B.3) and the
course lesson, and the reference planner's exact split."""

import itertools
import random
from pathlib import Path

import pytest
from costmodel import GIB, ModelShape, act_bytes_per_layer, evaluate, stage_coefficients
from reference import _split, reference_plan

A800 = {
    "id": "g0",
    "chip": "A800",
    "nodes": 2,
    "devices_per_node": 8,
    "mem_gib": 80,
    "tflops": {"bf16": 312},
    "hbm_gbps": 2000,
    "intra_node_gbps": 200,
    "inter_node_gbps": 25,
}
X910 = {
    "id": "g1",
    "chip": "X910",
    "nodes": 4,
    "devices_per_node": 8,
    "mem_gib": 64,
    "tflops": {"bf16": 280},
    "hbm_gbps": 1600,
    "intra_node_gbps": 90,
    "inter_node_gbps": 25,
}
CLUSTER = {"node_groups": [A800, X910], "cross_group_gbps": 12.5, "mem_reserve_frac": 0.10, "efficiency": 0.45}
M70 = {
    "layers": 80,
    "hidden": 8192,
    "heads": 64,
    "kv_groups": 8,
    "ffn": 28672,
    "vocab": 32000,
    "tied_embeddings": False,
}
M7 = {
    "layers": 32,
    "hidden": 4096,
    "heads": 32,
    "kv_groups": 32,
    "ffn": 11008,
    "vocab": 32000,
    "tied_embeddings": False,
}
WORKLOAD = {"kind": "train", "seq": 4096, "global_batch": 512, "dtype": "bf16", "optimizer": "adam"}


def plan(meshes, split, d, recompute="selective"):
    return {
        "meshes": [{"group": g, "tp": t, "cp": 1, "ep": 1, "dp": d, "pp": pp} for g, t, pp in meshes],
        "hetero_pipeline_layer_split": split,
        "micro_batch": 1,
        "distributed_optimizer": True,
        "recompute": recompute,
        "sequence_parallel": True,
    }


# The worked table: (model, plan, iteration s, tokens/s, GiB per stage, ms per stage).
WORKED = {
    "70B-A": (
        M70,
        plan([("g0", 8, 2), ("g1", 8, 4)], [14, 14, 13, 13, 13, 13], 1),
        195.15,
        10747,
        [36.8, 34.4, 30.2, 28.5, 26.8, 25.6],
        [315.6, 315.6, 360.3, 360.3, 360.3, 366.7],
    ),
    "70B-B": (
        M70,
        plan([("g0", 8, 2), ("g1", 8, 4)], [15, 15, 13, 13, 12, 12], 1),
        191.84,
        10932,
        [39.4, 36.9, 30.2, 28.5, 24.7, 23.7],
        [338.1, 338.1, 360.3, 360.3, 332.6, 339.0],
    ),
    "70B-C": (
        M70,
        plan([("g0", 8, 1), ("g1", 8, 2)], [28, 26, 26], 2),
        190.83,
        10990,
        [45.0, 38.0, 34.9],
        [631.1, 720.7, 727.1],
    ),
    "7B-D": (
        M7,
        plan([("g0", 4, 1), ("g1", 4, 2)], [12, 10, 10], 4),
        19.54,
        107330,
        [10.1, 6.9, 5.8],
        [136.0, 137.4, 143.8],
    ),
    "7B-E": (M7, plan([("g0", 1, 1)], [32], 16), 44.97, 46636, [59.4], [1344.6]),
}


def test_parameter_counts_match_the_worked_example():
    s70, s7 = ModelShape.of(M70), ModelShape.of(M7)
    assert round(s70.total_params / 1e9, 2) == 68.98
    assert round(s70.layer_params / 1e6, 1) == 855.7
    assert round(s7.total_params / 1e9, 2) == 6.74
    assert round(s7.layer_params / 1e6, 1) == 202.4
    # Model states without TP/PP: 18 bytes per parameter (113.0 GiB for 7B) and the distributed optimizer.
    assert round(s7.total_params * 18 / GIB, 1) == 113.0
    assert round(s70.total_params * 18 / GIB, 1) == 1156.3


def test_tied_embeddings_count_the_word_matrix_once():
    tied = ModelShape.of(dict(M7, tied_embeddings=True))
    assert ModelShape.of(M7).total_params - tied.total_params == 32000 * 4096


@pytest.mark.parametrize("name", sorted(WORKED))
def test_worked_plans(name):
    model, p, iter_s, tokens, mem, ms = WORKED[name]
    ev = evaluate(CLUSTER, model, WORKLOAD, p)
    assert round(ev.iter_s, 2) == iter_s
    assert round(ev.tokens_per_s) == tokens
    assert [round(r.mem_gib, 1) for r in ev.stages] == mem
    assert [round(r.time_s * 1e3, 1) for r in ev.stages] == ms
    assert ev.devices == (48 if name != "7B-E" else 16)


def test_pipeline_bubble_and_sanity_mfu_of_70b_a():
    ev = evaluate(CLUSTER, M70, WORKLOAD, WORKED["70B-A"][1])
    assert ev.bubble == pytest.approx(5 / 512)
    mfu = 6 * ModelShape.of(M70).total_params * ev.tokens_per_s / ((16 * 312 + 32 * 280) * 1e12)
    assert round(mfu, 2) == 0.32


def test_activation_table_rows():
    s, b, h, a, t = 4096, 1, 8192, 64, 8
    assert act_bytes_per_layer(s, b, h, a, t, "selective", True) == s * b * h * 34 / t
    assert act_bytes_per_layer(s, b, h, a, t, "selective", False) == s * b * h * (10 + 24 / t)
    assert act_bytes_per_layer(s, b, h, a, t, "none", True) == s * b * h / t * (34 + 5 * a * s / h)
    assert act_bytes_per_layer(s, b, h, a, t, "none", False) == s * b * h * (10 + 24 / t + 5 * a * s / (h * t))
    assert act_bytes_per_layer(s, b, h, a, t, "full", False) == 2 * s * b * h
    # Without tensor parallelism the TP and TP+SP rows are the same number.
    assert act_bytes_per_layer(s, b, h, a, 1, "none", False) == act_bytes_per_layer(s, b, h, a, 1, "none", True)


def test_full_recompute_costs_a_third_more_compute_and_frees_memory():
    sel = evaluate(CLUSTER, M70, WORKLOAD, WORKED["70B-B"][1])
    full = evaluate(CLUSTER, M70, WORKLOAD, dict(WORKED["70B-B"][1], recompute="full"))
    assert full.stages[0].compute_s == pytest.approx(sel.stages[0].compute_s * 4 / 3, rel=0.02)
    assert full.stages[0].act_bytes < sel.stages[0].act_bytes / 10


def test_reference_beats_every_worked_plan_on_the_public_example():
    for model in (M7, M70):
        best, ev = reference_plan(CLUSTER, model, WORKLOAD)
        assert all(r.mem_bytes <= r.budget_bytes for r in ev.stages)
        worked = [evaluate(CLUSTER, m, WORKLOAD, p).tokens_per_s for m, p, *_ in WORKED.values() if m is model]
        assert ev.tokens_per_s >= max(worked)
        assert sum(best["hetero_pipeline_layer_split"]) == model["layers"]


def _brute_force_minmax(coeffs, layers):
    best = None
    for split in itertools.product(range(1, layers + 1), repeat=len(coeffs)):
        if sum(split) != layers:
            continue
        if any(g * n + c > budget for n, (g, c, _a, _e, budget) in zip(split, coeffs, strict=True)):
            continue
        t = max(a * n + e for n, (_g, _c, a, e, _b) in zip(split, coeffs, strict=True))
        best = t if best is None else min(best, t)
    return best


@pytest.mark.parametrize("seed", range(20))
def test_split_is_the_exact_min_max(seed):
    rng = random.Random(seed)
    coeffs = [
        (rng.uniform(1, 3), rng.uniform(0, 4), rng.uniform(0.5, 2), rng.uniform(0, 3) * (i == 2), rng.uniform(8, 30))
        for i in range(3)
    ]
    layers = rng.randint(6, 14)
    split = _split(coeffs, layers)
    expected = _brute_force_minmax(coeffs, layers)
    if expected is None:
        assert split is None
        return
    assert sum(split) == layers and min(split) >= 1
    assert all(g * n + c <= b for n, (g, c, _a, _e, b) in zip(split, coeffs, strict=True))
    got = max(a * n + e for n, (_g, _c, a, e, _b) in zip(split, coeffs, strict=True))
    assert got == pytest.approx(expected, rel=1e-9)


def test_stage_coefficients_are_the_evaluated_stage():
    p = WORKED["70B-B"][1]
    ev = evaluate(CLUSTER, M70, WORKLOAD, p)
    shape = ModelShape.of(M70)
    for r in ev.stages:
        group = A800 if r.group == "g0" else X910
        g, c, a, e, budget = stage_coefficients(
            shape,
            group,
            CLUSTER,
            index=r.index,
            p=6,
            tp=8,
            d=1,
            m=512,
            b=1,
            seq=4096,
            recompute="selective",
            sp=True,
            distopt=True,
        )
        assert g * r.layers + c == pytest.approx(r.mem_bytes)
        assert a * r.layers + e == pytest.approx(r.time_s)
        assert budget == r.budget_bytes


LESSON = Path(__file__).resolve().parents[2] / "courses" / "l3"
LESSON_DIR = LESSON / "03-capacity-planning" / "01-training-compute-and-mfu"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_course_lesson_quotes_the_model(lang):
    """The worked-example table of the lesson is what the exam's cost model computes."""
    rows = [
        line.split("|")[1:-1]
        for line in (LESSON_DIR / f"lesson.{lang}.md").read_text().splitlines()
        if line.startswith(("| 70B-", "| 7B-"))
    ]
    assert sorted(r[0].strip() for r in rows) == sorted(WORKED)
    for cells in rows:
        model, p, _iter_s, tokens, _mem, _ms = WORKED[cells[0].strip()]
        ev = evaluate(CLUSTER, model, WORKLOAD, p)
        assert [float(x) for x in cells[3].split(",")] == [round(r.mem_gib, 1) for r in ev.stages]
        assert cells[4].strip() == f"{ev.iter_s:.2f} s"
        assert int(cells[5].strip().replace(",", "")) == round(ev.tokens_per_s) == tokens


def _solution(task: str, entry: str):
    """The candidate-side reference solution, run as a plain module (it cannot import the hidden modules)."""
    namespace: dict = {}
    path = Path(__file__).resolve().parents[2] / "exams" / "l3-architect" / "tasks" / task / "solution.py"
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - our own reference solution
    return namespace[entry]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_solution_is_the_hidden_reference_planner(seed):
    from .conftest import load_cases

    plan_training = _solution("plan_training", "plan_training")
    for case in load_cases("plan_training").cases(seed):
        plan = plan_training(*case.args)
        claimed = plan.pop("claimed")
        assert plan == case.reference[0]
        assert claimed["tokens_per_s"] == pytest.approx(case.reference[1].tokens_per_s, rel=1e-4)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_inference_solution_is_the_hidden_reference_allocation(seed):
    from allocation import reference_allocation

    from .conftest import load_cases

    plan_inference = _solution("plan_inference", "plan_inference")
    for case in load_cases("plan_inference").cases(seed):
        assert plan_inference(*case.args) == reference_allocation(*case.args)
