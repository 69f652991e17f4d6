"""Replanning after a failure: the event applied to the cluster, which layers stay where they were, and the
combined score value = 0.7 · throughput ratio + 0.3 · fraction of layers kept."""

from __future__ import annotations

import copy

THROUGHPUT_WEIGHT = 0.7
KEPT_WEIGHT = 0.3


def apply_event(cluster: dict, event: dict) -> dict:
    """{"lost": {"group", "nodes"}} removes nodes; {"degraded": {"group", "factor"}} scales its inter-node link."""
    out = copy.deepcopy(cluster)
    if "lost" in event:
        for g in out["node_groups"]:
            if g["id"] == event["lost"]["group"]:
                g["nodes"] -= int(event["lost"]["nodes"])
        out["node_groups"] = [g for g in out["node_groups"] if g["nodes"] > 0]
    if "degraded" in event:
        for g in out["node_groups"]:
            if g["id"] == event["degraded"]["group"]:
                g["inter_node_gbps"] = round(g["inter_node_gbps"] * float(event["degraded"]["factor"]), 3)
    return out


def layer_places(plan: dict) -> list[tuple[str, int, int, int]]:
    """Per layer: (group, tp, dp, index of the stage within its group's mesh) — the shard a device holds."""
    places = []
    split = iter(plan["hetero_pipeline_layer_split"])
    for mesh in plan["meshes"]:
        for k in range(int(mesh["pp"])):
            places += [(mesh["group"], int(mesh["tp"]), int(mesh["dp"]), k)] * int(next(split))
    return places


def kept_fraction(old: dict, new: dict) -> float:
    a, b = layer_places(old), layer_places(new)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def resharded_stages(old: dict, new: dict) -> list[int]:
    """Stages of the new plan that hold at least one layer that is not where it was."""
    a, b = layer_places(old), layer_places(new)
    out, layer = [], 0
    for stage, n in enumerate(new["hetero_pipeline_layer_split"]):
        if any(a[i] != b[i] for i in range(layer, layer + int(n))):
            out.append(stage)
        layer += int(n)
    return out


def value(tokens_per_s: float, reference_tokens_per_s: float, kept: float) -> float:
    return THROUGHPUT_WEIGHT * min(1.0, tokens_per_s / reference_tokens_per_s) + KEPT_WEIGHT * kept
