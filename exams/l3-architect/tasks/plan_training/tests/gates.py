"""Feasibility gates and claim checks for a training plan. Every message names the rule and, for memory, by how
much the plan misses; none of them reveals the hidden instance beyond what the candidate's own plan implies.

Messages are codes with arguments (`{"code", "args"}`, templates in the harness's gradelib/messages.py), so the
platform words them in the candidate's language."""

from __future__ import annotations

import math

from costmodel import RECOMPUTE, Evaluation, ModelShape, evaluate

CLAIM_TOLERANCE = 0.02
MESH_KEYS = ("group", "tp", "cp", "ep", "dp", "pp")


def m(code: str, **args) -> dict:
    """A message for the candidate: a code of gradelib/messages.py and its arguments."""
    return {"code": code, "args": args}


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def structural_problems(cluster: dict, model: dict, workload: dict, plan) -> list[dict]:
    """Everything that makes the plan impossible to run, before any memory or time is computed."""
    if not isinstance(plan, dict):
        return [m("train.not_dict", type=type(plan).__name__)]
    problems: list[dict] = []
    shape = ModelShape.of(model)
    groups = {g["id"]: g for g in cluster["node_groups"]}
    meshes = plan.get("meshes")
    if not isinstance(meshes, list) or not meshes:
        return [m("train.meshes")]
    seen: set[str] = set()
    for i, mesh in enumerate(meshes):
        if not isinstance(mesh, dict) or set(mesh) != set(MESH_KEYS):
            problems.append(m("train.mesh_keys", index=i, keys=", ".join(MESH_KEYS)))
            continue
        gid = mesh["group"]
        if gid not in groups:
            problems.append(m("train.unknown_group", index=i, group=repr(gid)[:40]))
            continue
        if gid in seen:
            problems.append(m("train.group_twice", group=gid))
        seen.add(gid)
        if not all(_int(mesh[k]) and mesh[k] >= 1 for k in ("tp", "cp", "ep", "dp", "pp")):
            problems.append(m("train.not_positive", index=i, group=gid))
            continue
        group = groups[gid]
        if mesh["cp"] != 1 or mesh["ep"] != 1:
            problems.append(m("train.cp_ep", index=i, group=gid))
        tp = mesh["tp"]
        if group["devices_per_node"] % tp:
            problems.append(m("train.tp_node", index=i, group=gid, tp=tp, devices=group["devices_per_node"]))
        if shape.heads % tp or shape.kv_groups % tp:
            problems.append(
                m("train.tp_heads", index=i, group=gid, tp=tp, heads=shape.heads, kv_groups=shape.kv_groups)
            )
        used = tp * mesh["dp"] * mesh["pp"]
        have = group["nodes"] * group["devices_per_node"]
        if used > have:
            problems.append(m("train.devices", index=i, group=gid, used=used, have=have))
    if problems:
        return problems
    dps = {mesh["dp"] for mesh in meshes}
    if len(dps) != 1:
        problems.append(m("train.same_dp", dps=str(sorted(dps))))
    p = sum(mesh["pp"] for mesh in meshes)
    split = plan.get("hetero_pipeline_layer_split")
    if not isinstance(split, list) or not all(_int(x) for x in split):
        problems.append(m("train.split_type"))
    else:
        if len(split) != p:
            problems.append(m("train.split_len", entries=len(split), stages=p))
        if any(x < 1 for x in split):
            problems.append(m("train.split_empty_stage"))
        if sum(split) != shape.layers:
            problems.append(m("train.split_sum", total=sum(split), layers=shape.layers))
    b = plan.get("micro_batch")
    gbs = int(workload["global_batch"])
    if not _int(b) or b < 1:
        problems.append(m("train.micro_batch"))
    elif len(dps) == 1:
        d = dps.pop()
        if gbs % (d * b):
            problems.append(m("train.batch_divides", gbs=gbs, product=d * b))
        elif gbs // (d * b) < p:
            problems.append(m("train.too_few_micro", m=gbs // (d * b), p=p))
    if plan.get("recompute") not in RECOMPUTE:
        problems.append(m("train.recompute", choices=", ".join(RECOMPUTE)))
    for key in ("distributed_optimizer", "sequence_parallel"):
        if not isinstance(plan.get(key), bool):
            problems.append(m("train.bool", key=key))
    if shape.tied_embeddings and meshes[0]["tp"] != meshes[-1]["tp"]:
        problems.append(m("train.tied"))
    return problems


def memory_problems(ev: Evaluation) -> list[dict]:
    return [
        m(
            "train.memory",
            stage=r.index,
            group=r.group,
            need=f"{r.mem_gib:.1f}",
            have=f"{r.budget_gib:.1f}",
            states=f"{r.states_bytes / 2**30:.1f}",
            acts=f"{r.act_bytes / 2**30:.1f}",
        )
        for r in ev.stages
        if r.mem_bytes > r.budget_bytes
    ]


def _close(claimed, actual: float) -> bool:
    if not isinstance(claimed, (int, float)) or isinstance(claimed, bool) or not math.isfinite(claimed):
        return False
    return abs(claimed - actual) <= CLAIM_TOLERANCE * abs(actual)


def claim_problems(plan: dict, ev: Evaluation) -> list[dict]:
    claimed = plan.get("claimed")
    if not isinstance(claimed, dict):
        return [m("train.claimed_missing")]
    problems = []
    mem = claimed.get("mem_gib_per_stage")
    if not isinstance(mem, list) or len(mem) != ev.p:
        problems.append(m("train.claimed_mem_len", stages=ev.p))
    else:
        for r, c in zip(ev.stages, mem, strict=True):
            if not _close(c, r.mem_gib):
                problems.append(m("train.claimed_mem", stage=r.index, claimed=repr(c)[:40], actual=f"{r.mem_gib:.2f}"))
    for key, actual, unit in (("iter_s", ev.iter_s, "s"), ("tokens_per_s", ev.tokens_per_s, "tokens/s")):
        if not _close(claimed.get(key), actual):
            problems.append(
                m("train.claimed", key=key, claimed=repr(claimed.get(key))[:40], actual=f"{actual:.4g}", unit=unit)
            )
    return problems


def check(cluster: dict, model: dict, workload: dict, plan) -> tuple[Evaluation | None, list[dict], list[dict]]:
    """(evaluation or None, gate problems, claim problems). Any gate problem makes the plan infeasible."""
    problems = structural_problems(cluster, model, workload, plan)
    if problems:
        return None, problems, []
    ev = evaluate(cluster, model, workload, plan)
    problems = memory_problems(ev)
    if problems:
        return ev, problems, []
    return ev, [], claim_problems(plan, ev)
