"""The L3 exam's serving model and its seeded discrete-event simulation (hidden with the task's tests).

Per instance (tp devices of one group, vLLM-style): weights `2·Ψ` bytes split over tp; KV cache per token
`2·L·g·k·2` bytes; KV capacity `(mem_gib·GiB·(1 − mem_reserve_frac)·tp − 2Ψ) / KV_token` tokens; prefill of P
prompt tokens `2·Ψ·P / (tp · peak · efficiency)`; one decode step (one token for every running sequence)
`(2Ψ/tp + Σ context · KV_token / tp) / hbm`; with tp > 1 every layer adds two all-reduces of the step's
activations, each `ALLREDUCE_LATENCY_S + 2(tp−1)/tp · tokens · h · 2 / intra_node_gbps` (decode: one token per
running sequence; prefill: the prompt tokens).

Roles (DistServe-style disaggregation): a `colocated` instance prefills and decodes; a `prefill` instance only
prefills and then sends the request's KV cache (P · KV_token bytes) to a `decode` instance, over
`min(tp_prefill, tp_decode)` links of `inter_node_gbps` when both are in one group and of `cross_group_gbps`
when they are not; the decode instance admits the request once its KV has arrived, and the prefill instance
holds that KV until it has been sent. The plan's routing sends a share of the arrivals to the disaggregated pool
(request i goes there when ⌊(i+1)·share⌋ > ⌊i·share⌋), the rest to the colocated pool.

Continuous batching without chunked prefill: whenever requests wait and fit in the free KV cache (colocated and
decode: prompt + output; prefill: the prompt) with at most MAX_BATCH in flight, they are admitted first come
first served (a colocated or prefill instance prefills them together); otherwise a colocated or decode instance
runs a decode step. Inside a pool, the router sends each request to the instance with the fewest requests in the
system (queued, running, or with KV on the way) per unit of its batch capacity (ties: the first).
TTFT = end of the request's prefill − arrival; TPOT = (finish − first token) / (output − 1), so a disaggregated
request's KV transfer and its wait for a decode slot count in its TPOT.
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
ROLES = ("colocated", "prefill", "decode")
COLOCATED, PREFILL, DECODE = ROLES
ARRIVAL, STEP_END, KV_ARRIVED = 0, 1, 2


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


def to_disaggregated(index: int, share: float) -> bool:
    """Whether the routing sends request `index` to the disaggregated pool (exact shares, no randomness)."""
    return math.floor((index + 1) * share + 1e-9) > math.floor(index * share + 1e-9)


@dataclass(eq=False)
class _Instance:
    model: InstanceModel
    role: str
    capacity: int  # requests in flight it can hold at the longest request (prefill: the longest prompt)
    queue: list = field(default_factory=list)
    running: list = field(default_factory=list)  # [request index, produced tokens, context, first token time]
    incoming: int = 0  # requests whose KV is on its way here (decode)
    reserved: float = 0.0
    context: float = 0.0
    busy: bool = False
    pending: tuple = ()  # the step under way: ("prefill", admitted entries) or ("decode", None)

    @property
    def load(self) -> float:
        return (len(self.queue) + len(self.running) + self.incoming) / max(self.capacity, 1e-9)


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


class _Run:
    """One simulation: the instances, the event heap and every request's first token and finish."""

    def __init__(self, cluster: dict, model: dict, workload: dict, plan_instances, seed: int):
        groups = {g["id"]: g for g in cluster["node_groups"]}
        longest_prompt = workload["prompt_len"][1]
        longest = longest_prompt + workload["output_len"][1]
        self.cluster = cluster
        self.instances: list[_Instance] = []
        for entry in plan_instances:
            gid, tp, count = entry[:3]
            role = entry[3] if len(entry) > 3 else COLOCATED
            im = instance_model(cluster, model, groups[gid], tp)
            hold = longest_prompt if role == PREFILL else longest
            cap = max(0, min(MAX_BATCH, math.floor(im.kv_tokens / hold)))
            self.instances.extend(_Instance(im, role, cap) for _ in range(count))
        self.pools = {role: [j for j, x in enumerate(self.instances) if x.role == role] for role in ROLES}
        self.reqs = requests(workload, seed)
        self.first = [math.inf] * len(self.reqs)
        self.ttft = [math.inf] * len(self.reqs)
        self.tpot = [math.inf] * len(self.reqs)
        self.source: dict[int, int] = {}  # request -> the prefill instance holding its KV
        self.events: list = []

    def pick(self, role: str) -> int | None:
        pool = self.pools[role]
        if not pool:
            return None
        return min(pool, key=lambda j: (self.instances[j].load, j))

    def run(self, share: float, horizon: float) -> None:
        self.events = [(r[0], ARRIVAL, i, -1) for i, r in enumerate(self.reqs)]
        heapq.heapify(self.events)
        while self.events:
            now, kind, ref, which = heapq.heappop(self.events)
            if now > horizon:
                break
            if kind == ARRIVAL:
                self.arrive(ref, now, PREFILL if to_disaggregated(ref, share) else COLOCATED)
            elif kind == KV_ARRIVED:
                self.kv_arrived(ref, which, now)
            else:
                self.step_ended(which, now)

    def arrive(self, i: int, now: float, role: str) -> None:
        target = self.pick(role)
        if target is None or self.instances[target].capacity == 0:
            return  # nothing can ever hold it: the request is lost
        inst = self.instances[target]
        inst.queue.append(i)
        if not inst.busy:
            self.next_step(target, now)

    def kv_arrived(self, i: int, decode: int, now: float) -> None:
        source = self.source.pop(i)
        prefill = self.instances[source]
        prefill.running = [e for e in prefill.running if e[0] != i]
        prefill.reserved -= self.reqs[i][1]
        inst = self.instances[decode]
        inst.incoming -= 1
        inst.queue.append(i)
        if not prefill.busy:
            self.next_step(source, now)
        if not inst.busy:
            self.next_step(decode, now)

    def step_ended(self, which: int, now: float) -> None:
        inst = self.instances[which]
        kind, admitted = inst.pending
        if kind == "prefill":
            for entry in admitted:
                self.ttft[entry[0]] = now - self.reqs[entry[0]][0]
                self.first[entry[0]] = entry[3] = now
                entry[1] = 1
                if inst.role == PREFILL:
                    self.hand_off(which, entry[0], now)
        else:
            done = []
            for entry in inst.running:
                if entry[1] == 0:
                    continue  # admitted for a prefill that has not run yet
                entry[1] += 1
                entry[2] += 1
                inst.context += 1
                if entry[1] >= self.reqs[entry[0]][2]:
                    done.append(entry)
            for entry in done:
                self.finish(inst, entry, now)
        inst.busy = False
        self.next_step(which, now)

    def hand_off(self, which: int, i: int, now: float) -> None:
        out = self.reqs[i][2]
        inst = self.instances[which]
        target = self.pick(DECODE)
        if out <= 1 or target is None:
            if out <= 1:
                self.tpot[i] = 0.0
            inst.running = [e for e in inst.running if e[0] != i]
            inst.reserved -= self.reqs[i][1]
            return
        decode = self.instances[target]
        decode.incoming += 1
        self.source[i] = which
        seconds = kv_transfer_s(self.cluster, inst.model, decode.model, self.reqs[i][1])
        heapq.heappush(self.events, (now + seconds, KV_ARRIVED, i, target))

    def finish(self, inst: _Instance, entry: list, now: float) -> None:
        i = entry[0]
        out = self.reqs[i][2]
        self.tpot[i] = (now - self.first[i]) / (out - 1) if out > 1 else 0.0
        inst.running.remove(entry)
        inst.reserved -= self.reqs[i][1] + out
        inst.context -= entry[2]

    def next_step(self, index: int, now: float) -> None:
        inst = self.instances[index]
        if inst.busy:
            return
        hold_output = inst.role != PREFILL
        admitted = []
        while inst.queue and len(inst.running) + len(admitted) < inst.capacity:
            i = inst.queue[0]
            need = self.reqs[i][1] + (self.reqs[i][2] if hold_output else 0)
            if inst.reserved + need > inst.model.kv_tokens:
                break
            inst.queue.pop(0)
            inst.reserved += need
            if inst.role == DECODE:  # prefilled elsewhere: the first token exists, the KV is here
                admitted.append([i, 1, self.reqs[i][1], self.first[i]])
            else:
                admitted.append([i, 0, self.reqs[i][1], None])
        inst.running.extend(admitted)
        inst.context += sum(self.reqs[e[0]][1] for e in admitted)
        m = inst.model
        if admitted and inst.role != DECODE:
            duration = m.tp_latency_s + m.prefill_s_per_token * sum(self.reqs[e[0]][1] for e in admitted)
            inst.pending = ("prefill", admitted)
        elif inst.running and inst.role != PREFILL:
            duration = m.step_base_s + m.step_s_per_ctx_token * inst.context + m.tp_s_per_token * len(inst.running)
            inst.pending = ("decode", None)
        else:
            return
        inst.busy = True
        heapq.heappush(self.events, (now + duration, STEP_END, 0, index))


def simulate(
    cluster: dict,
    model: dict,
    workload: dict,
    plan_instances: list[tuple],
    seed: int,
    disaggregated_share: float = 0.0,
) -> ServeResult:
    """plan_instances: (group id, tp, count) or (group id, tp, count, role); disaggregated_share: the routing's
    share of arrivals for the prefill/decode pool. Requests that never finish within 10x the arrival span fail."""
    run = _Run(cluster, model, workload, plan_instances, seed)
    run.run(disaggregated_share, run.reqs[-1][0] * 10 + 60)
    t_slo, p_slo = workload["ttft_slo_ms"] / 1e3, workload["tpot_slo_ms"] / 1e3
    ok_t = [x <= t_slo for x in run.ttft]
    ok_p = [x <= p_slo for x in run.tpot]
    good = sum(a and b for a, b in zip(ok_t, ok_p, strict=True))
    return ServeResult(len(run.reqs), good, sum(ok_t), sum(ok_p), sum(x < math.inf for x in run.tpot))
