"""Hidden tests for plan_training: about six seeded instances; each plan must pass the feasibility gates, state
claims within 2% of the cost model, and is scored min(1, throughput / the reference planner's)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gates import check, m  # noqa: E402
from instances import SHAPES, instance  # noqa: E402
from reference import reference_plan  # noqa: E402

KIND = "cluster_plan"
ENTRY = "plan_training"
CALL_SECONDS = 20
CLAIMS_WRONG_FACTOR = 0.5  # a feasible plan whose stated numbers disagree with the model keeps half its credit
PASS_RATIO = 0.98


class TrainingCase:
    def __init__(self, number: int, label: str, cluster: dict, model: dict, workload: dict):
        self.name = f"instance {number}: {label}"
        self.args = [cluster, model, workload]
        self.cluster, self.model, self.workload = cluster, model, workload
        self._reference = None

    @property
    def reference(self):
        if self._reference is None:
            self._reference = reference_plan(self.cluster, self.model, self.workload)
        return self._reference

    def check(self, plan):
        ev, gate, claims = check(self.cluster, self.model, self.workload, plan)
        if gate:
            return 0.0, False, [m("plan.infeasible", count=len(gate)), *gate[:6]]
        ratio = ev.tokens_per_s / self.reference[1].tokens_per_s
        score = min(1.0, ratio)
        summary = m(
            "train.throughput",
            tps=f"{ev.tokens_per_s:,.0f}",
            ratio=f"{ratio:.3f}",
            p=ev.p,
            d=ev.d,
            m=ev.m,
            iter=f"{ev.iter_s:.2f}",
        )
        if claims:
            return score * CLAIMS_WRONG_FACTOR, False, [m("train.claims_off"), *claims[:4], summary]
        return score, ratio >= PASS_RATIO, [summary]


def cases(seed: int) -> list[TrainingCase]:
    rng = random.Random(seed)
    out = []
    for number, shape in enumerate(SHAPES, 1):
        while True:
            cluster, model, workload = instance(rng, shape)
            case = TrainingCase(number, shape[0], cluster, model, workload)
            if case.reference is not None:
                break
        out.append(case)
    return out
