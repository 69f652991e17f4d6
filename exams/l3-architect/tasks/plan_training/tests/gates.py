"""Feasibility gates and claim checks for a training plan. Every message names the rule and, for memory, by how
much the plan misses; none of them reveals the hidden instance beyond what the candidate's own plan implies."""

from __future__ import annotations

import math

from costmodel import RECOMPUTE, Evaluation, ModelShape, evaluate

CLAIM_TOLERANCE = 0.02
MESH_KEYS = ("group", "tp", "cp", "ep", "dp", "pp")


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def structural_problems(cluster: dict, model: dict, workload: dict, plan) -> list[str]:
    """Everything that makes the plan impossible to run, before any memory or time is computed."""
    if not isinstance(plan, dict):
        return [f"the plan must be a dict, got {type(plan).__name__}"]
    problems: list[str] = []
    shape = ModelShape.of(model)
    groups = {g["id"]: g for g in cluster["node_groups"]}
    meshes = plan.get("meshes")
    if not isinstance(meshes, list) or not meshes:
        return ["'meshes' must be a non-empty list of {group, tp, cp, ep, dp, pp}"]
    seen: set[str] = set()
    for i, mesh in enumerate(meshes):
        if not isinstance(mesh, dict) or set(mesh) != set(MESH_KEYS):
            problems.append(f"mesh {i} must have exactly the keys {', '.join(MESH_KEYS)}")
            continue
        gid = mesh["group"]
        if gid not in groups:
            problems.append(f"mesh {i} names group {gid!r}, which is not in the cluster")
            continue
        if gid in seen:
            problems.append(f"group {gid} appears in two meshes; use one mesh per group")
        seen.add(gid)
        if not all(_int(mesh[k]) and mesh[k] >= 1 for k in ("tp", "cp", "ep", "dp", "pp")):
            problems.append(f"mesh {i} ({gid}): tp, cp, ep, dp and pp must be positive integers")
            continue
        group = groups[gid]
        if mesh["cp"] != 1 or mesh["ep"] != 1:
            problems.append(f"mesh {i} ({gid}): cp and ep must be 1 (dense model, no context parallelism)")
        tp = mesh["tp"]
        if group["devices_per_node"] % tp:
            problems.append(
                f"mesh {i} ({gid}): tp={tp} must divide the {group['devices_per_node']} devices of one node "
                "(tensor parallelism stays inside a node)"
            )
        if shape.heads % tp or shape.kv_groups % tp:
            problems.append(
                f"mesh {i} ({gid}): tp={tp} must divide the {shape.heads} heads and {shape.kv_groups} KV groups"
            )
        used = tp * mesh["dp"] * mesh["pp"]
        have = group["nodes"] * group["devices_per_node"]
        if used > have:
            problems.append(f"mesh {i} ({gid}): tp*dp*pp = {used} devices, but the group has {have}")
    if problems:
        return problems
    dps = {mesh["dp"] for mesh in meshes}
    if len(dps) != 1:
        problems.append(
            f"every mesh must use the same dp (one data-parallel degree for the pipeline); got {sorted(dps)}"
        )
    p = sum(mesh["pp"] for mesh in meshes)
    split = plan.get("hetero_pipeline_layer_split")
    if not isinstance(split, list) or not all(_int(x) for x in split):
        problems.append("'hetero_pipeline_layer_split' must be a list of integers, one per pipeline stage")
    else:
        if len(split) != p:
            problems.append(f"the layer split has {len(split)} entries but the meshes have {p} pipeline stages")
        if any(x < 1 for x in split):
            problems.append("every pipeline stage needs at least one layer")
        if sum(split) != shape.layers:
            problems.append(f"the layer split sums to {sum(split)}, but the model has {shape.layers} layers")
    b = plan.get("micro_batch")
    gbs = int(workload["global_batch"])
    if not _int(b) or b < 1:
        problems.append("'micro_batch' must be a positive integer")
    elif len(dps) == 1:
        d = dps.pop()
        if gbs % (d * b):
            problems.append(f"global batch {gbs} is not divisible by dp*micro_batch = {d * b}")
        elif gbs // (d * b) < p:
            problems.append(
                f"{gbs // (d * b)} micro-batches per iteration are fewer than the {p} pipeline stages (need m >= p)"
            )
    if plan.get("recompute") not in RECOMPUTE:
        problems.append(f"'recompute' must be one of {', '.join(RECOMPUTE)}")
    for key in ("distributed_optimizer", "sequence_parallel"):
        if not isinstance(plan.get(key), bool):
            problems.append(f"'{key}' must be true or false")
    if shape.tied_embeddings and meshes[0]["tp"] != meshes[-1]["tp"]:
        problems.append("with tied embeddings the first and last mesh must use the same tp (FlagScale rule)")
    return problems


def memory_problems(ev: Evaluation) -> list[str]:
    return [
        f"stage {r.index} on {r.group} needs {r.mem_gib:.1f} GiB of {r.budget_gib:.1f}"
        f" (model states {r.states_bytes / 2**30:.1f}, activations {r.act_bytes / 2**30:.1f})"
        for r in ev.stages
        if r.mem_bytes > r.budget_bytes
    ]


def _close(claimed, actual: float) -> bool:
    if not isinstance(claimed, (int, float)) or isinstance(claimed, bool) or not math.isfinite(claimed):
        return False
    return abs(claimed - actual) <= CLAIM_TOLERANCE * abs(actual)


def claim_problems(plan: dict, ev: Evaluation) -> list[str]:
    claimed = plan.get("claimed")
    if not isinstance(claimed, dict):
        return ["'claimed' is missing: state mem_gib_per_stage, iter_s and tokens_per_s"]
    problems = []
    mem = claimed.get("mem_gib_per_stage")
    if not isinstance(mem, list) or len(mem) != ev.p:
        problems.append(f"claimed mem_gib_per_stage must list {ev.p} numbers, one per stage")
    else:
        for r, c in zip(ev.stages, mem, strict=True):
            if not _close(c, r.mem_gib):
                problems.append(f"claimed memory of stage {r.index} is {c!r} GiB; the cost model gives {r.mem_gib:.2f}")
    for key, actual, unit in (("iter_s", ev.iter_s, "s"), ("tokens_per_s", ev.tokens_per_s, "tokens/s")):
        if not _close(claimed.get(key), actual):
            problems.append(f"claimed {key} is {claimed.get(key)!r}; the cost model gives {actual:.4g} {unit}")
    return problems


def check(cluster: dict, model: dict, workload: dict, plan) -> tuple[Evaluation | None, list[str], list[str]]:
    """(evaluation or None, gate problems, claim problems). Any gate problem makes the plan infeasible."""
    problems = structural_problems(cluster, model, workload, plan)
    if problems:
        return None, problems, []
    ev = evaluate(cluster, model, workload, plan)
    problems = memory_problems(ev)
    if problems:
        return ev, problems, []
    return ev, [], claim_problems(plan, ev)
