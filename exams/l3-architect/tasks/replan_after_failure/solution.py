"""Reference solution for replan_after_failure: plan_training's reference solution, then the better (by the
published value 0.7 · throughput ratio + 0.3 · layers kept) of keeping the old plan, where it still fits, and a
fresh plan on what is left.

plan_training: the public cost model re-implemented, then an exhaustive search.

Search: every ordered choice of node groups, every valid tp per group, one dp for all meshes, each group's
pipeline as deep as its devices allow, micro-batch 1, selective or full recomputation; the layer split is the
exact min-max split (bisection on the bottleneck stage time under per-stage memory budgets). Layouts are visited
in order of a lower bound on their iteration time, so the search stops early (well under a second).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

GIB = float(1 << 30)
RECOMPUTE = ("none", "selective", "full")
BYTES_PER_ACT = 2  # bf16/fp16 activations and pipeline messages


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


def act_bytes_per_layer(s: int, b: int, h: int, a: int, t: int, recompute: str, sp: bool) -> float:
    """Korthikanti et al. Table 2, per layer and micro-batch, in bytes. Flash attention is not assumed: the
    5as/h term is dropped only by selective (or full) recomputation."""
    if recompute == "full":
        return 2.0 * s * b * h / (t if sp else 1)
    if t == 1:
        sp = True  # both rows of the table coincide without tensor parallelism
    if recompute == "selective":
        return s * b * h * 34.0 / t if sp else s * b * h * (10.0 + 24.0 / t)
    if sp:
        return s * b * h / t * (34.0 + 5.0 * a * s / h)
    return s * b * h * (10.0 + 24.0 / t + 5.0 * a * s / (h * t))


@dataclass(frozen=True)
class Stage:
    index: int
    group: dict
    tp: int
    layers: int


@dataclass(frozen=True)
class StageReport:
    index: int
    group: str
    tp: int
    layers: int
    params: float  # per device
    states_bytes: float
    act_bytes: float
    budget_bytes: float
    compute_s: float
    tp_comm_s: float

    @property
    def mem_bytes(self) -> float:
        return self.states_bytes + self.act_bytes

    @property
    def mem_gib(self) -> float:
        return self.mem_bytes / GIB

    @property
    def budget_gib(self) -> float:
        return self.budget_bytes / GIB

    @property
    def time_s(self) -> float:
        return self.compute_s + self.tp_comm_s


@dataclass(frozen=True)
class Evaluation:
    stages: tuple[StageReport, ...]
    p: int
    d: int
    m: int
    micro_batch: int
    p2p_s: float  # one activation message over the slowest pipeline boundary
    dp_s: float  # the slowest stage's gradient reduce-scatter + all-gather (not overlapped)
    iter_s: float
    tokens_per_s: float
    devices: int

    @property
    def bubble(self) -> float:
        return (self.p - 1) / self.m


def stage_params(shape: ModelShape, layers: int, tp: int, first: bool, last: bool, p: int) -> float:
    """Parameters per device of one stage: its layers and, on the first stage the word embedding, on the last the
    output layer (with tied embeddings and p = 1 they are the same matrix)."""
    n = layers * shape.layer_params / tp
    if first:
        n += shape.embedding_params / tp
    if last and not (shape.tied_embeddings and p == 1):
        n += shape.embedding_params / tp
    return n


def stage_coefficients(
    shape: ModelShape,
    group: dict,
    cluster: dict,
    *,
    index: int,
    p: int,
    tp: int,
    d: int,
    m: int,
    b: int,
    seq: int,
    recompute: str,
    sp: bool,
    distopt: bool,
) -> tuple[float, float, float, float, float]:
    """A stage's memory and time as linear functions of its layer count l: mem = g*l + c, time = a*l + e.
    Returns (mem_per_layer, mem_const, time_per_layer, time_const, budget_bytes)."""
    first, last = index == 0, index == p - 1
    bytes_per_param = (6.0 + 12.0 / d) if distopt else 18.0
    inflight = min(m, p - index)
    act = act_bytes_per_layer(seq, b, shape.hidden, shape.heads, tp, recompute, sp) * inflight
    mem_per_layer = shape.layer_params / tp * bytes_per_param + act
    mem_const = (stage_params(shape, 0, tp, first, last, p)) * bytes_per_param
    rate = tp * float(group["tflops"]["bf16"]) * 1e12 * float(cluster["efficiency"])
    flops_per_layer = 6.0 * shape.layer_params * seq * b + 12.0 * seq * seq * b * shape.hidden
    if recompute == "full":
        flops_per_layer *= 4.0 / 3.0
    head_flops = 6.0 * shape.embedding_params * seq * b if last else 0.0
    tp_comm = (
        0.0
        if tp == 1
        else 4
        * 2.0
        * (tp - 1)
        / tp
        * (seq * b * shape.hidden * BYTES_PER_ACT)
        / (float(group["intra_node_gbps"]) * 1e9)
    )
    budget = float(group["mem_gib"]) * GIB * (1.0 - float(cluster["mem_reserve_frac"]))
    return mem_per_layer, mem_const, flops_per_layer / rate + tp_comm, head_flops / rate, budget


def pipeline_stages(cluster: dict, plan: dict) -> list[Stage]:
    groups = {g["id"]: g for g in cluster["node_groups"]}
    stages: list[Stage] = []
    split = list(plan["hetero_pipeline_layer_split"])
    for mesh in plan["meshes"]:
        for _ in range(int(mesh["pp"])):
            stages.append(Stage(len(stages), groups[mesh["group"]], int(mesh["tp"]), int(split[len(stages)])))
    return stages


def p2p_seconds(cluster: dict, stages: list[Stage], seq: int, b: int, hidden: int) -> float:
    """Cross-group boundaries use cross_group_gbps; boundaries inside a group cross nodes (inter_node_gbps)."""
    worst = 0.0
    message = seq * b * hidden * BYTES_PER_ACT
    for left, right in zip(stages, stages[1:], strict=False):
        if left.group["id"] != right.group["id"]:
            link = float(cluster["cross_group_gbps"])
        else:
            link = float(left.group["inter_node_gbps"])
        worst = max(worst, message / (link * 1e9))
    return worst


def evaluate(cluster: dict, model: dict, workload: dict, plan: dict) -> Evaluation:
    """Simulate one iteration of a structurally valid plan (see gates.structural_problems)."""
    shape = ModelShape.of(model)
    seq, gbs = int(workload["seq"]), int(workload["global_batch"])
    b = int(plan["micro_batch"])
    d = int(plan["meshes"][0]["dp"])
    m = gbs // (d * b)
    recompute = plan.get("recompute", "selective")
    sp = bool(plan.get("sequence_parallel", False))
    distopt = bool(plan.get("distributed_optimizer", False))
    stages = pipeline_stages(cluster, plan)
    p = len(stages)
    reports = []
    for st in stages:
        g, c, a, e, budget = stage_coefficients(
            shape,
            st.group,
            cluster,
            index=st.index,
            p=p,
            tp=st.tp,
            d=d,
            m=m,
            b=b,
            seq=seq,
            recompute=recompute,
            sp=sp,
            distopt=distopt,
        )
        params = stage_params(shape, st.layers, st.tp, st.index == 0, st.index == p - 1, p)
        bytes_per_param = (6.0 + 12.0 / d) if distopt else 18.0
        states = params * bytes_per_param
        act = g * st.layers + c - states
        tp_comm = 0.0
        if st.tp > 1:
            tp_comm = (
                st.layers
                * 4
                * 2.0
                * (st.tp - 1)
                / st.tp
                * (seq * b * shape.hidden * BYTES_PER_ACT)
                / (float(st.group["intra_node_gbps"]) * 1e9)
            )
        total_time = a * st.layers + e
        reports.append(
            StageReport(
                st.index, st.group["id"], st.tp, st.layers, params, states, act, budget, total_time - tp_comm, tp_comm
            )
        )
    p2p = p2p_seconds(cluster, stages, seq, b, shape.hidden)
    t_max = max(r.time_s for r in reports)
    t_pipe = (m + p - 1) * (t_max + 2 * p2p)
    dp = 0.0
    if d > 1:
        for st in stages:
            grads = st.layers * shape.layer_params / st.tp * 4.0
            dp = max(dp, 2.0 * (d - 1) / d * grads / (float(st.group["inter_node_gbps"]) * 1e9))
    iter_s = t_pipe + dp
    devices = sum(int(x["tp"]) * int(x["pp"]) for x in plan["meshes"]) * d
    return Evaluation(tuple(reports), p, d, m, b, p2p, dp, iter_s, gbs * seq / iter_s, devices)


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


def _claimed(plan: dict, ev) -> dict:
    return dict(
        plan,
        claimed={
            "mem_gib_per_stage": [round(r.mem_gib, 3) for r in ev.stages],
            "iter_s": round(ev.iter_s, 4),
            "tokens_per_s": round(ev.tokens_per_s, 1),
        },
    )


def replan_after_failure(cluster: dict, model: dict, workload: dict, old_plan: dict, event: dict) -> dict:
    reduced = apply_event(cluster, event)
    best = reference_plan(reduced, model, workload)
    if best is None:
        raise ValueError("no plan fits what is left")
    fresh, fresh_ev = best
    choice, choice_ev = fresh, fresh_ev
    choice_value = 0.7 + 0.3 * kept_fraction(old_plan, fresh)
    keep = {k: v for k, v in old_plan.items() if k != "claimed"}
    groups = {g["id"]: g for g in reduced["node_groups"]}
    fits = all(
        m["group"] in groups
        and m["tp"] * m["dp"] * m["pp"] <= groups[m["group"]]["nodes"] * groups[m["group"]]["devices_per_node"]
        for m in keep["meshes"]
    )
    if fits:
        ev = evaluate(reduced, model, workload, keep)
        if all(r.mem_bytes <= r.budget_bytes for r in ev.stages):
            v = 0.7 * min(1.0, ev.tokens_per_s / fresh_ev.tokens_per_s) + 0.3
            if v > choice_value:
                choice, choice_ev = keep, ev
    plan = _claimed(choice, choice_ev)
    plan["resharded"] = resharded_stages(old_plan, plan)
    return plan
