"""The reference allocation for plan_inference (Mélange-style: cost-aware over heterogeneous chips; DistServe-style:
prefill and decode on separate instances where that sustains more requests).

Colocated: instances of the option with the most estimated requests per second per unit of price that still fits
the budget and the devices are added one at a time. Disaggregated: for every pairing of a prefill option with a
decode option, prefill and decode instances are added one at a time to whichever side sustains fewer requests,
then what is left of the budget is filled with colocated instances and the routing splits arrivals in proportion
to the two pools' estimates. The reference is the allocation with the highest estimate (colocated on a tie).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from costmodel import ModelShape
from servesim import MAX_BATCH, InstanceModel, instance_model, kv_transfer_s

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
