"""The L3 exam's serving model and its seeded discrete-event simulation (hidden with the task's tests).

Per instance (tp devices of one group, vLLM-style): weights `2·Ψ` bytes split over tp; KV cache per token
`2·L·g·k·2` bytes; KV capacity `(mem_gib·GiB·(1 − mem_reserve_frac)·tp − 2Ψ) / KV_token` tokens; prefill of P
prompt tokens `2·Ψ·P / (tp · peak · efficiency)`; one decode step (one token for every running sequence)
`(2Ψ/tp + Σ context · KV_token / tp) / hbm`; with tp > 1 every layer adds two all-reduces of the step's
activations, each `ALLREDUCE_LATENCY_S + 2(tp−1)/tp · tokens · h · 2 / intra_node_gbps` (decode: one token per
running sequence; prefill: the prompt tokens). Continuous batching without chunked prefill: whenever requests wait
and their whole prompt + output fits in the free KV cache (at most MAX_BATCH running), they are admitted first
come first served and prefilled together; otherwise the instance runs a decode step. The router sends each
arrival to the instance with the fewest requests in the system per unit of its batch capacity (ties: the first).
TTFT = end of the request's prefill − arrival; TPOT = (finish − first token) / (output − 1).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

from costmodel import GIB, ModelShape

MAX_BATCH = 256
MAX_REQUESTS = 10_000
ALLREDUCE_LATENCY_S = 20e-6


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


def requests(workload: dict, seed: int) -> list[tuple[float, int, int]]:
    """(arrival s, prompt tokens, output tokens), Poisson arrivals, uniform lengths, at most MAX_REQUESTS."""
    rng = random.Random(seed)
    lo_p, hi_p = workload["prompt_len"]
    lo_o, hi_o = workload["output_len"]
    out, t = [], 0.0
    while len(out) < min(MAX_REQUESTS, int(workload["num_requests"])):
        t += rng.expovariate(float(workload["rate_rps"]))
        out.append((t, rng.randint(lo_p, hi_p), rng.randint(lo_o, hi_o)))
    return out


@dataclass
class _Instance:
    model: InstanceModel
    capacity: int  # running sequences it can hold at the longest request
    queue: list = field(default_factory=list)
    running: list = field(default_factory=list)  # [request index, produced tokens, context, first token time]
    reserved: float = 0.0
    context: float = 0.0
    busy: bool = False


@dataclass(frozen=True)
class ServeResult:
    requests: int
    good: int
    ttft_ok: int
    tpot_ok: int
    finished: int

    @property
    def goodput(self) -> float:
        return self.good / self.requests if self.requests else 0.0


def simulate(
    cluster: dict, model: dict, workload: dict, plan_instances: list[tuple[str, int, int]], seed: int
) -> ServeResult:
    """plan_instances: (group id, tp, count). Requests that never finish within 10x the arrival span fail."""
    groups = {g["id"]: g for g in cluster["node_groups"]}
    longest = workload["prompt_len"][1] + workload["output_len"][1]
    instances = []
    for gid, tp, count in plan_instances:
        im = instance_model(cluster, model, groups[gid], tp)
        cap = max(0, min(MAX_BATCH, math.floor(im.kv_tokens / longest)))
        instances.extend(_Instance(im, cap) for _ in range(count))
    reqs = requests(workload, seed)
    ttft = [math.inf] * len(reqs)
    tpot = [math.inf] * len(reqs)
    horizon = reqs[-1][0] * 10 + 60
    events: list = [(r[0], 0, i, -1) for i, r in enumerate(reqs)]  # (time, kind 0=arrival 1=step, req, inst)
    heapq.heapify(events)
    pending: dict[int, tuple] = {}
    while events:
        now, kind, ref, which = heapq.heappop(events)
        if now > horizon:
            break
        if kind == 0:
            if not instances:
                continue
            target = min(
                range(len(instances)),
                key=lambda j: (
                    (len(instances[j].queue) + len(instances[j].running)) / max(instances[j].capacity, 1e-9),
                    j,
                ),
            )
            inst = instances[target]
            if inst.capacity == 0:
                continue  # nothing this instance can ever hold: the request is lost
            inst.queue.append(ref)
            if not inst.busy:
                _next_step(inst, target, now, events, pending, reqs)
        else:
            inst = instances[which]
            step = pending.pop(which)
            if step[0] == "prefill":
                for entry in step[1]:
                    ttft[entry[0]] = now - reqs[entry[0]][0]
                    entry[3] = now
                    entry[1] = 1
            else:
                done = []
                for entry in inst.running:
                    if entry[1] == 0:
                        continue  # admitted by this very step's successor; not yet prefilled
                    entry[1] += 1
                    entry[2] += 1
                    inst.context += 1
                    if entry[1] >= reqs[entry[0]][2]:
                        done.append(entry)
                for entry in done:
                    i = entry[0]
                    out = reqs[i][2]
                    tpot[i] = (now - entry[3]) / (out - 1) if out > 1 else 0.0
                    inst.running.remove(entry)
                    inst.reserved -= reqs[i][1] + out
                    inst.context -= entry[2]
            inst.busy = False
            _next_step(inst, which, now, events, pending, reqs)
    t_slo, p_slo = workload["ttft_slo_ms"] / 1e3, workload["tpot_slo_ms"] / 1e3
    ok_t = [x <= t_slo for x in ttft]
    ok_p = [x <= p_slo for x in tpot]
    good = sum(a and b for a, b in zip(ok_t, ok_p, strict=True))
    return ServeResult(len(reqs), good, sum(ok_t), sum(ok_p), sum(x < math.inf for x in tpot))


def _next_step(inst: _Instance, index: int, now: float, events, pending, reqs) -> None:
    admitted = []
    while inst.queue and len(inst.running) + len(admitted) < inst.capacity:
        i = inst.queue[0]
        need = reqs[i][1] + reqs[i][2]
        if inst.reserved + need > inst.model.kv_tokens:
            break
        inst.queue.pop(0)
        inst.reserved += need
        admitted.append([i, 0, reqs[i][1], None])
    if admitted:
        inst.running.extend(admitted)
        inst.context += sum(reqs[e[0]][1] for e in admitted)
        duration = inst.model.tp_latency_s + inst.model.prefill_s_per_token * sum(reqs[e[0]][1] for e in admitted)
        pending[index] = ("prefill", admitted)
    elif inst.running:
        duration = (
            inst.model.step_base_s
            + inst.model.step_s_per_ctx_token * inst.context
            + inst.model.tp_s_per_token * len(inst.running)
        )
        pending[index] = ("decode", None)
    else:
        return
    inst.busy = True
    heapq.heappush(events, (now + duration, 1, 0, index))
