"""Hidden tests for replan_after_failure: three seeded instances, each a cluster, its reference training plan and
an event (nodes of a group lost, or a group's inter-node link degraded). The new plan passes the gates on what is
left; its value is 0.7 · min(1, throughput / the reference planner's on the reduced cluster) + 0.3 · the fraction
of layers whose shard (group, tp, dp, stage within the group) is unchanged; the score is min(1, value / the best
value of the reference strategies). The stated `resharded` stages must be right, or the instance keeps half."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gates import check, m  # noqa: E402
from instances import SHAPES, instance  # noqa: E402
from reference import reference_plan  # noqa: E402
from replan import apply_event, kept_fraction, resharded_stages, value  # noqa: E402

KIND = "cluster_plan"
ENTRY = "replan_after_failure"
CALL_SECONDS = 20
PASS_RATIO = 0.98
PICKED = (SHAPES[0], SHAPES[3], SHAPES[4])  # 7B on two types, 34B on three, 70B on two


def reference_replan(cluster: dict, model: dict, workload: dict, old: dict, event: dict):
    """(plan, value): the better of the old plan where it still fits, and the reference planner's new plan."""
    reduced = apply_event(cluster, event)
    fresh, fresh_ev = reference_plan(reduced, model, workload)
    best = (fresh, value(fresh_ev.tokens_per_s, fresh_ev.tokens_per_s, kept_fraction(old, fresh)))
    keep = {k: v for k, v in old.items() if k != "claimed"}
    ev, gate, _ = check(reduced, model, workload, dict(keep, claimed={}))
    if not gate:
        v = value(ev.tokens_per_s, fresh_ev.tokens_per_s, 1.0)
        if v > best[1]:
            best = (keep, v)
    return best, fresh_ev.tokens_per_s


class ReplanCase:
    def __init__(self, number, label, cluster, model, workload, old, event):
        self.name = f"instance {number}: {label}"
        self.args = [cluster, model, workload, old, event]
        self.cluster, self.model, self.workload, self.old, self.event = cluster, model, workload, old, event
        self.reduced = apply_event(cluster, event)
        (self.best_plan, self.best_value), self.reference_tps = reference_replan(cluster, model, workload, old, event)

    def check(self, plan):
        ev, gate, claims = check(self.reduced, self.model, self.workload, plan)
        if gate:
            return 0.0, False, [m("replan.infeasible", count=len(gate)), *gate[:6]]
        kept = kept_fraction(self.old, plan)
        got = value(ev.tokens_per_s, self.reference_tps, kept)
        score = min(1.0, got / self.best_value)
        summary = m(
            "replan.summary",
            tps=f"{ev.tokens_per_s:,.0f}",
            ratio=f"{ev.tokens_per_s / self.reference_tps:.3f}",
            kept=f"{kept:.0%}",
            value=f"{got:.3f}",
            of_best=f"{got / self.best_value:.3f}",
        )
        problems = list(claims[:3])
        stated = plan.get("resharded")
        actual = resharded_stages(self.old, plan)
        if stated != actual:
            problems.append(m("replan.resharded", stated=repr(stated)[:200], actual=str(actual)))
        if problems:
            return score * 0.5, False, [*problems, summary]
        return score, got / self.best_value >= PASS_RATIO, [summary]


def _event(rng: random.Random, cluster: dict, kind: str) -> dict | None:
    groups = [g for g in cluster["node_groups"] if g["nodes"] > 1]
    if kind == "lost":
        return {"lost": {"group": rng.choice(groups)["id"], "nodes": 1}} if groups else None
    return {"degraded": {"group": rng.choice(cluster["node_groups"])["id"], "factor": 0.5}}


def cases(seed: int) -> list[ReplanCase]:
    rng = random.Random(seed)
    out = []
    for number, (shape, kind) in enumerate(zip(PICKED, ("lost", "degraded", "lost"), strict=True), 1):
        for _ in range(20):
            cluster, model, workload = instance(rng, shape)
            best = reference_plan(cluster, model, workload)
            if best is None:
                continue
            event = _event(rng, cluster, kind)
            if event is None or reference_plan(apply_event(cluster, event), model, workload) is None:
                continue
            old = dict(
                best[0],
                claimed={
                    "mem_gib_per_stage": [round(r.mem_gib, 3) for r in best[1].stages],
                    "iter_s": round(best[1].iter_s, 4),
                    "tokens_per_s": round(best[1].tokens_per_s, 1),
                },
            )
            out.append(ReplanCase(number, shape[0], cluster, model, workload, old, event))
            break
    return out
