"""Hidden tests for plan_inference: five seeded serving instances. A feasible plan (gates below) is simulated with
seeded Poisson arrivals and scores min(1, goodput / the reference allocation's goodput), where goodput is the
fraction of requests that meet both the TTFT and the TPOT target.

Every message is a code with arguments (`{"code", "args"}`, templates in the harness's gradelib/messages.py), so
the platform words it in the candidate's language; it names the rule and the amount, never the hidden instance.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from allocation import best_allocation  # noqa: E402
from costmodel import GIB, ModelShape  # noqa: E402
from servesim import COLOCATED, DECODE, PREFILL, ROLES, instance_model, simulate  # noqa: E402

KIND = "cluster_plan"
ENTRY = "plan_inference"
CALL_SECONDS = 20
PASS_RATIO = 0.98
POOLS = ("colocated", "disaggregated")
MAX_ENTRIES = 64  # instance entries in one plan

CHIPS = {
    "A800": {"mem_gib": 80, "bf16": 312, "hbm_gbps": 2000, "intra": 200, "inter": 25, "price": 2.0},
    "X910": {"mem_gib": 64, "bf16": 280, "hbm_gbps": 1600, "intra": 90, "inter": 25, "price": 1.2},
    "C550": {"mem_gib": 64, "bf16": 240, "hbm_gbps": 1800, "intra": 100, "inter": 20, "price": 1.0},
    # Compute-rich, memory-poor: cheap prefill, expensive decode (the case for splitting across chip types).
    "P400": {"mem_gib": 48, "bf16": 400, "hbm_gbps": 800, "intra": 64, "inter": 25, "price": 1.3},
}
MODELS = {
    "7B": {"layers": 32, "hidden": 4096, "heads": 32, "kv_groups": 32, "ffn": 11008},
    "13B": {"layers": 40, "hidden": 5120, "heads": 40, "kv_groups": 40, "ffn": 13824},
    "70B": {"layers": 80, "hidden": 8192, "heads": 64, "kv_groups": 8, "ffn": 28672},
}
# (label, model, chips, prompt range, output range, TTFT ms, TPOT ms, cross-group GB/s choices)
SHAPES = (
    ("7B chat on two chip types", "7B", ("A800", "X910"), (128, 1024), (32, 256), 1500, 50, (12.5, 25.0)),
    ("13B long prompts on two chip types", "13B", ("X910", "C550"), (1024, 4096), (64, 256), 3000, 60, (12.5, 25.0)),
    ("70B on two chip types", "70B", ("A800", "C550"), (256, 2048), (32, 256), 4000, 80, (12.5, 25.0)),
    ("7B long prompts, compute and memory chips", "7B", ("P400", "C550"), (1024, 4096), (64, 256), 2000, 40, (25.0,)),
    ("7B long prompts, slow cross-vendor link", "7B", ("P400", "C550"), (1024, 4096), (64, 256), 2000, 40, (0.5, 0.6)),
)


def m(code: str, **args) -> dict:
    """A message for the candidate: a code of gradelib/messages.py and its arguments."""
    return {"code": code, "args": args}


def _jitter(rng: random.Random, value: float, spread: float = 0.1) -> float:
    return round(value * rng.uniform(1 - spread, 1 + spread), 2)


def instance(rng: random.Random, shape) -> tuple[dict, dict, dict]:
    _, model_name, chips, prompt, output, ttft, tpot, cross = shape
    groups = []
    for i, chip in enumerate(chips):
        c = CHIPS[chip]
        groups.append(
            {
                "id": f"g{i}",
                "chip": chip,
                "nodes": rng.choice((1, 2, 3)),
                "devices_per_node": 8,
                "mem_gib": c["mem_gib"],
                "tflops": {"bf16": _jitter(rng, c["bf16"])},
                "hbm_gbps": _jitter(rng, c["hbm_gbps"]),
                "intra_node_gbps": _jitter(rng, c["intra"]),
                "inter_node_gbps": c["inter"],
                "price_per_device_hour": _jitter(rng, c["price"]),
            }
        )
    rng.shuffle(groups)
    cluster = {
        "node_groups": groups,
        "cross_group_gbps": rng.choice(cross),
        "mem_reserve_frac": rng.choice((0.08, 0.1)),
        "efficiency": rng.choice((0.4, 0.45, 0.5)),
    }
    model = {"name": f"llama-{model_name.lower()}", **MODELS[model_name], "vocab": 32000, "tied_embeddings": False}
    total_price = sum(g["nodes"] * g["devices_per_node"] * g["price_per_device_hour"] for g in groups)
    workload = {
        "kind": "serve",
        "prompt_len": list(prompt),
        "output_len": list(output),
        "ttft_slo_ms": ttft,
        "tpot_slo_ms": tpot,
        "budget_per_hour": round(total_price * rng.uniform(0.45, 0.7), 1),
        "num_requests": 3000,
        "rate_rps": 1.0,
    }
    # The arrival rate keeps the budget binding: 80% of what the reference allocation is estimated to sustain.
    workload["rate_rps"] = round(max(0.5, 0.8 * best_allocation(cluster, model, workload).rps), 2)
    return cluster, model, workload


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1


def _entry(i: int, entry, groups: dict, shape: ModelShape) -> tuple[tuple | None, dict | None]:
    """(group, tp, count, role) of one instance entry, or the rule it breaks."""
    if not isinstance(entry, dict) or not {"group", "tp", "count"} <= set(entry) <= {"group", "tp", "count", "role"}:
        return None, m("serve.entry_keys", index=i)
    gid, tp, count, role = entry["group"], entry["tp"], entry["count"], entry.get("role", COLOCATED)
    if not isinstance(gid, str) or gid not in groups:
        return None, m("serve.unknown_group", index=i, group=repr(gid)[:40])
    if not (_is_count(tp) and _is_count(count)):
        return None, m("serve.not_positive", index=i, group=gid)
    if role not in ROLES:
        return None, m("serve.unknown_role", index=i, group=gid, role=repr(role)[:40])
    group = groups[gid]
    if group["devices_per_node"] % tp or shape.heads % tp or shape.kv_groups % tp:
        return None, m(
            "serve.tp_divides",
            index=i,
            group=gid,
            tp=tp,
            devices=group["devices_per_node"],
            heads=shape.heads,
            kv_groups=shape.kv_groups,
        )
    return (gid, tp, count, role), None


def _holds(cluster: dict, model: dict, workload: dict, group: dict, tp: int, role: str) -> dict | None:
    """The rule a TP instance of this role breaks when its KV cache cannot hold one longest request."""
    shape = ModelShape.of(model)
    im = instance_model(cluster, model, group, tp)
    longest = workload["prompt_len"][1] + (0 if role == PREFILL else workload["output_len"][1])
    if im.kv_tokens >= longest:
        return None
    have = group["mem_gib"] * (1 - cluster["mem_reserve_frac"]) * tp
    need = 2 * shape.total_params + longest * im.kv_bytes_per_token
    return m(
        "serve.cannot_hold",
        tp=tp,
        role=role,
        group=group["id"],
        tokens=longest,
        need=f"{need / GIB:.1f}",
        have=f"{have:.1f}",
    )


def _routing(plan: dict, roles: set) -> tuple[float, list[dict]]:
    """(the disaggregated pool's share of the arrivals, the routing rules broken)."""
    disaggregated = bool(roles & {PREFILL, DECODE})
    found = []
    if disaggregated and not {PREFILL, DECODE} <= roles:
        found.append(m("serve.pool_incomplete", missing=DECODE if PREFILL in roles else PREFILL))
    routing = plan.get("routing")
    if routing is None:
        if disaggregated and COLOCATED in roles:
            found.append(m("serve.routing_needed"))
        return (1.0 if disaggregated else 0.0), found
    shares = routing if isinstance(routing, dict) else {}
    valid = (
        isinstance(routing, dict)
        and set(routing) <= set(POOLS)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in routing.values())
        and all(0 <= v <= 1 for v in routing.values())
    )
    if not valid:
        return 0.0, [*found, m("serve.routing_shape")]
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        found.append(m("serve.routing_sum", total=f"{total:.4g}"))
    share = float(shares.get("disaggregated", 0.0))
    has = {"colocated": COLOCATED in roles, "disaggregated": disaggregated}
    for pool in POOLS:
        if shares.get(pool, 0.0) > 0 and not has[pool]:
            found.append(m("serve.pool_empty", share=f"{shares[pool]:.0%}", pool=pool))
    return share, found


def problems(cluster: dict, model: dict, workload: dict, plan) -> tuple[list, float, list[dict]]:
    """(instances as (group, tp, count, role), the disaggregated share, the rules the plan breaks)."""
    if not isinstance(plan, dict) or not isinstance(plan.get("instances"), list) or not plan["instances"]:
        return [], 0.0, [m("serve.not_a_plan")]
    if not set(plan) <= {"instances", "routing"}:
        return [], 0.0, [m("serve.plan_keys", keys=", ".join(sorted(map(str, set(plan) - {"instances", "routing"}))))]
    if len(plan["instances"]) > MAX_ENTRIES:
        return [], 0.0, [m("serve.too_many", count=len(plan["instances"]), limit=MAX_ENTRIES)]
    shape = ModelShape.of(model)
    groups = {g["id"]: g for g in cluster["node_groups"]}
    used: dict[str, int] = {}
    out, found, cost = [], [], 0.0
    for i, raw in enumerate(plan["instances"]):
        entry, problem = _entry(i, raw, groups, shape)
        if problem is None:
            problem = _holds(cluster, model, workload, groups[entry[0]], entry[1], entry[3])
        if problem is not None:
            found.append(problem)
            continue
        gid, tp, count, _role = entry
        used[gid] = used.get(gid, 0) + tp * count
        cost += instance_model(cluster, model, groups[gid], tp).price_per_hour * count
        out.append(entry)
    for gid, n in used.items():
        have = groups[gid]["nodes"] * groups[gid]["devices_per_node"]
        if n > have:
            found.append(m("serve.devices", group=gid, used=n, have=have))
    if cost > float(workload["budget_per_hour"]) + 1e-9:
        found.append(m("serve.budget", cost=f"{cost:.2f}", budget=f"{float(workload['budget_per_hour']):.2f}"))
    share, routing = _routing(plan, {e[3] for e in out})
    return out, share, found + routing


def simulate_plan(case, plan: dict):
    instances, share, found = problems(case.cluster, case.model, case.workload, plan)
    if found:
        raise ValueError(f"the plan breaks {len(found)} rule(s): {found}")
    return simulate(case.cluster, case.model, case.workload, instances, case.seed, share)


class ServeCase:
    def __init__(self, number: int, label: str, cluster: dict, model: dict, workload: dict, seed: int):
        self.name = f"instance {number}: {label}"
        self.args = [cluster, model, workload]
        self.cluster, self.model, self.workload, self.seed = cluster, model, workload, seed
        self._reference = None

    @property
    def reference_plan(self) -> dict:
        return best_allocation(self.cluster, self.model, self.workload).plan()

    @property
    def reference(self):
        if self._reference is None:
            self._reference = simulate_plan(self, self.reference_plan)
        return self._reference

    def check(self, plan) -> tuple[float, bool, list[dict]]:
        instances, share, gate = problems(self.cluster, self.model, self.workload, plan)
        if gate:
            return 0.0, False, [m("plan.infeasible", count=len(gate)), *gate[:6]]
        got = simulate(self.cluster, self.model, self.workload, instances, self.seed, share)
        ref = self.reference
        ratio = got.goodput / ref.goodput if ref.goodput else 1.0
        message = m(
            "serve.goodput",
            goodput=f"{got.goodput:.3f}",
            good=got.good,
            requests=got.requests,
            ttft=got.ttft_ok,
            tpot=got.tpot_ok,
            ratio=f"{ratio:.3f}",
        )
        return min(1.0, ratio), ratio >= PASS_RATIO, [message]


def cases(seed: int) -> list[ServeCase]:
    rng = random.Random(seed)
    out = []
    for number, shape in enumerate(SHAPES, 1):
        for _ in range(5):  # redraw the rare instance whose reference meets the targets for under half
            cluster, model, workload = instance(rng, shape)
            case = ServeCase(number, shape[0], cluster, model, workload, rng.randrange(1 << 30))
            if case.reference.goodput >= 0.5:
                break
        out.append(case)
    return out
