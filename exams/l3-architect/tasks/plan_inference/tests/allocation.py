"""The reference allocation for plan_inference: greedy by estimated requests per second per unit of cost
(Mélange-style), adding one instance at a time while the budget and the devices allow."""

from __future__ import annotations

import math

from costmodel import ModelShape
from servesim import MAX_BATCH, InstanceModel, instance_model

TP_CHOICES = (1, 2, 4, 8)


def estimated_rps(im: InstanceModel, workload: dict) -> float:
    """Requests per second one instance sustains within the latency targets, or 0 if it cannot meet them."""
    mean_p = sum(workload["prompt_len"]) / 2
    mean_o = sum(workload["output_len"]) / 2
    longest = workload["prompt_len"][1] + workload["output_len"][1]
    if im.kv_tokens < longest:
        return 0.0
    if im.prefill_s_per_token * workload["prompt_len"][1] > workload["ttft_slo_ms"] / 1e3:
        return 0.0
    per_request_ctx = im.step_s_per_ctx_token * (mean_p + mean_o / 2) + im.tp_s_per_token
    prefill = im.prefill_s_per_token * mean_p
    # Time per output token = one decode step plus the others' prefills that stall it: B * prefill / mean_o.
    by_latency = math.floor((workload["tpot_slo_ms"] / 1e3 - im.step_base_s) / (per_request_ctx + prefill / mean_o))
    batch = min(MAX_BATCH, math.floor(im.kv_tokens / longest), by_latency)
    if batch < 1:
        return 0.0
    step = im.step_base_s + per_request_ctx * batch
    return batch / (mean_o * step + batch * prefill)


def options(cluster: dict, model: dict, workload: dict) -> list[tuple[float, dict, int, InstanceModel]]:
    shape = ModelShape.of(model)
    out = []
    for group in cluster["node_groups"]:
        for tp in TP_CHOICES:
            if group["devices_per_node"] % tp or shape.heads % tp or shape.kv_groups % tp:
                continue
            im = instance_model(cluster, model, group, tp)
            rps = estimated_rps(im, workload)
            if rps > 0:
                out.append((rps / im.price_per_hour, group, tp, im))
    out.sort(key=lambda o: (-o[0], o[1]["id"], o[2]))
    return out


def reference_allocation(cluster: dict, model: dict, workload: dict) -> list[dict]:
    devices = {g["id"]: g["nodes"] * g["devices_per_node"] for g in cluster["node_groups"]}
    budget = float(workload["budget_per_hour"])
    counts: dict[tuple[str, int], int] = {}
    spent = 0.0
    progress = True
    while progress:
        progress = False
        for _value, group, tp, im in options(cluster, model, workload):
            if devices[group["id"]] >= tp and spent + im.price_per_hour <= budget + 1e-9:
                devices[group["id"]] -= tp
                spent += im.price_per_hour
                counts[group["id"], tp] = counts.get((group["id"], tp), 0) + 1
                progress = True
                break
    return [{"group": g, "tp": tp, "count": n} for (g, tp), n in sorted(counts.items())]
