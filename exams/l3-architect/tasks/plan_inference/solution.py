"""Reference solution for plan_inference: the public serving model re-implemented, then a cost-aware allocation.

Colocated (Mélange-style): each (group, tp) option is valued by the requests per second one instance sustains
within the latency targets, per unit of price, and instances of the best option that still fits the budget and
the devices are added one at a time. Disaggregated (DistServe-style): for every pairing of a prefill option with
a decode option, prefill and decode instances are added one at a time to whichever side sustains fewer requests
(the decode side planned with the KV transfer of the longest prompt in its TPOT), the budget left is filled with
colocated instances, and the routing splits the arrivals in proportion. The plan with the highest estimate wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GIB = float(1 << 30)
MAX_BATCH = 256
ALLREDUCE_LATENCY_S = 20e-6


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
    kv_bytes_per_token: float = 0.0


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
        kv,
    )


def kv_link_gbps(cluster: dict, prefill_group: str, decode_group: str) -> float:
    """GB/s of one device's link from a prefill instance to a decode instance."""
    if prefill_group == decode_group:
        group = next(g for g in cluster["node_groups"] if g["id"] == prefill_group)
        return float(group["inter_node_gbps"])
    return float(cluster["cross_group_gbps"])


def kv_transfer_s(cluster: dict, prefill: InstanceModel, decode: InstanceModel, prompt_tokens: float) -> float:
    """Seconds to send one request's KV cache from a prefill instance to a decode instance."""
    links = min(prefill.tp, decode.tp) * kv_link_gbps(cluster, prefill.group, decode.group) * 1e9
    return prompt_tokens * prefill.kv_bytes_per_token / links


TP_CHOICES = (1, 2, 4, 8)
# A prefill instance is planned at this share of its compute so that queueing leaves room in the TTFT target.
PREFILL_UTILISATION = 0.85


def _means(workload: dict) -> tuple[float, float, int]:
    return (
        sum(workload["prompt_len"]) / 2,
        sum(workload["output_len"]) / 2,
        sum((workload["prompt_len"][1], workload["output_len"][1])),
    )


def _decode_batch(im: InstanceModel, workload: dict, per_token_s: float, slack_s: float) -> tuple[int, float]:
    """(the largest batch whose decode step, plus per_token_s of other work per sequence, fits slack_s; that step)."""
    mean_p, mean_o, longest = _means(workload)
    per_request = im.step_s_per_ctx_token * (mean_p + mean_o / 2) + im.tp_s_per_token
    by_latency = math.floor((slack_s - im.step_base_s) / (per_request + per_token_s))
    batch = min(MAX_BATCH, math.floor(im.kv_tokens / longest), by_latency)
    return batch, im.step_base_s + per_request * batch


def estimated_rps(im: InstanceModel, workload: dict) -> float:
    """Requests per second one colocated instance sustains within the latency targets, or 0 if it cannot."""
    mean_p, mean_o, longest = _means(workload)
    if im.kv_tokens < longest or im.prefill_s_per_token * workload["prompt_len"][1] > workload["ttft_slo_ms"] / 1e3:
        return 0.0
    prefill = im.prefill_s_per_token * mean_p
    # Time per output token = one decode step plus the others' prefills that stall it: B * prefill / mean_o.
    batch, step = _decode_batch(im, workload, prefill / mean_o, workload["tpot_slo_ms"] / 1e3)
    if batch < 1:
        return 0.0
    return batch / (mean_o * step + batch * prefill)


def prefill_rps(im: InstanceModel, workload: dict) -> float:
    """Requests per second one prefill-only instance sustains, or 0 if the longest prompt misses the TTFT target."""
    mean_p = sum(workload["prompt_len"]) / 2
    longest_prompt = workload["prompt_len"][1]
    if im.kv_tokens < longest_prompt:
        return 0.0
    if im.tp_latency_s + im.prefill_s_per_token * longest_prompt > workload["ttft_slo_ms"] / 1e3:
        return 0.0
    return PREFILL_UTILISATION / (im.tp_latency_s + im.prefill_s_per_token * mean_p)


def decode_rps(im: InstanceModel, workload: dict, transfer_s: float) -> float:
    """Requests per second one decode-only instance sustains when the longest prompt's KV takes transfer_s to
    arrive (it counts in the TPOT: planned for the shortest output), or 0 if it cannot meet the TPOT target."""
    _, mean_o, longest = _means(workload)
    if im.kv_tokens < longest:
        return 0.0
    slack = workload["tpot_slo_ms"] / 1e3 - transfer_s / max(workload["output_len"][0] - 1, 1)
    batch, step = _decode_batch(im, workload, 0.0, slack)
    if batch < 1:
        return 0.0
    return batch / (mean_o * step)


@dataclass(frozen=True)
class Option:
    group: dict
    tp: int
    model: InstanceModel

    @property
    def gid(self) -> str:
        return self.group["id"]


def all_options(cluster: dict, model: dict) -> list[Option]:
    shape = ModelShape.of(model)
    out = []
    for group in cluster["node_groups"]:
        for tp in TP_CHOICES:
            if group["devices_per_node"] % tp or shape.heads % tp or shape.kv_groups % tp:
                continue
            out.append(Option(group, tp, instance_model(cluster, model, group, tp)))
    return out


def options(cluster: dict, model: dict, workload: dict) -> list[tuple[float, dict, int, InstanceModel]]:
    out = []
    for o in all_options(cluster, model):
        rps = estimated_rps(o.model, workload)
        if rps > 0:
            out.append((rps / o.model.price_per_hour, o.group, o.tp, o.model))
    out.sort(key=lambda o: (-o[0], o[1]["id"], o[2]))
    return out


@dataclass
class Allocation:
    """Instances by (group, tp, role), the devices and budget left, and each pool's estimated requests per second."""

    devices: dict
    budget: float
    counts: dict
    colocated_rps: float = 0.0
    disaggregated_rps: float = 0.0

    def add(self, option: Option, role: str) -> bool:
        price = option.model.price_per_hour
        if self.devices[option.gid] < option.tp or price > self.budget + 1e-9:
            return False
        self.devices[option.gid] -= option.tp
        self.budget -= price
        key = (option.gid, option.tp, role)
        self.counts[key] = self.counts.get(key, 0) + 1
        return True

    @property
    def rps(self) -> float:
        return self.colocated_rps + self.disaggregated_rps

    def plan(self) -> dict:
        instances = [{"group": g, "tp": tp, "count": n, "role": r} for (g, tp, r), n in sorted(self.counts.items())]
        out = {"instances": instances}
        if self.disaggregated_rps > 0:
            share = round(self.disaggregated_rps / self.rps, 6)
            out["routing"] = {"colocated": round(1 - share, 6), "disaggregated": share}
        return out


def _fill_colocated(alloc: Allocation, cluster: dict, model: dict, workload: dict) -> Allocation:
    ranked = options(cluster, model, workload)
    progress = True
    while progress:
        progress = False
        for value, group, tp, im in ranked:
            if alloc.add(Option(group, tp, im), "colocated"):
                alloc.colocated_rps += value * im.price_per_hour
                progress = True
                break
    return alloc


def _fresh(cluster: dict, workload: dict) -> Allocation:
    devices = {g["id"]: g["nodes"] * g["devices_per_node"] for g in cluster["node_groups"]}
    return Allocation(devices, float(workload["budget_per_hour"]), {})


def _split(cluster: dict, model: dict, workload: dict, p: Option, d: Option, transfer: bool) -> Allocation | None:
    r_p = prefill_rps(p.model, workload)
    seconds = kv_transfer_s(cluster, p.model, d.model, workload["prompt_len"][1]) if transfer else 0.0
    r_d = decode_rps(d.model, workload, seconds)
    if r_p <= 0 or r_d <= 0:
        return None
    alloc = _fresh(cluster, workload)
    n_p = n_d = 0
    while True:
        if n_p * r_p <= n_d * r_d:
            if not alloc.add(p, "prefill"):
                break
            n_p += 1
        else:
            if not alloc.add(d, "decode"):
                break
            n_d += 1
    if not n_p or not n_d:
        return None
    alloc.disaggregated_rps = min(n_p * r_p, n_d * r_d)
    return _fill_colocated(alloc, cluster, model, workload)


def best_allocation(cluster: dict, model: dict, workload: dict, transfer: bool = True) -> Allocation:
    """The colocated greedy allocation, or the best disaggregated one where it is estimated to sustain more."""
    best = _fill_colocated(_fresh(cluster, workload), cluster, model, workload)
    found = all_options(cluster, model)
    for p in found:
        for d in found:
            alloc = _split(cluster, model, workload, p, d, transfer)
            if alloc is not None and alloc.rps > best.rps * (1 + 1e-9):
                best = alloc
    return best


def reference_allocation(cluster: dict, model: dict, workload: dict) -> dict:
    """The reference plan: {"instances": [...], "routing"?: {...}}."""
    return best_allocation(cluster, model, workload).plan()


def plan_inference(cluster: dict, model: dict, workload: dict) -> dict:
    return best_allocation(cluster, model, workload).plan()
