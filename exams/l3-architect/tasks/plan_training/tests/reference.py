"""The reference planner the candidate's throughput is compared with.

Search space: every ordered choice of node groups (which groups hold pipeline stages, and in which order), every
valid tp per group (1, 2, 4, 8 dividing a node, the heads and the KV groups), one dp for all meshes, each group's
pipeline depth as deep as its devices allow (pp = devices // (tp * dp)), micro-batch 1, selective or full
recomputation, sequence parallelism and the distributed optimizer on. For each layout the layer split is the exact
min-max split: the smallest bottleneck stage time T whose per-stage capacities (layers within T and within the
memory budget) sum to at least L, found by bisection, then trimmed one layer at a time from the slowest stage.
Layouts are visited in order of a lower bound on their iteration time, so the search stops early.
"""

from __future__ import annotations

import itertools
import math

from costmodel import ModelShape, evaluate, stage_coefficients

TP_CHOICES = (1, 2, 4, 8)


def _split(coeffs, layers: int) -> list[int] | None:
    """Exact min-max layer split for stages whose time is a*l + e and memory g*l + c <= budget."""
    memcap = []
    for g, c, _a, _e, budget in coeffs:
        cap = math.floor((budget - c) / g + 1e-9)
        if cap < 1:
            return None
        memcap.append(min(cap, layers))
    if sum(memcap) < layers:
        return None

    def caps(t: float) -> list[int]:
        return [min(mc, math.floor((t - e) / a + 1e-9)) for mc, (_g, _c, a, e, _b) in zip(memcap, coeffs, strict=True)]

    lo = max(a + e for _g, _c, a, e, _b in coeffs)
    hi = max(a * mc + e for mc, (_g, _c, a, e, _b) in zip(memcap, coeffs, strict=True))
    for _ in range(100):
        mid = (lo + hi) / 2
        cs = caps(mid)
        if min(cs) >= 1 and sum(cs) >= layers:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-12 * hi:
            break
    split = caps(hi)
    excess = sum(split) - layers
    while excess > 0:
        i = max(
            (j for j in range(len(split)) if split[j] > 1),
            key=lambda j: (coeffs[j][2] * split[j] + coeffs[j][3], -j),
        )
        split[i] -= 1
        excess -= 1
    return split


def _layouts(cluster: dict, model: dict, workload: dict):
    shape = ModelShape.of(model)
    gbs = int(workload["global_batch"])
    groups = cluster["node_groups"]
    for k in range(1, len(groups) + 1):
        for order in itertools.permutations(groups, k):
            options = [
                [
                    t
                    for t in TP_CHOICES
                    if g["devices_per_node"] % t == 0 and shape.heads % t == 0 and shape.kv_groups % t == 0
                ]
                for g in order
            ]
            for tps in itertools.product(*options):
                if shape.tied_embeddings and tps[0] != tps[-1]:
                    continue  # FlagScale: with tied embeddings the first and last mesh share a tp
                for d in (x for x in range(1, gbs + 1) if gbs % x == 0):
                    pps = [g["nodes"] * g["devices_per_node"] // (t * d) for g, t in zip(order, tps, strict=True)]
                    if min(pps) < 1:
                        continue
                    p = sum(pps)
                    if p > shape.layers or gbs // d < p:
                        continue
                    for recompute in ("selective", "full"):
                        yield order, tps, pps, d, recompute


def _lower_bound(cluster, model, workload, order, tps, pps, d, recompute) -> float:
    shape = ModelShape.of(model)
    seq = int(workload["seq"])
    m = int(workload["global_batch"]) // d
    flops = 6.0 * shape.layer_params * seq + 12.0 * seq * seq * shape.hidden
    if recompute == "full":
        flops *= 4.0 / 3.0
    work = shape.layers * flops + 6.0 * shape.embedding_params * seq
    rate = sum(
        pp * t * float(g["tflops"]["bf16"]) * 1e12 * float(cluster["efficiency"])
        for g, t, pp in zip(order, tps, pps, strict=True)
    )
    return (m + sum(pps) - 1) * work / rate


def plan_for(order, tps, pps, d, recompute, split) -> dict:
    return {
        "meshes": [
            {"group": g["id"], "tp": t, "cp": 1, "ep": 1, "dp": d, "pp": pp}
            for g, t, pp in zip(order, tps, pps, strict=True)
        ],
        "hetero_pipeline_layer_split": split,
        "micro_batch": 1,
        "distributed_optimizer": True,
        "recompute": recompute,
        "sequence_parallel": True,
    }


def reference_plan(cluster: dict, model: dict, workload: dict) -> tuple[dict, object] | None:
    """The best plan in the search space and its evaluation, or None if nothing fits."""
    shape = ModelShape.of(model)
    seq, gbs = int(workload["seq"]), int(workload["global_batch"])
    layouts = sorted(
        (
            (_lower_bound(cluster, model, workload, *lay), n, lay)
            for n, lay in enumerate(_layouts(cluster, model, workload))
        ),
        key=lambda x: (x[0], x[1]),
    )
    best = None
    for bound, _n, (order, tps, pps, d, recompute) in layouts:
        if best is not None and bound >= best[1].iter_s:
            break
        p = sum(pps)
        stage_groups = [(g, t) for g, t, pp in zip(order, tps, pps, strict=True) for _ in range(pp)]
        coeffs = [
            stage_coefficients(
                shape,
                g,
                cluster,
                index=i,
                p=p,
                tp=t,
                d=d,
                m=gbs // d,
                b=1,
                seq=seq,
                recompute=recompute,
                sp=True,
                distopt=True,
            )
            for i, (g, t) in enumerate(stage_groups)
        ]
        split = _split(coeffs, shape.layers)
        if split is None:
            continue
        plan = plan_for(order, tps, pps, d, recompute, split)
        ev = evaluate(cluster, model, workload, plan)
        if any(r.mem_bytes > r.budget_bytes for r in ev.stages):
            continue
        if best is None or ev.iter_s < best[1].iter_s:
            best = (plan, ev)
    return best
