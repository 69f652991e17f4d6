"""Reference solution for plan_inference: the public serving model re-implemented, then a greedy allocation.

Each (group, tp) option is valued by the requests per second one instance sustains within the latency targets,
per unit of price; instances of the best option that still fits the budget and the devices are added one at a
time (Mélange-style: cost-aware, heterogeneous).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GIB = float(1 << 30)
MAX_BATCH = 256
ALLREDUCE_LATENCY_S = 20e-6
TP_CHOICES = (1, 2, 4, 8)


@dataclass(frozen=True)
class ModelShape:
    layers: int
    hidden: int
    heads: int
    kv_groups: int
    ffn: int
    vocab: int
    tied_embeddings: bool

    @classmethod
    def of(cls, model: dict) -> ModelShape:
        return cls(
            int(model["layers"]),
            int(model["hidden"]),
            int(model["heads"]),
            int(model.get("kv_groups") or model["heads"]),
            int(model["ffn"]),
            int(model["vocab"]),
            bool(model.get("tied_embeddings", False)),
        )

    @property
    def layer_params(self) -> float:
        """QKV (GQA) + output projection + SwiGLU MLP (3*h*ffn) + two norms."""
        h, a, g = self.hidden, self.heads, self.kv_groups
        k = h // a
        attn = h * (a * k + 2 * g * k) + a * k * h + 2 * h
        mlp = 3 * h * self.ffn + 2 * h
        return float(attn + mlp)

    @property
    def embedding_params(self) -> float:
        return float(self.vocab * self.hidden)

    @property
    def total_params(self) -> float:
        untied = 1 if self.tied_embeddings else 2
        return self.layers * self.layer_params + 2 * self.hidden + untied * self.embedding_params


@dataclass(frozen=True)
class InstanceModel:
    group: str
    tp: int
    kv_tokens: float  # KV capacity in tokens
    prefill_s_per_token: float  # compute (+ all-reduce volume) per prompt token
    step_base_s: float  # reading the weight shard (+ the all-reduce start-ups)
    step_s_per_ctx_token: float  # reading one token of KV cache
    price_per_hour: float
    tp_latency_s: float = 0.0  # all-reduce start-up per step (2 per layer)
    tp_s_per_token: float = 0.0  # all-reduce volume per token in the step


def kv_bytes_per_token(shape: ModelShape) -> float:
    return 2.0 * shape.layers * shape.kv_groups * (shape.hidden // shape.heads) * 2


def instance_model(cluster: dict, model: dict, group: dict, tp: int) -> InstanceModel:
    shape = ModelShape.of(model)
    weights = 2.0 * shape.total_params
    free = float(group["mem_gib"]) * GIB * (1.0 - float(cluster["mem_reserve_frac"])) * tp - weights
    kv = kv_bytes_per_token(shape)
    hbm = float(group["hbm_gbps"]) * 1e9
    rate = tp * float(group["tflops"]["bf16"]) * 1e12 * float(cluster["efficiency"])
    latency = per_token = 0.0
    if tp > 1:
        latency = 2 * shape.layers * ALLREDUCE_LATENCY_S
        per_token = 2 * shape.layers * 2.0 * (tp - 1) / tp * shape.hidden * 2 / (float(group["intra_node_gbps"]) * 1e9)
    return InstanceModel(
        group["id"],
        tp,
        free / kv,
        2.0 * shape.total_params / rate + per_token,
        weights / tp / hbm + latency,
        kv / tp / hbm,
        tp * float(group["price_per_device_hour"]),
        latency,
        per_token,
    )


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


def plan_inference(cluster: dict, model: dict, workload: dict) -> dict:
    return {"instances": reference_allocation(cluster, model, workload)}
